// The database-independent data model every stage shares. Sources map their native catalog types
// into ColumnType; Avro, standby dialects and verify map ColumnType onward. Nothing here knows a
// database or a Kafka client.

/**
 * A column's type, normalised across engines. Precision of temporal types is the number of
 * fractional-second digits the source keeps (0..7; SQL Server datetime2(7) keeps 7 = 100 ns,
 * PostgreSQL keeps at most 6).
 */
export type ColumnType =
  | { kind: 'boolean' }
  | { kind: 'int16' }
  | { kind: 'int32' }
  | { kind: 'int64' }
  | { kind: 'float32' }
  | { kind: 'float64' }
  | { kind: 'decimal'; precision: number; scale: number }
  | { kind: 'string'; maxLength?: number; fixedLength?: boolean }
  | { kind: 'bytes'; maxLength?: number; fixedLength?: boolean }
  | { kind: 'uuid' }
  | { kind: 'json' }
  | { kind: 'xml' }
  | { kind: 'date' }
  /** time of day; `endOfDay`: the source also admits 24:00:00 (PostgreSQL time), which needs its own wire form */
  | { kind: 'time'; precision: number; endOfDay?: boolean }
  /** wall-clock date and time without zone (SQL Server datetime2/datetime, PostgreSQL timestamp) */
  | { kind: 'timestamp'; precision: number }
  /** an instant (PostgreSQL timestamptz); the offset it was written with is not kept by the source */
  | { kind: 'timestamptz'; precision: number }
  /** an instant plus the offset it was written with (SQL Server datetimeoffset) */
  | { kind: 'datetimeoffset'; precision: number };

export type ColumnKind = ColumnType['kind'];

/**
 * Canonical in-memory value of a column, the same whatever the source:
 * - boolean: boolean; int16/int32: number; int64: bigint; float32/float64: number
 * - decimal: plain decimal string without exponent, e.g. "-12.3400" (never a JS number)
 * - string/json/xml: string; bytes: Buffer; uuid: lower-case string
 * - date: "YYYY-MM-DD"; time: "HH:MM:SS" plus ".f{precision}" when precision > 0
 * - timestamp: "YYYY-MM-DDTHH:MM:SS[.f{precision}]"
 * - timestamptz: "YYYY-MM-DDTHH:MM:SS[.f{precision}]Z" (UTC)
 * - datetimeoffset: "YYYY-MM-DDTHH:MM:SS[.f{precision}]+HH:MM" (offset as written)
 * - SQL NULL: null
 */
export type Value = null | boolean | number | bigint | string | Buffer;
export type Row = Record<string, Value>;

export interface ColumnMeta {
  /** the column's name at the source, unquoted, exactly as the catalog spells it */
  name: string;
  type: ColumnType;
  nullable: boolean;
  /** the native type as the source spells it, for error messages and DDL hints, e.g. "numeric(38,4)" */
  sourceType: string;
  /**
   * The column has a default expression: existing rows take its value when the column is added,
   * without any DML that change tracking could see (capture re-snapshots the table then).
   */
  hasDefault?: boolean;
  /** The database computes the column (generated / computed column): a standby never writes it. */
  generated?: boolean;
}

export interface TableRef {
  schema: string;
  table: string;
}

export interface TableMeta extends TableRef {
  /** columns in catalog order; excluded columns are already removed */
  columns: ColumnMeta[];
  /** primary key column names in key order; never empty */
  key: string[];
}

export function qualifiedName(t: TableRef): string {
  return `${t.schema}.${t.table}`;
}

export function keyOf(table: TableMeta, row: Row): Row {
  const k: Row = {};
  for (const c of table.key) k[c] = row[c];
  return k;
}
