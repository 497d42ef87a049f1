// Per-table Avro records generated from the source catalog: the row (all columns) and the key (the
// primary key columns in key order). Field attributes keep what Avro names cannot: the source
// column name, its ColumnType and native type, so a consumer (the applier creating standby tables,
// restore, verify) can rebuild the TableMeta from the schema alone.
import { createHash } from 'node:crypto';
import type { ColumnMeta, ColumnType, TableMeta } from '../core/model.ts';
import { qualifiedName } from '../core/model.ts';
import { AvroSchemaError } from './errors.ts';
import { fieldNames, namespaceFor } from './names.ts';
import { PRECISION_ATTR } from './temporal-type.ts';
import { avroTypeFor, NamedTypes, type AvroSchema } from './type-mapping.ts';

export const COLUMN_ATTR = 'ctrelay.column';
export const COLUMN_TYPE_ATTR = 'ctrelay.type';
export const SOURCE_TYPE_ATTR = 'ctrelay.sourceType';
export const SCHEMA_ATTR = 'ctrelay.schema';
export const TABLE_ATTR = 'ctrelay.table';
export const KEY_ATTR = 'ctrelay.key';

export type RecordSchema = Record<string, unknown> & { type: 'record'; name: string; namespace: string; fields: FieldSchema[] };
export type FieldSchema = Record<string, unknown> & { name: string; type: AvroSchema };

/** How one table's identifiers map to Avro names; derived deterministically from the TableMeta. */
export interface TableNaming {
  /** <prefix>.<schema>.<table>, sanitised: namespace of the table's Envelope, Row and Key */
  namespace: string;
  /** source column name -> Avro field name (unique within the row) */
  fields: Map<string, string>;
  /** true when every field name equals its column name (rows need no renaming) */
  identity: boolean;
}

export function tableNaming(meta: TableMeta, prefix: string): TableNaming {
  const fields = fieldNames(meta.columns.map((c) => c.name));
  let identity = true;
  for (const [src, name] of fields) if (src !== name) identity = false;
  return { namespace: namespaceFor(prefix, meta.schema, meta.table), fields, identity };
}

function column(meta: TableMeta, name: string): ColumnMeta {
  const c = meta.columns.find((col) => col.name === name);
  if (!c) throw new AvroSchemaError(`table ${qualifiedName(meta)}: key column "${name}" is not among its columns`);
  return c;
}

function fieldFor(meta: TableMeta, c: ColumnMeta, name: string, named: NamedTypes, nullable: boolean): FieldSchema {
  let type: AvroSchema;
  try {
    type = avroTypeFor(c.type, named);
  } catch (err) {
    throw new AvroSchemaError(`table ${qualifiedName(meta)} column "${c.name}" (${c.sourceType}): unsupported type: ${(err as Error).message}; exclude the column in the configuration or change its type`, 1, { cause: err });
  }
  const field: FieldSchema = nullable ? { name, type: ['null', type], default: null } : { name, type };
  field[COLUMN_ATTR] = c.name;
  field[COLUMN_TYPE_ATTR] = c.type;
  field[SOURCE_TYPE_ATTR] = c.sourceType;
  return field;
}

function checkKey(meta: TableMeta): void {
  if (meta.key.length === 0) throw new AvroSchemaError(`table ${qualifiedName(meta)} has no primary key`);
}

/**
 * Column kinds whose Avro type already pins the column type in the Parsing Canonical Form
 * (boolean, long, float, double, and decimals on fixeds named after precision and scale). Every
 * other kind shares its Avro type with others: int16 and int32 are both `int`; strings of any
 * length, fixed or not, json, xml, uuid and datetimeoffset are all `string`; millis, micros, ticks
 * and nanos are all `long`.
 */
const PINNED_BY_AVRO_TYPE: ReadonlySet<string> = new Set(['boolean', 'int64', 'float32', 'float64', 'decimal']);

/** The column type a field encodes (its ctrelay.type), when the canonical form cannot see it. */
function encodingOf(field: FieldSchema): string | null {
  const t = field[COLUMN_TYPE_ATTR] as ColumnType | undefined;
  if (!t || PINNED_BY_AVRO_TYPE.has(t.kind)) return null;
  return JSON.stringify(t, Object.keys(t).sort());
}

/**
 * The namespace of a row or key record: the table's, plus `enc_<16 hex>` naming the column types
 * the canonical form cannot see (see avroTypeFor's comment): any change of such a column's type,
 * length, precision or unit changes the record's full name and so the fingerprint, so the
 * compacted schemas topic keeps both versions and every event is read with its own. The hex is the
 * first 64 bits of the SHA-256 of the sorted "field:type" lines (Avro field names hold no ':' or
 * newline). A record with no such column keeps the table namespace.
 */
export function encodingNamespace(tableNamespace: string, fields: readonly FieldSchema[]): string {
  const lines: string[] = [];
  for (const f of fields) {
    const e = encodingOf(f);
    if (e !== null) lines.push(`${f.name}:${e}`);
  }
  if (lines.length === 0) return tableNamespace;
  lines.sort();
  return `${tableNamespace}.enc_${createHash('sha256').update(lines.join('\n')).digest('hex').slice(0, 16)}`;
}

/** The row record: every column in catalog order; nullable columns as ["null", T] default null. */
export function rowRecordSchema(meta: TableMeta, naming: TableNaming, named: NamedTypes): RecordSchema {
  checkKey(meta);
  const fields = meta.columns.map((c) => fieldFor(meta, c, naming.fields.get(c.name)!, named, c.nullable));
  return {
    type: 'record',
    name: 'Row',
    namespace: encodingNamespace(naming.namespace, fields),
    doc: `Row of ${qualifiedName(meta)}`,
    [SCHEMA_ATTR]: meta.schema,
    [TABLE_ATTR]: meta.table,
    [KEY_ATTR]: meta.key,
    fields,
  };
}

/** The key record: primary key columns in key order, never null (key columns cannot be NULL). */
export function keyRecordSchema(meta: TableMeta, naming: TableNaming, named: NamedTypes): RecordSchema {
  checkKey(meta);
  const fields = meta.key.map((k) => fieldFor(meta, column(meta, k), naming.fields.get(k)!, named, false));
  return {
    type: 'record',
    name: 'Key',
    namespace: encodingNamespace(naming.namespace, fields),
    doc: `Primary key of ${qualifiedName(meta)}`,
    [SCHEMA_ATTR]: meta.schema,
    [TABLE_ATTR]: meta.table,
    fields,
  };
}

/** Schema of the Kafka record key of the table's data topic. */
export function keySchema(meta: TableMeta, prefix: string): RecordSchema {
  return keyRecordSchema(meta, tableNaming(meta, prefix), new NamedTypes());
}

/**
 * Rebuilds the TableMeta a row record schema was generated from (for consumers that only have the
 * schema: the applier creating a standby table, restore, archive tools).
 */
export function tableMetaFromRowSchema(row: RecordSchema): TableMeta {
  const schema = row[SCHEMA_ATTR];
  const table = row[TABLE_ATTR];
  const key = row[KEY_ATTR];
  if (typeof schema !== 'string' || typeof table !== 'string' || !Array.isArray(key)) {
    throw new AvroSchemaError(`record ${row.name} was not generated by ctrelay (missing ${SCHEMA_ATTR}/${TABLE_ATTR}/${KEY_ATTR})`);
  }
  const columns: ColumnMeta[] = row.fields.map((f) => {
    const type = f[COLUMN_TYPE_ATTR] as ColumnType | undefined;
    if (type === undefined) throw new AvroSchemaError(`field ${f.name} of ${schema}.${table} has no ${COLUMN_TYPE_ATTR}`);
    return {
      name: (f[COLUMN_ATTR] as string | undefined) ?? f.name,
      type,
      nullable: Array.isArray(f.type) && f.type[0] === 'null',
      sourceType: (f[SOURCE_TYPE_ATTR] as string | undefined) ?? '',
    };
  });
  return { schema, table, columns, key: key as string[] };
}
