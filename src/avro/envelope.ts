// The data-topic value: the fixed envelope from schemas/envelope.avsc + schemas/source.avsc, composed
// with the table's generated row and key records; and TableSchemas, one table's schemas and the
// mapping between canonical rows and avsc values.
import type avro from 'avsc';
import type { ChangeEvent } from '../core/batch.ts';
import type { Row, TableMeta } from '../core/model.ts';
import { qualifiedName } from '../core/model.ts';
import { AvroValueError } from './errors.ts';
import { parseType } from './logical-types.ts';
import { keyRecordSchema, rowRecordSchema, tableNaming, type RecordSchema, type TableNaming } from './row-schema.ts';
import { loadSchemaFile } from './schema-files.ts';
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
 * The Avro side of one table, built once per TableMeta: its key and value schemas, their avsc
 * Types, and the conversion between canonical rows (column names) and avsc values (field names,
 * which differ only where a column name is not a valid Avro name). Framing lives in
 * table-encoder.ts and event-decoder.ts; this class encodes nothing by itself.
 */
export class TableSchemas {
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

  constructor(readonly meta: TableMeta, readonly prefix: string) {
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
  }

  /** The avsc value of a key row (columns renamed to field names). */
  keyToAvro(key: Row): Row {
    return this.keyRenames.length ? rename(key, this.keyRenames, 0, 1) : key;
  }

  keyFromAvro(rec: Row): Row {
    return this.keyRenames.length ? rename(rec, this.keyRenames, 1, 0) : rec;
  }

  /** The avsc value of an envelope (rows renamed to field names). */
  toAvro(env: Envelope): unknown {
    if (this.renames.length === 0) return env;
    return {
      ...env,
      after: env.after === null ? null : rename(env.after, this.renames, 0, 1),
      key: this.keyToAvro(env.key),
    };
  }

  fromAvro(v: any): Envelope {
    if (this.renames.length === 0) return v as Envelope;
    v.after = v.after === null ? null : rename(v.after, this.renames, 1, 0);
    v.key = this.keyFromAvro(v.key);
    return v as Envelope;
  }

  /** Re-raises an encode failure of an envelope as AvroValueError naming the field or column. */
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

  /** Re-raises an encode failure of a key as AvroValueError naming the column. */
  diagnoseKey(err: unknown, key: Row): Error {
    return this.findColumn(key, this.keyRecordType, 'key') ?? new AvroValueError(`table ${qualifiedName(this.meta)}: cannot encode key: ${(err as Error).message}`, 1, { cause: err });
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
