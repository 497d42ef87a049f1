// SQL Server's canonical texts for verify (engines/README.md): the same texts as PostgreSQL's and
// MariaDB's, computed by SQL Server's own functions. The sides that run them are in sqlserver.ts.
//
// Written against Microsoft's documentation ("CAST and CONVERT", "HASHBYTES", "DATEDIFF_BIG",
// "Collation and Unicode support" (UTF-8 collations, SQL Server 2019+)) and unit-tested on the
// statement text only: NOT RUN YET against a SQL Server.
//
// Hashing: HASHBYTES('MD5', nvarchar) would hash UTF-16LE, so every text is hashed as a UTF-8 varchar
// (utf8 below: to nvarchar first, so no code page of a varchar column or of the database loses a
// character, then COLLATE a UTF-8 collation, then to varchar).
import { ConfigError } from '../../core/errors.ts';
import type { ColumnMeta } from '../../core/model.ts';
import { quoteIdent, quoteQualified } from '../../drivers/sqlserver/quote.ts';
import { baseName, castTypeOf } from '../../drivers/sqlserver/reads.ts';
import { ddlType } from '../../standby/sqlserver/sqlserver-types.ts';
import type { EngineSql } from './sql-side.ts';

/** A UTF-8 collation (SQL Server 2019+): converting to varchar under it gives UTF-8 bytes. */
export const UTF8_COLLATION = 'Latin1_General_100_BIN2_UTF8';
/** Binary comparison of the hex forms that give text, bytes and uuids their common key order. */
const BIN2 = 'Latin1_General_100_BIN2';

/** A text as UTF-8 varchar(max) (NULL stays NULL). */
export const utf8 = (e: string) => `CAST(CAST(${e} AS nvarchar(max)) COLLATE ${UTF8_COLLATION} AS varchar(max))`;
const num = (e: string) => `CAST(${e} AS varchar(40))`;
/** upper-case hex of binary data, compared byte by byte (hex digits sort as the nibbles they stand for) */
const hexOf = (bin: string) => `CONVERT(varchar(max), ${bin}, 2) COLLATE ${BIN2}`;
const lowerHex = (e: string) => `LOWER(CONVERT(varchar(max), CAST(${e} AS varbinary(max)), 2))`;
const uuidText = (e: string) => `LOWER(CAST(${e} AS char(36)))`;
/** fractional digits of key texts: 6 as on every engine, 7 for the 100 ns types only SQL Server holds natively */
const keyDigits = (precision: number) => (precision === 7 ? 7 : 6);

/**
 * IEEE-754 bits of the double, big-endian (CAST(float AS binary(8))), as 16 lower-case hex digits;
 * -0 as 0, as PostgreSQL's `+ 0` and MariaDB (SQL Server's float holds neither NaN nor infinities).
 */
const floatBits = (x: string) => `CASE WHEN ${x} = 0 THEN '0000000000000000' ELSE LOWER(CONVERT(varchar(16), CAST(${x} AS binary(8)), 2)) END`;
/** microseconds since 1970-01-01 of a datetime2; DATEDIFF_BIG counts boundaries crossed, so 100 ns ticks are floored */
const micros = (datetime2: string) => num(`DATEDIFF_BIG(microsecond, CAST('1970-01-01' AS datetime2(7)), ${datetime2})`);
const utcOf = (offsetted: string, precision: number) => `CAST(SWITCHOFFSET(${offsetted}, '+00:00') AS datetime2(${precision}))`;

/** A column's value as nvarchar text (hierarchyid through its ToString form, which CAST to nvarchar(4000) is). */
function stringText(col: string, c: ColumnMeta): string {
  const text = baseName(c.sourceType) === 'hierarchyid' ? `CAST(${col} AS nvarchar(4000))` : `CAST(${col} AS nvarchar(max))`;
  // char(n) without its padding, as PostgreSQL's bpchar::text; RTRIM removes spaces only
  return `${c.type.kind === 'string' && c.type.fixedLength ? `RTRIM(${text})` : text} COLLATE ${BIN2}`;
}

/** ISO text of a datetimeoffset as ctrelay's canonical value: style 121 `YYYY-MM-DD hh:mm:ss.f +hh:mm` -> `YYYY-MM-DDThh:mm:ss.f+hh:mm` */
const offsetText = (col: string) => `STUFF(REPLACE(REPLACE(CONVERT(varchar(40), ${col}, 121), ' +', '+'), ' -', '-'), 11, 1, 'T')`;

/** How a key column is ordered and compared in the common key order, by the SQL Server type it is cast to. */
type KeyForm = 'native' | 'text' | 'fixedText' | 'hierarchy' | 'bytes' | 'uuid';

function keyFormOf(typeName: string): KeyForm {
  const t = typeName.toLowerCase();
  if (t === 'uniqueidentifier') return 'uuid';
  if (t === 'char' || t === 'nchar') return 'fixedText';
  if (t === 'hierarchyid') return 'hierarchy';
  if (['varchar', 'nvarchar', 'sysname', 'text', 'ntext'].includes(t)) return 'text';
  if (['binary', 'varbinary', 'image', 'rowversion', 'timestamp'].includes(t)) return 'bytes';
  return 'native';
}

/**
 * The expression a key column orders and compares by: numbers, dates and times natively (so the
 * primary key's index serves the range); text by the hex of its UTF-8 bytes, bytes by their hex and
 * uuids by their lower-case text, compared binary. SQL Server compares strings with trailing-space
 * padding and varbinary with trailing-0x00 padding, and orders uniqueidentifier by its last bytes
 * first: none of that is the common order, the hex forms are (at the cost of a scan per chunk).
 */
function keyOrder(x: string, form: KeyForm): string {
  switch (form) {
    case 'text': return hexOf(`CAST(${utf8(x)} AS varbinary(max))`);
    case 'fixedText': return hexOf(`CAST(${utf8(`RTRIM(CAST(${x} AS nvarchar(max)))`)} AS varbinary(max))`);
    case 'hierarchy': return hexOf(`CAST(${utf8(`CAST(${x} AS nvarchar(4000))`)} AS varbinary(max))`);
    case 'bytes': return hexOf(`CAST(${x} AS varbinary(max))`);
    case 'uuid': return `${uuidText(x)} COLLATE ${BIN2}`;
    case 'native': return x;
  }
}

/** The type name a keyParam casts to: `CAST(@p3 AS nvarchar(450))`, `CONVERT(varbinary(900), @p3, 2)`. */
function paramTypeName(param: string): string {
  const m = /^(?:CAST\(@p\d+ AS |CONVERT\()([A-Za-z0-9_]+)/.exec(param);
  return m ? m[1] : '';
}

const firstTypeName = (type: string) => /^[A-Za-z0-9_]+/.exec(type)?.[0] ?? type;

/** The canonical text of a column's value (engines/README.md); NULL stays NULL. */
function canonical(col: string, c: ColumnMeta): string {
  const t = c.type;
  switch (t.kind) {
    case 'boolean': case 'int16': case 'int32': case 'int64': return num(col);
    // exactly s decimals (decimal's text keeps its scale); money through decimal(19,4) as capture reads it
    case 'decimal': return t.precision >= 1 && t.precision <= 38 ? num(`CAST(${col} AS decimal(${t.precision},${t.scale}))`) : num(col);
    case 'float32': case 'float64': return floatBits(`CAST(${col} AS float)`);
    case 'bytes': return lowerHex(col);
    case 'uuid': return uuidText(col);
    case 'date': return num(`DATEDIFF(day, CAST('1970-01-01' AS date), ${col})`);
    case 'time': return num(`DATEDIFF_BIG(microsecond, CAST('00:00:00' AS time(7)), ${col})`);
    // to the type's precision first: a datetime (1/300 s) is read by capture as its 3-digit text
    case 'timestamp': return micros(`CAST(${col} AS datetime2(${t.precision}))`);
    case 'timestamptz': return micros(utcOf(col, t.precision));
    // PostgreSQL and MariaDB standbys hold a datetimeoffset as this text
    case 'datetimeoffset': return offsetText(col);
    case 'string': case 'json': case 'xml': return stringText(col, c);
  }
}

/**
 * The dialect, over the SQL Server type each key column has on this side (`castType`): the
 * source's own column types, or the types the applier creates on a standby.
 */
export function sqlserverEngine(castType: (c: ColumnMeta) => string): EngineSql {
  return {
    quote: quoteIdent,
    table: (t) => quoteQualified(t.schema, t.table),
    canonical,
    keyText(col, c) {
      const t = c.type;
      switch (t.kind) {
        case 'bytes': return lowerHex(col);
        case 'date': return `CONVERT(varchar(10), ${col}, 23)`;
        case 'time': return `CONVERT(varchar(16), CAST(${col} AS time(${keyDigits(t.precision)})), 121)`;
        case 'timestamp': return `CONVERT(varchar(27), CAST(CAST(${col} AS datetime2(${t.precision})) AS datetime2(${keyDigits(t.precision)})), 121)`;
        case 'timestamptz': return `CONVERT(varchar(27), ${utcOf(col, keyDigits(t.precision))}, 121)`;
        case 'float32': case 'float64': throw new ConfigError(`verify: key column ${c.name} is a floating-point number, which verify cannot page by`);
        default: return canonical(col, c);
      }
    },
    keyParam(i, c) {
      const p = `@p${i}`;
      const type = castType(c);
      switch (c.type.kind) {
        case 'bytes': return `CONVERT(${type}, ${p}, 2)`;
        // via datetime2(7): a datetime or smalldatetime cannot parse 6 fractional digits
        case 'timestamp': case 'timestamptz': return `CAST(CAST(${p} AS datetime2(7)) AS ${type})`;
        default: return `CAST(${p} AS ${type})`;
      }
    },
    orderTerm: (col, c) => keyOrder(col, keyFormOf(firstTypeName(castType(c)))),
    // no row-value comparison in T-SQL: (a > x OR (a = x AND b > y)), each placeholder used once per
    // column, with `a >= x` in front so that a native leading column still seeks
    tupleCompare(l, op, param) {
      const r = l.map((_x, j) => param(j));
      const forms = r.map((p) => keyFormOf(paramTypeName(p)));
      const lf = l.map((x, j) => keyOrder(x, forms[j]));
      const rf = r.map((p, j) => keyOrder(p, forms[j]));
      const strict = op === '>' ? '>' : '<';
      const alts = l.map((_x, j) => [...lf.slice(0, j).map((x, i) => `${x} = ${rf[i]}`), `${lf[j]} ${j === l.length - 1 ? op : strict} ${rf[j]}`].join(' AND '));
      if (alts.length === 1) return `(${alts[0]})`;
      return `(${lf[0]} ${op === '>' ? '>=' : '<='} ${rf[0]} AND (${alts.map((a) => `(${a})`).join(' OR ')}))`;
    },
    // the sum of 64-bit hashes overflows bigint: summed as decimal(38,0)
    aggregate: (h) => `CAST(COUNT_BIG(*) AS varchar(20)), CAST(COALESCE(SUM(CAST(${h} AS decimal(38,0))), 0) AS varchar(40))`,
    // `+`, not CONCAT_WS (2..254 arguments, and CONCAT truncates to 8000 without a max argument);
    // binary -> bigint reads the bytes big-endian, as PostgreSQL's bit(64)::bigint
    rowHash: (cs) =>
      `CAST(SUBSTRING(HASHBYTES('MD5', ${utf8(`CAST(N'' AS nvarchar(max)) + ${cs.map((c) => `COALESCE(${c}, N'N')`).join(` + N',' + `)}`)}), 1, 8) AS bigint)`,
    lengthPrefixed: (e) => `CAST(DATALENGTH(${utf8(e)}) AS varchar(20)) + ':' + ${e}`,
    // SqlSnapshot always orders before paging, which OFFSET ... FETCH requires
    limitOffset: (limit, offset) => `OFFSET ${offset} ROWS FETCH NEXT ${limit} ROWS ONLY`,
  };
}

/** A standby: key columns have the types the applier creates (sqlserver-types.ts ddlType). */
export const sqlserverSql = sqlserverEngine((c) => ddlType(c.type, true, `verify: key column ${c.name}`));
/** A SQL Server source: key columns have their own catalog types. */
export const sqlserverSourceSql = sqlserverEngine((c) => castTypeOf(c));
