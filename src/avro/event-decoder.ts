// EventDecoder (src/core/codec.ts) for single-object encoded data-topic records. A record is
// decoded with its WRITER schema, found by the fingerprint in its header among the schemas learnt
// from `<prefix>.schemas`; the table definition comes from the same schema's ctrelay.* attributes,
// so every event is read exactly as it was written, whatever the table looks like today.
import type avro from 'avsc';
import type { DecodedEvent, EventDecoder, SchemaRecord } from '../core/codec.ts';
import { DecodeError } from '../core/errors.ts';
import { qualifiedName, type Row, type TableMeta } from '../core/model.ts';
import { fingerprintHex } from './canonical-form.ts';
import { tableMetaFromRowSchema, type RecordSchema } from './row-schema.ts';
import { decodeBody, readSingleObjectFingerprint, SchemaRegistry, SINGLE_OBJECT_HEADER, type RegisteredSchema } from './single-object.ts';

/** How one writer schema's records become canonical rows. */
interface Reading {
  type: avro.Type;
  /** null for a key schema */
  table: TableMeta | null;
  /** [field name, column name] where they differ */
  renames: [string, string][];
}

/** The row record inside a change-event schema (field `after`), or null for other schemas. */
function rowRecordOf(schema: RecordSchema): RecordSchema | null {
  const after = Array.isArray(schema.fields) ? schema.fields.find((f) => f.name === 'after') : undefined;
  const row = Array.isArray(after?.type) ? (after.type[1] as RecordSchema) : null;
  return row && typeof row === 'object' ? row : null;
}

function renamesOf(fields: RecordSchema['fields']): [string, string][] {
  const out: [string, string][] = [];
  for (const f of fields) {
    const column = f['ctrelay.column'];
    if (typeof column === 'string' && column !== f.name) out.push([f.name, column]);
  }
  return out;
}

function renamed(rec: Row, renames: [string, string][]): Row {
  if (renames.length === 0) return rec;
  const out: Row = { ...rec };
  // delete first: a column may carry the name another column's field had
  const present = renames.filter(([field]) => field in rec);
  for (const [field] of present) delete out[field];
  for (const [field, column] of present) out[column] = rec[field];
  return out;
}

export class SingleObjectEventDecoder implements EventDecoder {
  private readonly registry = new SchemaRegistry();
  private readonly readings = new Map<bigint, Reading>();
  /** newest definition per table: schemas are learnt in publication order */
  private readonly tables = new Map<string, TableMeta>();

  learn(schemas: SchemaRecord[]): void {
    for (const s of schemas) {
      let entry: RegisteredSchema;
      try {
        entry = this.registry.registerRecord(s.fingerprint, s.json);
      } catch (err) {
        throw new DecodeError(`schema record ${s.fingerprint}: ${(err as Error).message}`, { cause: err });
      }
      const row = rowRecordOf(JSON.parse(entry.json) as RecordSchema);
      if (!row) continue;
      try {
        const meta = tableMetaFromRowSchema(row);
        this.tables.set(qualifiedName(meta), meta);
      } catch {
        // a change-event-shaped schema not written by ctrelay: decodeEvent reports it if used
      }
    }
  }

  private reading(fp: bigint, where: string, kind: 'event' | 'key'): Reading | null {
    const known = this.readings.get(fp);
    if (known) return known;
    let writer: RegisteredSchema | undefined;
    try {
      writer = this.registry.lookup(fp);
    } catch (err) {
      throw new DecodeError(`${where}: ${(err as Error).message}`, { cause: err });
    }
    if (!writer) return null;
    const schema = JSON.parse(writer.json) as RecordSchema;
    let reading: Reading;
    if (kind === 'event') {
      const row = rowRecordOf(schema);
      if (!row) throw new DecodeError(`${where}: schema ${writer.hex} is not a ctrelay change event`);
      let table: TableMeta;
      try {
        table = tableMetaFromRowSchema(row);
      } catch (err) {
        throw new DecodeError(`${where}: schema ${writer.hex} is not a ctrelay change event: ${(err as Error).message}`, { cause: err });
      }
      reading = { type: writer.type, table, renames: renamesOf(row.fields) };
    } else {
      reading = { type: writer.type, table: null, renames: renamesOf(schema.fields ?? []) };
    }
    this.readings.set(fp, reading);
    return reading;
  }

  private body(buf: Buffer, where: string, kind: 'event' | 'key'): { value: any; reading: Reading } | null {
    let fp: bigint;
    try {
      fp = readSingleObjectFingerprint(buf);
    } catch (err) {
      throw new DecodeError(`${where}: undecodable ${kind}: ${(err as Error).message}`, { cause: err });
    }
    const reading = this.reading(fp, where, kind);
    if (!reading) return null;
    try {
      return { value: decodeBody(reading.type, buf, SINGLE_OBJECT_HEADER, undefined, `${kind} with schema ${fingerprintHex(fp)}`), reading };
    } catch (err) {
      throw new DecodeError(`${where}: undecodable ${kind}: ${(err as Error).message}`, { cause: err });
    }
  }

  decodeEvent(value: Buffer, where: string): DecodedEvent | null {
    const got = this.body(value, where, 'event');
    if (!got) return null;
    const { value: v, reading } = got;
    if (reading.renames.length > 0) {
      if (v.after !== null) v.after = renamed(v.after, reading.renames);
      v.key = renamed(v.key, reading.renames);
    }
    return { event: v, table: reading.table! };
  }

  /**
   * An event body without its single-object header, at `pos` of `buf` (an Avro container block),
   * written with schema `fp`: the event and where its body ends (negative: past the end of `buf`).
   * Null when `fp` is not learnt. One decode finds both, where a split first would decode twice.
   */
  decodeEventAt(fp: bigint, buf: Buffer, pos: number, where: string): { decoded: DecodedEvent; end: number } | null {
    const reading = this.reading(fp, where, 'event');
    if (!reading) return null;
    let res: { value: any; offset: number };
    try {
      res = reading.type.decode(buf, pos);
    } catch (err) {
      throw new DecodeError(`${where}: undecodable event: ${(err as Error).message}`, { cause: err });
    }
    const v = res.value;
    if (res.offset >= 0 && reading.renames.length > 0) {
      if (v.after !== null) v.after = renamed(v.after, reading.renames);
      v.key = renamed(v.key, reading.renames);
    }
    return { decoded: { event: v, table: reading.table! }, end: res.offset };
  }

  decodeKey(key: Buffer, where: string): Row | null {
    const got = this.body(key, where, 'key');
    return got ? renamed(got.value, got.reading.renames) : null;
  }

  tableMeta(table: string): TableMeta | null {
    return this.tables.get(table) ?? null;
  }
}
