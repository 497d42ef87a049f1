// ColumnType <-> PostgreSQL: DDL types, the element types used to pass whole columns as one array
// parameter, and the exact text conversions in both directions.
//
// Exact choices, the standby's type being the source's where PostgreSQL has it (PostgreSQL keeps at
// most 6 fractional digits and drops the offset of a timestamptz):
// - float32 -> real. The server prints a real as its shortest decimal ("0.1"); read back through
//   Math.fround that is exactly the float32 value (0.10000000149011612) a source reports.
// - time(7), timestamp(7), timestamptz(7) -> varchar holding the canonical string. The fixed-width
//   form sorts in time order, so such columns still work as keys and in range scans.
// - datetimeoffset(p) -> varchar holding the canonical ISO string with its offset.
// - json -> json (keeps the text byte for byte; jsonb would re-format it); xml -> text.
// - string(n) -> varchar(n); fixed length -> char(n), which keeps the padding ('ab   ' for char(5),
//   the canonical value) and compares like the source's char. Rows travel as bpchar arrays for
//   such columns: a text = bpchar comparison would strip the padding of one side only.
import type { ColumnMeta, ColumnType, Row, Value } from '../../core/model.ts';
import type { NativeType } from '../column-change.ts';
import { fixFraction, temporalTextWidth } from '../temporal-text.ts';
import { quoteIdent } from '../../drivers/postgres/quote.ts';

const PG_MAX_VARCHAR = 10_485_760;

/** Width of the canonical string for temporal kinds PostgreSQL cannot hold natively, else null. */
const temporalAsText = (t: ColumnType): number | null => temporalTextWidth(t, 6);

export function ddlType(t: ColumnType): string {
  const asText = temporalAsText(t);
  if (asText !== null) return `varchar(${asText})`;
  switch (t.kind) {
    case 'boolean':
      return 'boolean';
    case 'int16':
      return 'smallint';
    case 'int32':
      return 'integer';
    case 'int64':
      return 'bigint';
    case 'float32':
      return 'real';
    case 'float64':
      return 'double precision';
    case 'decimal':
      return t.precision > 0 ? `numeric(${t.precision},${t.scale})` : 'numeric';
    case 'string':
    case 'xml':
      if (t.kind === 'string' && t.maxLength && t.maxLength > 0 && t.maxLength <= PG_MAX_VARCHAR) {
        return t.fixedLength ? `char(${t.maxLength})` : `varchar(${t.maxLength})`;
      }
      return 'text';
    case 'bytes':
      return 'bytea';
    case 'uuid':
      return 'uuid';
    case 'json':
      return 'json';
    case 'date':
      return 'date';
    case 'time':
      return `time(${t.precision})`;
    case 'timestamp':
      return `timestamp(${t.precision})`;
    case 'timestamptz':
      return `timestamptz(${t.precision})`;
    case 'datetimeoffset':
      throw new Error('unreachable: datetimeoffset is stored as text');
  }
}

/** Type of the array a whole column is passed in; typmods are left to the target column. */
export function elementType(t: ColumnType): string {
  if (temporalAsText(t) !== null) return 'text';
  switch (t.kind) {
    case 'float32':
    case 'float64':
      return 'float8';
    case 'decimal':
      return 'numeric';
    case 'string':
      return ddlType(t).startsWith('char(') ? 'bpchar' : 'text';
    case 'xml':
      return 'text';
    case 'time':
      return 'time';
    case 'timestamp':
      return 'timestamp';
    default:
      return ddlType(t);
  }
}

/** Canonical value -> PostgreSQL input text (null for SQL NULL). */
export function toPgText(col: ColumnMeta, v: Value | undefined): string | null {
  if (v === null || v === undefined) return null;
  if (Buffer.isBuffer(v)) return `\\x${v.toString('hex')}`;
  if (typeof v === 'boolean') return v ? 't' : 'f';
  if (Object.is(v, -0)) return '-0'; // String(-0) is "0": the sign of a float zero would be lost
  return String(v);
}

/** PostgreSQL output text (TimeZone UTC, DateStyle ISO, extra_float_digits 3) -> canonical value. */
export function fromPgText(t: ColumnType, s: string | null): Value {
  if (s === null) return null;
  if (temporalAsText(t) !== null) return s;
  switch (t.kind) {
    case 'boolean':
      return s === 't';
    case 'int16':
    case 'int32':
    case 'float64':
      return Number(s);
    case 'float32':
      // the shortest decimal of a real, as a double, is near the float: fround gives it exactly
      return Math.fround(Number(s));
    case 'int64':
      return BigInt(s);
    case 'bytes':
      return Buffer.from(s.slice(2), 'hex');
    case 'time':
      return fixFraction(s, t.precision);
    case 'timestamp':
      return fixFraction(s.replace(' ', 'T'), t.precision);
    case 'timestamptz':
      return s.endsWith('+00') ? `${fixFraction(s.slice(0, -3).replace(' ', 'T'), t.precision)}Z` : s;
    default:
      return s;
  }
}

function quoteElement(s: string): string {
  return QUOTE_NEEDED.test(s) ? `"${s.replace(/[\\"]/g, '\\$&')}"` : `"${s}"`;
}
const QUOTE_NEEDED = /["\\]/;

/**
 * The array literal of one column of `rows`, built in one pass (the hot path of every upsert).
 * Strings are always quoted: a malformed value must never be able to shift elements between rows.
 */
export function columnLiteral(col: ColumnMeta, rows: readonly Row[]): string {
  const name = col.name;
  let out = '{';
  for (let i = 0; i < rows.length; i++) {
    const v = rows[i][name];
    if (i > 0) out += ',';
    if (v === null || v === undefined) out += 'NULL';
    else if (typeof v === 'string') out += quoteElement(v);
    else if (typeof v === 'bigint') out += v.toString();
    else if (typeof v === 'number') out += Object.is(v, -0) ? '-0' : String(v);
    else if (typeof v === 'boolean') out += v ? 't' : 'f';
    else out += `"\\\\x${v.toString('hex')}"`;
  }
  return out + '}';
}

const PG_INT_BYTES: Record<string, number> = { smallint: 2, int2: 2, integer: 4, int: 4, int4: 4, bigint: 8, int8: 8 };

/**
 * A PostgreSQL type as format_type() prints it (`character varying(20)`, `timestamp(3) without time
 * zone`, `numeric(12,2)`) or as ddlType writes it (`varchar(20)`, `timestamp(3)`), as a NativeType
 * (src/standby/column-change.ts). Families: int, float, decimal, varchar (text is unbounded),
 * char, time, timestamp, timestamptz; other types are their own family.
 */
export function parsePgType(text: string): NativeType {
  const t = text.trim().toLowerCase().replace(/\s+/g, ' ');
  const m = /^([a-z][a-z ]*?)\s*(?:\((\d+)(?:,\s*(\d+))?\))?( with(?:out)? time zone)?$/.exec(t);
  if (!m) return { text, family: t };
  const [, name, a, b, zone] = m;
  const n = a === undefined ? undefined : Number(a);
  if (name in PG_INT_BYTES) return { text, family: 'int', size: PG_INT_BYTES[name] };
  switch (name) {
    case 'real':
    case 'float4':
      return { text, family: 'float', size: 4 };
    case 'double precision':
    case 'float8':
      return { text, family: 'float', size: 8 };
    case 'numeric':
    case 'decimal':
      if (n === undefined) return { text, family: 'decimal', size: Infinity, scale: Infinity };
      return { text, family: 'decimal', size: n - Number(b ?? 0), scale: Number(b ?? 0) };
    case 'character varying':
    case 'varchar':
      return { text, family: 'varchar', size: n ?? Infinity };
    case 'text':
      return { text, family: 'varchar', size: Infinity };
    case 'character':
    case 'char':
    case 'bpchar':
      return { text, family: 'char', size: n ?? 1 };
    case 'time':
      return { text, family: zone === ' with time zone' ? 'timetz' : 'time', size: n ?? 6 };
    case 'timestamp':
      return { text, family: zone === ' with time zone' ? 'timestamptz' : 'timestamp', size: n ?? 6 };
    case 'timestamptz':
      return { text, family: 'timestamptz', size: n ?? 6 };
    default:
      return { text, family: name };
  }
}
