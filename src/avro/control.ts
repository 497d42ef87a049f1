// ControlCodec (src/core/codec.ts) in Avro single-object encoding: the batch log
// (<prefix>.batches) and standby acks (<prefix>.acks), with their schemas from
// schemas/batch-log.avsc and schemas/ack.avsc. The core types are camelCase, the wire is
// snake_case; the mapping happens here, once per batch, never per event. Avro longs are bigints
// (sequence numbers, versions, offsets); *_ms timestamps are numbers.
import type { Ack } from '../core/ack.ts';
import type { BatchRecord, FenceMark, TableState } from '../core/batch.ts';
import type { ControlCodec, SchemaRecord } from '../core/codec.ts';
import { DecodeError } from '../core/errors.ts';
import { AvroValueError } from './errors.ts';
import { SchemaRegistry, SingleObjectCodec } from './single-object.ts';
import { loadSchemaFile, type JsonObject } from './schema-files.ts';

export const BATCH_LOG_SCHEMA: JsonObject = loadSchemaFile('batch-log.avsc');
export const ACK_SCHEMA: JsonObject = loadSchemaFile('ack.avsc');

/**
 * Batch-log schemas written by earlier ctrelay versions, derived from the current one by removing
 * the fields added since (each added with a default, so records written with them decode into the
 * current shape by Avro schema resolution). A batch log outlives upgrades: capture resumes from its
 * last record and the applier reads it from the start.
 */
export const LEGACY_BATCH_LOG_SCHEMAS: JsonObject[] = [
  withoutField(withoutTableField(BATCH_LOG_SCHEMA, 'definition'), 'fence'),
  withoutField(BATCH_LOG_SCHEMA, 'fence'),
];

function withoutField(schema: JsonObject, field: string): JsonObject {
  const copy = JSON.parse(JSON.stringify(schema)) as { fields: { name: string }[] };
  copy.fields = copy.fields.filter((f) => f.name !== field);
  return copy as unknown as JsonObject;
}

function withoutTableField(schema: JsonObject, field: string): JsonObject {
  const copy = JSON.parse(JSON.stringify(schema)) as { fields: { name: string; type: any }[] };
  const tables = copy.fields.find((f) => f.name === 'tables')!;
  tables.type.items.fields = tables.type.items.fields.filter((f: { name: string }) => f.name !== field);
  return copy as unknown as JsonObject;
}

/** The snake_case records as the schemas spell them (private to this file: the core types are the API). */
interface WireTable {
  table: string;
  topic: string;
  cursor: bigint;
  snapshot: { epoch: number; last_key: string | null; done: boolean; started_seq: bigint } | null;
  rows: number;
  definition: string | null;
}

interface WireBatch {
  source_id: string;
  seq: bigint;
  window_seq: bigint;
  version: bigint;
  previous_version: bigint;
  complete: boolean;
  ranges: BatchRecord['ranges'];
  tables: WireTable[];
  events: bigint;
  capture_ts_ms: number;
  commit_ts_ms: number | null;
  mode: 'async' | 'sync';
  fence: { standby_id: string; at_ms: number; version: bigint; kind: string } | null;
}

interface WireAck {
  source_id: string;
  standby_id: string;
  seq: bigint;
  version: bigint;
  applied_at_ms: number;
  rows: bigint;
}

function toWireTable(t: TableState): WireTable {
  const s = t.snapshot;
  return {
    table: t.table, topic: t.topic, cursor: t.cursor, rows: t.rows, definition: t.definition ?? null,
    snapshot: s && { epoch: s.epoch, last_key: s.lastKey, done: s.done, started_seq: s.startedSeq },
  };
}

function fromWireTable(t: WireTable): TableState {
  const s = t.snapshot;
  const out: TableState = { table: t.table, topic: t.topic, cursor: t.cursor, rows: t.rows, snapshot: s && { epoch: s.epoch, lastKey: s.last_key, done: s.done, startedSeq: s.started_seq } };
  // absent rather than null when unknown (older records), like the core type's optional field
  if (t.definition !== null && t.definition !== undefined) out.definition = t.definition;
  return out;
}

export function toWireBatch(b: BatchRecord): WireBatch {
  return {
    source_id: b.sourceId, seq: b.seq, window_seq: b.windowSeq, version: b.version, previous_version: b.previousVersion,
    complete: b.complete, ranges: b.ranges, tables: b.tables.map(toWireTable),
    // data events: what the tables counted (tombstones are records in the ranges, not events)
    events: BigInt(b.tables.reduce((n, t) => n + t.rows, 0)),
    capture_ts_ms: b.captureTsMs, commit_ts_ms: b.commitTsMs, mode: b.mode,
    fence: b.fence ? { standby_id: b.fence.standbyId, at_ms: b.fence.atMs, version: b.fence.version, kind: b.fence.kind } : null,
  };
}

function fromWireBatch(w: WireBatch): BatchRecord {
  return {
    sourceId: w.source_id, seq: w.seq, windowSeq: w.window_seq, version: w.version, previousVersion: w.previous_version,
    complete: w.complete, ranges: w.ranges, tables: w.tables.map(fromWireTable), captureTsMs: Number(w.capture_ts_ms),
    commitTsMs: w.commit_ts_ms === null ? null : Number(w.commit_ts_ms), mode: w.mode,
    // absent rather than null on ordinary batches, like the core type's optional field
    ...(w.fence ? { fence: { standbyId: w.fence.standby_id, atMs: Number(w.fence.at_ms), version: w.fence.version, kind: w.fence.kind as FenceMark['kind'] } } : {}),
  };
}

export class SingleObjectControlCodec implements ControlCodec {
  readonly schemas: SchemaRecord[];
  private readonly batchCodec = new SingleObjectCodec<WireBatch>(BATCH_LOG_SCHEMA, legacyRegistry());
  private readonly ackCodec = new SingleObjectCodec<WireAck>(ACK_SCHEMA);

  constructor() {
    this.schemas = [this.batchCodec.schema, this.ackCodec.schema].map((s) => ({ fingerprint: s.hex, json: s.json }));
  }

  encodeBatch(batch: BatchRecord): Buffer {
    return encode(this.batchCodec, `batch log record ${batch.seq}`, toWireBatch(batch));
  }

  decodeBatch(buf: Buffer, where = 'batch log record'): BatchRecord {
    return fromWireBatch(decode(this.batchCodec, buf, where));
  }

  encodeAck(a: Ack): Buffer {
    const wire: WireAck = { source_id: a.sourceId, standby_id: a.standbyId, seq: a.seq, version: a.version, applied_at_ms: a.appliedAtMs, rows: a.rows };
    return encode(this.ackCodec, `ack of batch ${a.seq}`, wire);
  }

  decodeAck(buf: Buffer, where = 'ack'): Ack {
    const w = decode(this.ackCodec, buf, where);
    return { sourceId: w.source_id, standbyId: w.standby_id, seq: w.seq, version: w.version, appliedAtMs: Number(w.applied_at_ms), rows: w.rows };
  }
}

/** A registry that knows the earlier batch-log schemas, so records written with them still decode. */
function legacyRegistry(): SchemaRegistry {
  const r = new SchemaRegistry();
  for (const s of LEGACY_BATCH_LOG_SCHEMAS) r.register(s);
  return r;
}

function encode<T>(codec: SingleObjectCodec<T>, what: string, value: T): Buffer {
  try {
    return codec.encode(value);
  } catch (err) {
    const problems: string[] = [];
    codec.type.isValid(value, { errorHook: (path: string[]) => problems.push(path.join('.') || '(root)') });
    throw new AvroValueError(`cannot encode ${what}${problems.length ? ` (invalid: ${problems.join(', ')})` : ''}: ${(err as Error).message}`, 1, { cause: err });
  }
}

function decode<T>(codec: SingleObjectCodec<T>, buf: Buffer, where: string): T {
  try {
    return codec.decode(buf);
  } catch (err) {
    throw new DecodeError(`${where}: ${(err as Error).message}`, { cause: err });
  }
}
