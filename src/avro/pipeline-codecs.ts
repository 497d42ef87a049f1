// The Avro side of the pipeline's ports: capture's encoders (CaptureCodecs) and the consumers'
// decoder (EventDecoder), all single-object encoded with schemas kept in `<prefix>.schemas`.
// Control types (batch log, acks) are camelCase in the core and snake_case on the wire; the mapping
// happens here, once per batch, never per event.
import type { EventDecoder, DecodedEvent } from '../apply/window-reader.ts';
import type { Ack as CoreAck } from '../capture/acks.ts';
import type { CaptureCodecs, SchemaRecord, TableCodec as CaptureTableCodec } from '../capture/codec.ts';
import type { BatchRecord, ChangeEvent, TableState } from '../core/batch.ts';
import { DecodeError } from '../core/errors.ts';
import { readRange } from '../kafka/read-range.ts';
import type { TableMeta } from '../core/model.ts';
import { schemasTopic } from '../core/topics.ts';
import type { KafkaPort } from '../kafka/port.ts';
import { ackType, batchLogType, type BatchLog, type TableState as WireTableState } from './control.ts';
import { TableCodec } from './envelope.ts';
import { tableMetaFromRowSchema, type RecordSchema } from './row-schema.ts';
import { readSingleObjectFingerprint, SchemaRegistry, SingleObjectCodec } from './single-object.ts';

function toWireTables(tables: TableState[]): WireTableState[] {
  return tables.map((t) => ({
    table: t.table, topic: t.topic, cursor: t.cursor, rows: t.rows,
    snapshot: t.snapshot && { epoch: t.snapshot.epoch, last_key: t.snapshot.lastKey, done: t.snapshot.done, started_seq: t.snapshot.startedSeq },
  }));
}

function fromWireTables(tables: WireTableState[]): TableState[] {
  return tables.map((t) => ({
    table: t.table, topic: t.topic, cursor: t.cursor, rows: t.rows,
    snapshot: t.snapshot && { epoch: t.snapshot.epoch, lastKey: t.snapshot.last_key, done: t.snapshot.done, startedSeq: t.snapshot.started_seq },
  }));
}

export function toWireBatch(b: BatchRecord): BatchLog {
  return {
    source_id: b.sourceId, seq: b.seq, window_seq: b.windowSeq, version: b.version, previous_version: b.previousVersion,
    complete: b.complete, ranges: b.ranges, tables: toWireTables(b.tables), capture_ts_ms: b.captureTsMs,
    commit_ts_ms: b.commitTsMs, mode: b.mode,
  };
}

export function fromWireBatch(w: BatchLog): BatchRecord {
  return {
    sourceId: w.source_id, seq: w.seq, windowSeq: w.window_seq, version: w.version, previousVersion: w.previous_version,
    complete: w.complete, ranges: w.ranges, tables: fromWireTables(w.tables), captureTsMs: Number(w.capture_ts_ms),
    commitTsMs: w.commit_ts_ms === null ? null : Number(w.commit_ts_ms), mode: w.mode,
  };
}

class CaptureTable implements CaptureTableCodec {
  readonly schemas: SchemaRecord[];
  constructor(private readonly codec: TableCodec) {
    this.schemas = [codec.keyObject.schema, codec.valueObject.schema].map((s) => ({ fingerprint: s.hex, json: s.json }));
  }
  encodeKey(key: Record<string, unknown>): Buffer {
    return this.codec.encodeKeyMessage(key as never);
  }
  encodeEvent(event: ChangeEvent): Buffer {
    return this.codec.encodeValueMessage(event);
  }
}

export class AvroPipelineCodecs implements CaptureCodecs, EventDecoder {
  readonly registry = new SchemaRegistry();
  private readonly batchCodec = new SingleObjectCodec(batchLogType, this.registry);
  private readonly ackCodec = new SingleObjectCodec(ackType, this.registry);
  /** decoders per writer fingerprint of a data-topic value */
  private readonly decoders = new Map<bigint, { codec: TableCodec; meta: TableMeta }>();
  readonly batchSchemas: SchemaRecord[];

  constructor(private readonly prefix: string, private readonly kafka?: KafkaPort) {
    this.batchSchemas = [this.batchCodec.schema, this.ackCodec.schema].map((s) => ({ fingerprint: s.hex, json: s.json }));
  }

  table(meta: TableMeta, prefix: string): CaptureTableCodec {
    return new CaptureTable(new TableCodec(meta, prefix, this.registry));
  }

  encodeBatch(batch: BatchRecord): Buffer {
    return this.batchCodec.encode(toWireBatch(batch));
  }

  decodeBatch(buf: Buffer): BatchRecord {
    return fromWireBatch(this.batchCodec.decode(buf) as BatchLog);
  }

  encodeAck(a: CoreAck): Buffer {
    return this.ackCodec.encode({ source_id: a.sourceId, standby_id: a.standbyId, seq: a.seq, version: a.version, applied_at_ms: a.appliedAtMs, rows: a.rows });
  }

  decodeAck(buf: Buffer): CoreAck {
    const w = this.ackCodec.decode(buf);
    return { sourceId: w.source_id, standbyId: w.standby_id, seq: w.seq, version: w.version, appliedAtMs: Number(w.applied_at_ms), rows: w.rows };
  }

  /** Decodes a data-topic value; null when its writer schema is not known (yet): call refresh(). */
  decodeEvent(value: Buffer, where: string): DecodedEvent | null {
    let fp: bigint;
    try {
      fp = readSingleObjectFingerprint(value);
    } catch (err) {
      throw new DecodeError(`${where}: undecodable event: ${(err as Error).message}`, { cause: err });
    }
    let d = this.decoders.get(fp);
    if (!d) {
      const writer = this.registry.lookup(fp);
      if (!writer) return null;
      const schema = JSON.parse(writer.json) as RecordSchema;
      const after = schema.fields.find((f) => f.name === 'after');
      const row = Array.isArray(after?.type) ? (after.type[1] as RecordSchema) : null;
      if (!row || typeof row !== 'object') throw new DecodeError(`${where}: schema ${writer.hex} is not a ctrelay change event`);
      const meta = tableMetaFromRowSchema(row);
      // the reader is generated from the writer's own table description, so decoding needs no
      // resolution and yields exactly the columns the writer had
      d = { codec: new TableCodec(meta, this.prefix, this.registry), meta };
      this.decoders.set(fp, d);
    }
    try {
      return { event: d.codec.decodeValueMessage(value), table: d.meta };
    } catch (err) {
      throw new DecodeError(`${where}: undecodable event: ${(err as Error).message}`, { cause: err });
    }
  }

  metaFor(table: string): TableMeta | null {
    let found: TableMeta | null = null;
    for (const entry of this.registry.entries()) {
      const schema = JSON.parse(entry.json) as RecordSchema;
      const after = Array.isArray(schema.fields) ? schema.fields.find((f) => f.name === 'after') : undefined;
      const row = Array.isArray(after?.type) ? (after.type[1] as RecordSchema) : null;
      if (!row || typeof row !== 'object') continue;
      try {
        const meta = tableMetaFromRowSchema(row);
        // registration order is publication order: the last match is the newest definition
        if (`${meta.schema}.${meta.table}` === table) found = meta;
      } catch {
        // not a ctrelay change-event schema
      }
    }
    return found;
  }

  /** Reads every schema published to `<prefix>.schemas` into the registry. */
  async refresh(): Promise<void> {
    if (!this.kafka) return;
    const topic = schemasTopic(this.prefix);
    const admin = await this.kafka.admin();
    let p0;
    try {
      // no schemas topic yet: nothing was captured yet, so there is nothing to decode either
      if ((await admin.partitionCount(topic)) === null) return;
      p0 = (await admin.offsets(topic)).find((p) => p.partition === 0);
    } finally {
      await admin.close();
    }
    if (!p0 || p0.stable <= p0.low) return;
    // up to the stable offset: a schema left out would make its events permanently undecodable
    await readRange(this.kafka, topic, p0.low, p0.stable, (r) => {
      if (r.key && r.value) this.registry.registerRecord(r.key.toString(), r.value.toString());
    });
  }
}
