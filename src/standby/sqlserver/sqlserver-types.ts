// ColumnType -> SQL Server column types for the standby. Every canonical value is written as an
// exact parameter (bit/int/bigint/float/varbinary), as its canonical string CAST to the column type
// (decimals, temporal types, uuid), or, for strings and binary, as an nvarchar(max)/varbinary(max)
// parameter inserted as it is: a CAST to a shorter string or binary type cuts the value WITHOUT an
// error, while an INSERT into a shorter column raises one (2628/8152 under ANSI_WARNINGS ON, which
// the dialect's sessions pin). Nothing passes through a JS number or Date.
import { StandbyError } from '../../core/errors.ts';
import type { ColumnMeta, ColumnType, TableMeta } from '../../core/model.ts';
import type { NativeType } from '../column-change.ts';

/** nvarchar(4000) / varbinary(8000) are the largest non-max types. */
const MAX_NVARCHAR = 4000;
const MAX_VARBINARY = 8000;
// A clustered primary key holds at most 900 bytes: an unbounded source key column (or one beyond
// nvarchar(4000) / varbinary(8000)) becomes the widest that fits alone. A longer key is refused
// before anything is sent, naming table, column, key and both lengths (storedShape + value-fit in
// sqlserver-transaction.ts), never cut: two keys sharing their first 450 characters stay two keys.
const KEY_NVARCHAR = 450;
const KEY_VARBINARY = 900;

/** Whether ddlType makes this key column shorter than its source's (unbounded, or beyond the largest bounded type). */
export function isShortenedKey(t: ColumnType, isKey: boolean): boolean {
  if (!isKey) return false;
  if (t.kind === 'string') return t.maxLength === undefined || t.maxLength > MAX_NVARCHAR;
  if (t.kind === 'bytes') return t.maxLength === undefined || t.maxLength > MAX_VARBINARY;
  return false;
}

export function ddlType(t: ColumnType, isKey: boolean, where: string): string {
  switch (t.kind) {
    case 'boolean':
      return 'bit';
    case 'int16':
      return 'smallint';
    case 'int32':
      return 'int';
    case 'int64':
      return 'bigint';
    // tedious reads a real as the float's exact binary value, so real round-trips exactly
    case 'float32':
      return 'real';
    case 'float64':
      return 'float';
    case 'decimal':
      if (t.precision < 1 || t.precision > 38 || t.scale < 0 || t.scale > t.precision) {
        throw new StandbyError(
          `${where}: decimal(${t.precision},${t.scale}) does not fit SQL Server's decimal (precision 1..38); an unconstrained PostgreSQL numeric needs a declared precision at the source`,
        );
      }
      return `decimal(${t.precision},${t.scale})`;
    case 'string':
      if (isShortenedKey(t, isKey)) return `nvarchar(${KEY_NVARCHAR})`;
      return t.maxLength !== undefined && t.maxLength <= MAX_NVARCHAR ? `${t.fixedLength ? 'nchar' : 'nvarchar'}(${t.maxLength})` : 'nvarchar(max)';
    case 'bytes':
      if (isShortenedKey(t, isKey)) return `varbinary(${KEY_VARBINARY})`;
      return t.maxLength !== undefined && t.maxLength <= MAX_VARBINARY ? `${t.fixedLength ? 'binary' : 'varbinary'}(${t.maxLength})` : 'varbinary(max)';
    case 'uuid':
      return 'uniqueidentifier';
    // json and xml keep the source's text byte for byte: the xml type would re-serialise it
    case 'json':
    case 'xml':
      return 'nvarchar(max)';
    case 'date':
      return 'date';
    case 'time':
      return `time(${t.precision})`;
    case 'timestamp':
      return `datetime2(${t.precision})`;
    // an instant is stored with offset +00:00 and read back as ...Z
    case 'timestamptz':
    case 'datetimeoffset':
      return `datetimeoffset(${t.precision})`;
  }
}

/** The table's columns with sourceType replaced by the standby DDL type (for reads and casts). */
export function standbyColumns(table: TableMeta): ColumnMeta[] {
  const keys = new Set(table.key);
  return table.columns.map((c) => ({ ...c, sourceType: ddlType(c.type, keys.has(c.name), `${table.schema}.${table.table} column ${c.name}`) }));
}

/** Whether the type is a character type (temp-table columns then need a COLLATE clause). */
export function isCharacter(t: ColumnType): boolean {
  return t.kind === 'string' || t.kind === 'json' || t.kind === 'xml';
}

const SQLSERVER_INT_BYTES: Record<string, number> = { tinyint: 1, smallint: 2, int: 4, bigint: 8 };

/**
 * A SQL Server column type as nativeTypeOf prints a catalog row or ddlType writes it (`nvarchar(20)`,
 * `nvarchar(max)`, `decimal(12,2)`, `datetime2(3)`, `real`, `float`), as a NativeType
 * (src/standby/column-change.ts). nvarchar, varchar, nchar, char, varbinary and binary are six
 * families: a change between them converts.
 */
export function parseSqlServerType(text: string): NativeType {
  const t = text.trim().toLowerCase();
  const m = /^([a-z0-9]+)(?:\((max|\d+)(?:,\s*(\d+))?\))?$/.exec(t);
  if (!m) return { text, family: t };
  const [, name, a, b] = m;
  const n = a === undefined ? undefined : a === 'max' ? Infinity : Number(a);
  if (name in SQLSERVER_INT_BYTES) return { text, family: 'int', size: SQLSERVER_INT_BYTES[name] };
  switch (name) {
    case 'real':
      return { text, family: 'float', size: 4 };
    case 'float':
      return { text, family: 'float', size: n !== undefined && n <= 24 ? 4 : 8 };
    case 'decimal':
    case 'numeric':
      return { text, family: 'decimal', size: (n ?? 18) - Number(b ?? 0), scale: Number(b ?? 0) };
    case 'nvarchar':
    case 'varchar':
    case 'varbinary':
    case 'nchar':
    case 'char':
    case 'binary':
      return { text, family: name, size: n ?? 1 };
    case 'time':
    case 'datetime2':
    case 'datetimeoffset':
      return { text, family: name, size: n ?? 7 };
    default:
      return { text, family: name };
  }
}

/** A sys.columns row (with TYPE_NAME, max_length, precision, scale) in SQL Server's own DDL spelling. */
export function nativeTypeOf(r: { type_name: unknown; max_length: unknown; precision: unknown; scale: unknown }): string {
  const name = String(r.type_name).toLowerCase();
  const len = Number(r.max_length);
  switch (name) {
    case 'nvarchar':
    case 'nchar':
      return `${name}(${len === -1 ? 'max' : len / 2})`;
    case 'varchar':
    case 'char':
    case 'varbinary':
    case 'binary':
      return `${name}(${len === -1 ? 'max' : len})`;
    case 'decimal':
    case 'numeric':
      return `${name}(${Number(r.precision)},${Number(r.scale)})`;
    case 'time':
    case 'datetime2':
    case 'datetimeoffset':
      return `${name}(${Number(r.scale)})`;
    case 'float':
      return Number(r.precision) <= 24 ? 'real' : 'float';
    default:
      return name;
  }
}
