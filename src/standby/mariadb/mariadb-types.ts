// ColumnType <-> MariaDB: DDL types, SQL literals for the canonical values, and the conversion of
// what mysql2 returns (supportBigNumbers + bigNumberStrings + dateStrings) back to canonical.
//
// Choices, all exact, the source's type where MariaDB has it:
// - float32 -> FLOAT, float64 -> DOUBLE. MariaDB prints a FLOAT with 6 significant digits
//   (16777216 as 16777200), so reads select CAST(col AS DOUBLE), whose text is the float's exact
//   value. NaN, +-Infinity and -0 cannot be stored (MariaDB refuses the first ones and reads -0 back
//   as 0): writing one is an error that names the standby's textColumns and excludeColumns options.
// - decimal(p,s) -> DECIMAL(p,s) up to MariaDB's limits (p <= 65, s <= 30); beyond that, an error.
// - Text is utf8mb4 with collation utf8mb4_nopad_bin: binary comparison, and no PAD SPACE, so keys
//   'a' and 'a ' stay two rows, as at the source.
// - string(n) -> VARCHAR(n) when n <= 255 (or the column is in the key), else LONGTEXT, because
//   VARCHAR widths count against InnoDB's 65535-byte row limit (4 bytes per utf8mb4 character).
//   Fixed length n <= 255 -> CHAR(n), holding the padded canonical value: MariaDB strips CHAR's
//   trailing spaces on read, and compares a stored CHAR with its padding stripped under the NO PAD
//   collation, unless sql_mode PAD_CHAR_TO_FULL_LENGTH, which every session of the dialect sets.
//   Key strings are VARCHAR(min(n, 768)): InnoDB keys hold 3072 bytes; a longer key value is refused
//   with an error, never truncated (STRICT_ALL_TABLES).
// - bytes -> VARBINARY(n) when n <= 255 or a key column (at most 3072), else LONGBLOB.
// - uuid -> CHAR(36) ascii (also works on MySQL, which has no UUID type); json and xml -> LONGTEXT.
// - time(p<=6) -> TIME(p); timestamp(p<=6) -> DATETIME(p); timestamptz(p<=6) -> DATETIME(p) holding
//   UTC (the session time_zone is +00:00).
// - precision 7 (time, timestamp, timestamptz) and every datetimeoffset -> VARCHAR ascii holding
//   the canonical string; fixed width, so it sorts in time order.
import type { ColumnMeta, ColumnType, Value } from '../../core/model.ts';
import type { NativeType } from '../column-change.ts';
import { fixFraction, temporalTextWidth } from '../temporal-text.ts';

const UTF8 = 'CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin';
const ASCII = 'CHARACTER SET ascii COLLATE ascii_bin';
export const MARIADB_MAX_KEY_CHARS = 768;
export const MARIADB_MAX_KEY_BYTES = 3072;
const SHORT = 255;

export function quoteIdent(name: string): string {
  return `\`${name.replace(/`/g, '``')}\``;
}

/** Width of the canonical string for temporal kinds MariaDB cannot hold natively, else null. */
const temporalAsText = (t: ColumnType): number | null => temporalTextWidth(t, 6);

/** Throws a plain Error with the reason when MariaDB cannot hold the type; the caller names the column. */
export function ddlType(t: ColumnType, inKey: boolean): string {
  const asText = temporalAsText(t);
  if (asText !== null) return `VARCHAR(${asText}) ${ASCII}`;
  switch (t.kind) {
    case 'boolean':
      return 'TINYINT(1)';
    case 'int16':
      return 'SMALLINT';
    case 'int32':
      return 'INT';
    case 'int64':
      return 'BIGINT';
    case 'float32':
      return 'FLOAT';
    case 'float64':
      return 'DOUBLE';
    case 'decimal':
      if (!(t.precision > 0 && t.precision <= 65 && t.scale >= 0 && t.scale <= 30 && t.scale <= t.precision)) {
        throw new Error(
          `decimal(${t.precision},${t.scale}) does not fit MariaDB DECIMAL (precision 1..65, scale 0..30); exclude the column or use another standby`,
        );
      }
      return `DECIMAL(${t.precision},${t.scale})`;
    case 'string': {
      const n = t.maxLength && t.maxLength > 0 ? t.maxLength : undefined;
      if (t.fixedLength && n !== undefined && n <= SHORT) return `CHAR(${n}) ${UTF8}`;
      if (inKey) return `VARCHAR(${Math.min(n ?? MARIADB_MAX_KEY_CHARS, MARIADB_MAX_KEY_CHARS)}) ${UTF8}`;
      return n !== undefined && n <= SHORT ? `VARCHAR(${n}) ${UTF8}` : `LONGTEXT ${UTF8}`;
    }
    case 'json':
    case 'xml':
      return `LONGTEXT ${UTF8}`;
    case 'bytes': {
      const n = t.maxLength && t.maxLength > 0 ? t.maxLength : undefined;
      if (inKey) return `VARBINARY(${Math.min(n ?? MARIADB_MAX_KEY_BYTES, MARIADB_MAX_KEY_BYTES)})`;
      return n !== undefined && n <= SHORT ? `VARBINARY(${n})` : 'LONGBLOB';
    }
    case 'uuid':
      return `CHAR(36) ${ASCII}`;
    case 'date':
      return 'DATE';
    case 'time':
      return `TIME(${t.precision})`;
    case 'timestamp':
    case 'timestamptz':
      return `DATETIME(${t.precision})`;
    case 'datetimeoffset':
      throw new Error('unreachable: datetimeoffset is stored as text');
  }
}

// The characters MariaDB's string literal syntax needs escaped (same set as sqlstring); the
// session never enables NO_BACKSLASH_ESCAPES.
const ESCAPES: Record<string, string> = {
  '\0': '\\0', '\b': '\\b', '\t': '\\t', '\n': '\\n', '\r': '\\r', '\x1a': '\\Z', '"': '\\"', "'": "\\'", '\\': '\\\\',
};

export function stringLiteral(s: string): string {
  return `'${s.replace(/[\0\b\t\n\r\x1a"'\\]/g, (c) => ESCAPES[c])}'`;
}

/** A float MariaDB cannot store: NaN and +-Infinity are refused, -0 would read back as 0. */
export class UnstorableFloatError extends Error {
  constructor(readonly value: number) {
    super(`MariaDB cannot store the float value ${Object.is(value, -0) ? '-0' : String(value)}${Object.is(value, -0) ? ' (it reads -0 back as 0)' : ''}`);
  }
}

/** Canonical value -> SQL literal. Throws a plain Error for a value MariaDB cannot store. */
export function toLiteral(col: ColumnMeta, v: Value | undefined): string {
  if (v === null || v === undefined) return 'NULL';
  if (Buffer.isBuffer(v)) return `X'${v.toString('hex')}'`;
  switch (typeof v) {
    case 'boolean':
      return v ? '1' : '0';
    case 'bigint':
      return v.toString();
    case 'number':
      if (!Number.isFinite(v) || Object.is(v, -0)) throw new UnstorableFloatError(v);
      return String(v);
  }
  const t = col.type;
  if (temporalAsText(t) === null) {
    if (t.kind === 'timestamp') return stringLiteral(v.replace('T', ' '));
    if (t.kind === 'timestamptz') return stringLiteral(v.replace('T', ' ').replace(/Z$/, ''));
  }
  return stringLiteral(v);
}

/** What mysql2 returned -> canonical value. */
export function fromMaria(t: ColumnType, v: unknown): Value {
  if (v === null || v === undefined) return null;
  if (temporalAsText(t) !== null) return String(v);
  switch (t.kind) {
    case 'boolean':
      return Number(v) !== 0;
    case 'int16':
    case 'int32':
    case 'float64':
      return Number(v);
    case 'float32':
      // read as CAST(... AS DOUBLE) (scanStatement): the float's exact value
      return Math.fround(Number(v));
    case 'int64':
      return BigInt(v as string);
    case 'bytes':
      return Buffer.isBuffer(v) ? v : Buffer.from(String(v), 'binary');
    case 'time':
      return fixFraction(String(v), t.precision);
    case 'timestamp':
      return fixFraction(String(v).replace(' ', 'T'), t.precision);
    case 'timestamptz':
      return `${fixFraction(String(v).replace(' ', 'T'), t.precision)}Z`;
    default:
      return Buffer.isBuffer(v) ? v.toString('utf8') : String(v);
  }
}

const MARIA_INT_BYTES: Record<string, number> = { tinyint: 1, smallint: 2, mediumint: 3, int: 4, integer: 4, bigint: 8 };
/** characters of the text types (bytes / 4 for utf8mb4; exact enough to order them) and bytes of the blobs */
const MARIA_TEXT_CHARS: Record<string, number> = { tinytext: 63, text: 16383, mediumtext: 4194303, longtext: Infinity };
const MARIA_BLOB_BYTES: Record<string, number> = { tinyblob: 255, blob: 65535, mediumblob: 16777215, longblob: Infinity };

/**
 * A MariaDB column type as information_schema's COLUMN_TYPE plus CHARACTER SET prints it
 * (`varchar(20) CHARACTER SET utf8mb4`, `int(11)`, `decimal(12,2)`) or as ddlType writes it
 * (`VARCHAR(20) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin`), as a NativeType
 * (src/standby/column-change.ts). Strings widen within one character set only (VARCHAR and the
 * TEXT types are one family, CHAR another); TINYINT(1) is ctrelay's boolean, not an integer.
 */
export function parseMariaType(text: string): NativeType {
  const t = text.trim().toLowerCase().replace(/\s+/g, ' ');
  const m = /^([a-z]+)(?:\((\d+)(?:,(\d+))?\))?( unsigned)?( zerofill)?(?: character set ([a-z0-9_]+))?/.exec(t);
  if (!m) return { text, family: t };
  const [, name, a, b, unsigned, , charset] = m;
  const n = a === undefined ? undefined : Number(a);
  const cs = charset ?? '';
  if (name === 'tinyint' && n === 1 && !unsigned) return { text, family: 'boolean' };
  if (name in MARIA_INT_BYTES) return { text, family: unsigned ? 'uint' : 'int', size: MARIA_INT_BYTES[name] };
  if (name in MARIA_TEXT_CHARS) return { text, family: `varchar:${cs}`, size: MARIA_TEXT_CHARS[name] };
  if (name in MARIA_BLOB_BYTES) return { text, family: 'varbinary', size: MARIA_BLOB_BYTES[name] };
  switch (name) {
    case 'float':
      return { text, family: 'float', size: 4 };
    case 'double':
    case 'real':
      return { text, family: 'float', size: 8 };
    case 'decimal':
    case 'numeric':
      return { text, family: 'decimal', size: (n ?? 10) - Number(b ?? 0), scale: Number(b ?? 0) };
    case 'varchar':
      return { text, family: `varchar:${cs}`, size: n ?? 0 };
    case 'char':
      return { text, family: `char:${cs}`, size: n ?? 1 };
    case 'varbinary':
      return { text, family: 'varbinary', size: n ?? 0 };
    case 'binary':
      return { text, family: 'binary', size: n ?? 1 };
    case 'time':
    case 'datetime':
    case 'timestamp':
      return { text, family: name, size: n ?? 0 };
    default:
      return { text, family: name };
  }
}
