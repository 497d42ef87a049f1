// MariaDB for verify (a standby): the same canonical texts as PostgreSQL's (engines/README.md),
// computed by MariaDB's own functions, and the ctrelay_state version read in the same snapshot.
import mysql from 'mysql2/promise';
import { ConfigError } from '../../core/errors.ts';
import type { TableRef } from '../../core/model.ts';
import { redactUrl } from '../../core/redact.ts';
import { quoteIdent } from '../../standby/mariadb/mariadb-types.ts';
import type { VerifySide, VerifyTable } from '../side.ts';
import { SqlSnapshot, type EngineSql, type Query } from './sql-side.ts';
import { sideFailure } from './side-errors.ts';

const MANTISSA = '4503599627370496';
/**
 * IEEE-754 bits of a double as 16 hex digits, equal to PostgreSQL's float8send: MariaDB has no
 * such function, so exponent and mantissa are computed (exactly: powers of two scale doubles
 * without rounding); subnormals and zero have their own branches.
 */
function floatBits(x: string): string {
  const a = `ABS(${x})`;
  const e = `LEAST(GREATEST(FLOOR(LOG2(${a})), -1022), 1023)`;
  const m = `(${a} / POW(2, ${e}))`;
  const normal =
    `CASE WHEN ${m} >= 2 THEN ((${e} + 1024) << 52) | CAST((${m} / 2 - 1) * ${MANTISSA} AS UNSIGNED) ` +
    `WHEN ${m} < 1 THEN ((${e} + 1022) << 52) | CAST((${m} * 2 - 1) * ${MANTISSA} AS UNSIGNED) ` +
    `ELSE ((${e} + 1023) << 52) | CAST((${m} - 1) * ${MANTISSA} AS UNSIGNED) END`;
  const sign = `IF(${x} < 0, 9223372036854775808, 0)`;
  return (
    `CASE WHEN ${x} IS NULL THEN NULL WHEN ${x} = 0 THEN '0000000000000000' ` +
    `ELSE LOWER(LPAD(HEX(${sign} | IF(${a} < 2.2250738585072014E-308, CAST(${a} * POW(2, 1022) * ${MANTISSA} AS UNSIGNED), ${normal})), 16, '0')) END`
  );
}

const chr = (e: string) => `CAST(${e} AS CHAR)`;

export const mariadbSql: EngineSql = {
  quote: quoteIdent,
  table: (t) => `${quoteIdent(t.schema)}.${quoteIdent(t.table)}`,
  canonical(col, c) {
    switch (c.type.kind) {
      case 'float32': return floatBits(`CAST(${col} AS DOUBLE)`);
      case 'float64': return floatBits(col);
      case 'bytes': return `LOWER(HEX(${col}))`;
      case 'date': return chr(`TO_DAYS(${col}) - 719528`);
      case 'time': return chr(`CAST(TIME_TO_SEC(${col}) * 1000000 AS SIGNED)`);
      case 'timestamp': case 'timestamptz': return chr(`TIMESTAMPDIFF(MICROSECOND, '1970-01-01', ${col})`);
      // CHAR(n) (or the text holding a long char(n)) without its padding, as PostgreSQL's bpchar::text
      case 'string': return c.type.fixedLength ? `RTRIM(${col})` : col;
      case 'json': case 'xml': case 'uuid': return col;
      default: return chr(col);
    }
  },
  keyText(col, c) {
    switch (c.type.kind) {
      case 'bytes': return `LOWER(HEX(${col}))`;
      case 'date': return `DATE_FORMAT(${col}, '%Y-%m-%d')`;
      case 'time': return `TIME_FORMAT(${col}, '%H:%i:%s.%f')`;
      case 'timestamp': case 'timestamptz': return `DATE_FORMAT(${col}, '%Y-%m-%d %H:%i:%s.%f')`;
      case 'float32': case 'float64': throw new ConfigError(`verify: key column ${c.name} is a floating-point number, which verify cannot page by`);
      case 'string': case 'uuid': return col;
      default: return chr(col);
    }
  },
  keyParam(_i, c) {
    switch (c.type.kind) {
      case 'boolean': case 'int16': case 'int32': case 'int64': return 'CAST(? AS SIGNED)';
      case 'decimal': return `CAST(? AS DECIMAL(65, ${Math.min(c.type.scale, 30)}))`;
      case 'bytes': return 'UNHEX(?)';
      case 'date': return 'CAST(? AS DATE)';
      case 'time': return 'CAST(? AS TIME(6))';
      case 'timestamp': case 'timestamptz': return 'CAST(? AS DATETIME(6))';
      default: return '?';
    }
  },
  orderTerm: (col) => col,
  // MariaDB does not range-optimise row-constructor inequalities: spelled out per column
  // (a > x OR (a = x AND b > y)), which it does
  tupleCompare(l, op, param) {
    const strict = op === '>' ? '>' : '<';
    const alts = l.map((_c, j) => {
      const eqs = l.slice(0, j).map((c, i) => `${c} = ${param(i)}`);
      return `(${[...eqs, `${l[j]} ${j === l.length - 1 ? op : strict} ${param(j)}`].join(' AND ')})`;
    });
    return alts.length === 1 ? alts[0] : `(${alts.join(' OR ')})`;
  },
  aggregate: (h) => `CAST(COUNT(*) AS CHAR), CAST(COALESCE(SUM(${h}), 0) AS CHAR)`,
  rowHash: (cs) => `CAST(CONV(LEFT(MD5(CONCAT_WS(',', ${cs.map((c) => `COALESCE(${c}, 'N')`).join(', ')})), 16), 16, -10) AS SIGNED)`,
  lengthPrefixed: (e) => `CONCAT(LENGTH(${e}), ':', ${e})`,
  limitOffset: (limit, offset) => `LIMIT ${limit} OFFSET ${offset}`,
};

const EXISTS = (t: TableRef) => ({ sql: 'SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?', params: [t.schema, t.table] });

export class MariaDbStandbySide implements VerifySide {
  private readonly pool: mysql.Pool;
  private readonly stateDb: string;

  constructor(url: string, readonly name: string, private readonly locate: (t: VerifyTable) => TableRef, private readonly sourceId: string) {
    this.pool = mysql.createPool({ uri: url, supportBigNumbers: true, bigNumberStrings: true, dateStrings: true, decimalNumbers: false, charset: 'utf8mb4', connectionLimit: 4 });
    let db = '';
    try {
      db = decodeURIComponent(new URL(url).pathname.replace(/^\//, ''));
    } catch {
      throw new ConfigError(`standby.url: not a URL (${redactUrl(url)})`);
    }
    this.stateDb = db || 'ctrelay';
  }

  async snapshot(): Promise<SqlSnapshot> {
    let conn: mysql.PoolConnection;
    try {
      conn = await this.pool.getConnection();
    } catch (err) {
      throw sideFailure(this.name, err);
    }
    const query: Query = async (sql, params) => {
      try {
        const [rows] = await conn.query({ sql, values: [...params], rowsAsArray: true });
        // SET and START TRANSACTION answer with a result header, not rows
        if (!Array.isArray(rows)) return [];
        return (rows as unknown[][]).map((r) => r.map((v) => (v === null ? null : Buffer.isBuffer(v) ? v.toString('utf8') : String(v))));
      } catch (err) {
        throw sideFailure(this.name, err);
      }
    };
    const done = async () => {
      await conn.query('ROLLBACK').catch(() => undefined);
      conn.release();
    };
    try {
      await query('SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ', []);
      await query('START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY', []);
      const state = { schema: this.stateDb, table: 'ctrelay_state' };
      const has = await query(EXISTS(state).sql, EXISTS(state).params);
      const rows = has.length === 0 ? [] : await query(`SELECT CAST(version AS CHAR) FROM ${mariadbSql.table(state)} WHERE source_id = ?`, [this.sourceId]);
      const version = rows.length === 0 ? -1n : BigInt(rows[0][0]!);
      return new SqlSnapshot(mariadbSql, query, version, this.locate, EXISTS, done);
    } catch (err) {
      await done();
      throw err;
    }
  }

  close(): Promise<void> {
    return this.pool.end();
  }
}
