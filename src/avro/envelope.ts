// The data-topic value: the fixed envelope from schemas/envelope.avsc + schemas/source.avsc, composed
// with the table's generated row and key records; and TableCodec, the per-table encoder/decoder
// from and to canonical rows.
import type avro from 'avsc';
import type { ChangeEvent } from '../core/batch.ts';
import type { Row, TableMeta } from '../core/model.ts';
import { qualifiedName } from '../core/model.ts';
import { AvroDecodeError, AvroValueError } from './errors.ts';
import { parseType } from './logical-types.ts';
import { keyRecordSchema, rowRecordSchema, tableNaming, type RecordSchema, type TableNaming } from './row-schema.ts';
import { loadSchemaFile } from './schema-files.ts';
import { SchemaRegistry, SingleObjectCodec } from './single-object.ts';
import { NamedTypes } from './type-mapping.ts';

// The data-topic value is the core's ChangeEvent: its field names are the Avro field names.
export type { Op } from '../core/batch.ts';
export type Envelope = ChangeEvent;
export type SourceInfo = ChangeEvent['source'];

const ROW_PLACEHOLDER = 'ctrelay.placeholder.Row';
const KEY_PLACEHOLDER = 'ctrelay.placeholder.Key';
const SOURCE_NAME = 'ctrelay.Source';

/** Replaces placeholder names in a schema template; a named type is defined at its first use only. */
function substitute(node: unknown, defs: Map<string, unknown>, used: Set<string>): unknown {
  if (typeof node === 'string') {
    const def = defs.get(node);
    if (def === undefined || used.has(node)) return node;
    used.add(node);
    return def;
  }
  if (Array.isArray(node)) return node.map((n) => substitute(n, defs, used));
  if (node !== null && typeof node === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(node)) {
      out[k] = k === 'type' || k === 'items' || k === 'values' || k === 'fields' ? substitute(v, defs, used) : v;
    }
    return out;
  }
  return node;
}

function compose(meta: TableMeta, naming: TableNaming): { value: RecordSchema; row: RecordSchema; key: RecordSchema } {
  const named = new NamedTypes();
  // the row is defined first (field `after`), so shared decimal fixeds are defined there
  const row = rowRecordSchema(meta, naming, named);
  const key = keyRecordSchema(meta, naming, named);
  const template = loadSchemaFile('envelope.avsc');
  template.namespace = naming.namespace;
  const defs = new Map<string, unknown>([
    [ROW_PLACEHOLDER, row],
    [KEY_PLACEHOLDER, key],
    [SOURCE_NAME, loadSchemaFile('source.avsc')],
  ]);
  const value = substitute(template, defs, new Set()) as RecordSchema;
  return { value, row, key };
}

/** The data-topic value schema of a table: the envelope with this table's row and key records. */
export function valueSchema(meta: TableMeta, prefix: string): RecordSchema {
  return compose(meta, tableNaming(meta, prefix)).value;
}

type AvroRecordType = avro.Type & { fields: { name: string; type: avro.Type }[] };

/**
 * Schemas, avsc Types and fast encode/decode for one table, built once per TableMeta. Encoding
 * passes canonical rows straight to avsc when no column needed renaming (the usual case); values
 * that do not fit their column throw AvroValueError naming table and column.
 */
export class TableCodec {
  readonly naming: TableNaming;
  readonly keySchema: RecordSchema;
  readonly valueSchema: RecordSchema;
  readonly keyType: avro.Type;
  readonly valueType: avro.Type;
  private readonly rowType: AvroRecordType;
  private readonly keyRecordType: AvroRecordType;
  /** [source name, field name] of renamed columns only */
  private readonly renames: [string, string][];
  private readonly keyRenames: [string, string][];
  /** single-object framing of key and value; their schemas are registered in the given registry */
  readonly keyObject: SingleObjectCodec;
  readonly valueObject: SingleObjectCodec;

  constructor(readonly meta: TableMeta, readonly prefix: string, registry: SchemaRegistry = new SchemaRegistry()) {
    this.naming = tableNaming(meta, prefix);
    this.valueSchema = compose(meta, this.naming).value;
    // the record key stands alone, so it defines its own decimal fixeds
    this.keySchema = keyRecordSchema(meta, this.naming, new NamedTypes());
    this.keyType = parseType(this.keySchema);
    this.valueType = parseType(this.valueSchema);
    const fields = (this.valueType as AvroRecordType).fields;
    this.rowType = (fields[1].type as unknown as { types: avro.Type[] }).types[1] as AvroRecordType;
    this.keyRecordType = this.keyType as AvroRecordType;
    this.renames = [...this.naming.fields].filter(([s, f]) => s !== f);
    const keySet = new Set(meta.key);
    this.keyRenames = this.renames.filter(([s]) => keySet.has(s));
    // registered from the JSON, not the Type: the ctrelay.* attributes must reach the schemas topic
    this.keyObject = new SingleObjectCodec(this.keySchema, registry);
    this.valueObject = new SingleObjectCodec(this.valueSchema, registry);
  }

  /** The Kafka record key as a single-object message (C3 01 + fingerprint + body). */
  encodeKeyMessage(key: Row): Buffer {
    try {
      return this.keyObject.encode(this.keyRenames.length ? rename(key, this.keyRenames, 0, 1) : key);
    } catch (err) {
      throw this.diagnose(err, key, this.keyRecordType, 'key');
    }
  }

  /** The Kafka record value as a single-object message. */
  encodeValueMessage(env: Envelope): Buffer {
    try {
      return this.valueObject.encode(this.toAvro(env));
    } catch (err) {
      throw this.diagnoseEnvelope(err, env);
    }
  }

  /** Decodes a key message written with this table's schema or any registered older/newer one. */
  decodeKeyMessage(buf: Buffer): Row {
    const rec = this.keyObject.decode(buf);
    return this.keyRenames.length ? rename(rec, this.keyRenames, 1, 0) : rec;
  }

  /** Decodes a value message written with this table's schema or any registered older/newer one. */
  decodeValueMessage(buf: Buffer): Envelope {
    return this.fromAvro(this.valueObject.decode(buf));
  }

  encodeKey(key: Row): Buffer {
    try {
      return this.keyType.toBuffer(this.keyRenames.length ? rename(key, this.keyRenames, 0, 1) : key);
    } catch (err) {
      throw this.diagnose(err, key, this.keyRecordType, 'key');
    }
  }

  decodeKey(buf: Buffer, resolver?: object): Row {
    const rec = decodeWhole(this.keyType, buf, resolver, `key of ${qualifiedName(this.meta)}`);
    return this.keyRenames.length ? rename(rec, this.keyRenames, 1, 0) : rec;
  }

  /** The avsc value of an envelope (rows renamed to field names); for framing helpers. */
  toAvro(env: Envelope): unknown {
    if (this.renames.length === 0) return env;
    return {
      ...env,
      after: env.after === null ? null : rename(env.after, this.renames, 0, 1),
      key: this.keyRenames.length ? rename(env.key, this.keyRenames, 0, 1) : env.key,
    };
  }

  fromAvro(v: any): Envelope {
    if (this.renames.length === 0) return v as Envelope;
    v.after = v.after === null ? null : rename(v.after, this.renames, 1, 0);
    if (this.keyRenames.length) v.key = rename(v.key, this.keyRenames, 1, 0);
    return v as Envelope;
  }

  encodeValue(env: Envelope): Buffer {
    try {
      return this.valueType.toBuffer(this.toAvro(env));
    } catch (err) {
      throw this.diagnoseEnvelope(err, env);
    }
  }

  decodeValue(buf: Buffer, resolver?: object): Envelope {
    return this.fromAvro(decodeWhole(this.valueType, buf, resolver, `value of ${qualifiedName(this.meta)}`));
  }

  /** Re-raises an encode failure as AvroValueError naming the envelope field or row column. */
  diagnoseEnvelope(err: unknown, env: Envelope): Error {
    if (env.after !== null && typeof env.after === 'object') {
      const e = this.findColumn(env.after, this.rowType, 'row');
      if (e) return e;
    }
    if (env.key !== null && typeof env.key === 'object') {
      const e = this.findColumn(env.key, this.keyRecordType, 'key');
      if (e) return e;
    }
    return new AvroValueError(`table ${qualifiedName(this.meta)}: cannot encode event (op ${String(env.op)}): ${(err as Error).message}`, 1, { cause: err });
  }

  private diagnose(err: unknown, row: Row, type: AvroRecordType, what: string): Error {
    return this.findColumn(row, type, what) ?? new AvroValueError(`table ${qualifiedName(this.meta)}: cannot encode ${what}: ${(err as Error).message}`, 1, { cause: err });
  }

  private findColumn(row: Row, type: AvroRecordType, what: string): AvroValueError | undefined {
    for (const f of type.fields) {
      const col = this.meta.columns.find((c) => this.naming.fields.get(c.name) === f.name)!;
      const v = row[col.name];
      try {
        f.type.toBuffer(v === undefined ? null : v);
        if (v === undefined) throw new Error('value missing from the row');
      } catch (e) {
        const shown = v === null ? 'NULL' : v === undefined ? 'missing' : typeof v === 'string' && v.length <= 80 ? JSON.stringify(v) : `a ${typeof v}`;
        return new AvroValueError(`table ${qualifiedName(this.meta)} column "${col.name}" (${col.sourceType}) in ${what}: cannot encode ${shown}: ${(e as Error).message}`, 1, { cause: e });
      }
    }
    return undefined;
  }
}

function rename(obj: Record<string, any>, pairs: [string, string][], from: 0 | 1, to: 0 | 1): Record<string, any> {
  const out: Record<string, any> = { ...obj };
  for (const p of pairs) delete out[p[from]];
  for (const p of pairs) out[p[to]] = obj[p[from]];
  return out;
}

function decodeWhole(type: avro.Type, buf: Buffer, resolver: object | undefined, what: string): any {
  let res: { value: any; offset: number };
  try {
    res = type.decode(buf, 0, resolver as any);
  } catch (err) {
    throw new AvroDecodeError(`cannot decode ${what}: ${(err as Error).message}`, 1, { cause: err });
  }
  if (res.offset !== buf.length) throw new AvroDecodeError(`cannot decode ${what}: ${res.offset < 0 ? 'truncated' : 'trailing bytes'}`);
  return res.value;
}
