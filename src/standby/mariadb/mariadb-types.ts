// ColumnType <-> MariaDB: DDL types, SQL literals for the canonical values, and the conversion of
// what mysql2 returns (supportBigNumbers + bigNumberStrings + dateStrings) back to canonical.
//
// Choices, all lossless:
// - float32 and float64 -> DOUBLE: MariaDB prints FLOAT with 6 significant digits (16777217 reads
//   back as 16777200), and a double holds any float32 exactly.
// - decimal(p,s) -> DECIMAL(p,s) up to MariaDB's limits (p <= 65, s <= 30); beyond that, an error.
// - Text is utf8mb4 with collation utf8mb4_nopad_bin: binary comparison, and no PAD SPACE, so keys
//   'a' and 'a ' stay two rows, as at the source.
// - string(n) -> VARCHAR(n) when n <= 255 (or the column is in the key), else LONGTEXT, because
//   VARCHAR widths count against InnoDB's 65535-byte row limit (4 bytes per utf8mb4 character).
//   Key strings are VARCHAR(min(n, 768)): InnoDB keys hold 3072 bytes; a longer key value is refused
//   with an error, never truncated (STRICT_ALL_TABLES).
// - bytes -> VARBINARY(n) when n <= 255 or a key column (at most 3072), else LONGBLOB.
// - uuid -> CHAR(36) ascii (also works on MySQL, which has no UUID type); json and xml -> LONGTEXT.
// - time(p<=6) -> TIME(p); timestamp(p<=6) -> DATETIME(p); timestamptz(p<=6) -> DATETIME(p) holding
//   UTC (the session time_zone is +00:00).
// - precision 7 (time, timestamp, timestamptz) and every datetimeoffset -> VARCHAR ascii holding
//   the canonical string; fixed width, so it sorts in time order.
import type { ColumnMeta, ColumnType, Value } from '../../core/model.ts';
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
      if (!Number.isFinite(v)) throw new Error(`MariaDB cannot store ${v}`);
      return Object.is(v, -0) ? '-0e0' : String(v);
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
    case 'float32':
    case 'float64':
      return Number(v);
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
