// PostgreSQL for verify: the canonical text of every type (engines/README.md), a standby side whose
// version is the ctrelay_state row read in the same snapshot, and a source side whose version is
// ctrelay's change-tracking version and which knows, from the side tables, which keys changed.
import pg from 'pg';
import type { ColumnMeta, TableRef } from '../../core/model.ts';
import { ConfigError } from '../../core/errors.ts';
import { quoteIdent } from '../../drivers/postgres/quote.ts';
import { keyText, type Key, type SourceSide, type SourceSnapshot, type VerifySide, type VerifyTable } from '../side.ts';
import { SqlSnapshot, type EngineSql, type Query } from './sql-side.ts';
import { sideFailure } from './side-errors.ts';
import { sqlState } from '../../drivers/postgres/errors.ts';
import { beginVersionSnapshot } from '../../sources/postgres/ct-snapshot.ts';

const q = (name: string) => quoteIdent(name);

/** IEEE-754 bits of a double as 16 hex digits; `+ 0` turns -0 into 0, as MariaDB cannot hold -0. */
const floatBits = (x: string) => `encode(float8send(${x} + 0::float8), 'hex')`;
const micros = (x: string) => `(extract(epoch FROM ${x}) * 1000000)::bigint::text`;

export const postgresSql: EngineSql = {
  quote: q,
  table: (t) => `${q(t.schema)}.${q(t.table)}`,
  canonical(col, c) {
    switch (c.type.kind) {
      case 'boolean': return `${col}::int::text`;
      case 'float32': return floatBits(`${col}::float8`);
      case 'float64': return floatBits(col);
      case 'bytes': return `encode(${col}, 'hex')`;
      // infinity has no integer form (only PostgreSQL standbys can hold it)
      case 'date': return `CASE WHEN isfinite(${col}) THEN (${col} - date '1970-01-01')::text ELSE ${col}::text END`;
      case 'time': return micros(col);
      case 'timestamp': case 'timestamptz': return `CASE WHEN isfinite(${col}) THEN ${micros(col)} ELSE ${col}::text END`;
      // xml::text keeps the <?xml?> declaration the type's output (what capture reads) leaves out
      case 'xml': return `CASE WHEN ${col} IS NOT NULL THEN concat(${col}) END`;
      default: return `${col}::text`;
    }
  },
  keyText(col, c) {
    switch (c.type.kind) {
      case 'boolean': return `${col}::int::text`;
      case 'bytes': return `encode(${col}, 'hex')`;
      case 'date': return `to_char(${col}, 'YYYY-MM-DD')`;
      case 'time': return `to_char(${col}, 'HH24:MI:SS.US')`;
      case 'timestamp': return `to_char(${col}, 'YYYY-MM-DD HH24:MI:SS.US')`;
      case 'timestamptz': return `to_char(${col} AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')`;
      case 'float32': case 'float64': throw new ConfigError(`verify: key column ${c.name} is a floating-point number, which verify cannot page by`);
      default: return `${col}::text`;
    }
  },
  keyParam(i, c) {
    const p = `$${i + 1}`;
    switch (c.type.kind) {
      case 'boolean': return `${p}::int::boolean`;
      case 'int16': case 'int32': case 'int64': return `${p}::bigint`;
      case 'decimal': return `${p}::numeric`;
      case 'bytes': return `decode(${p}, 'hex')`;
      case 'uuid': return `${p}::uuid`;
      case 'date': return `${p}::date`;
      case 'time': return `${p}::time`;
      case 'timestamp': return `${p}::timestamp`;
      case 'timestamptz': return `(${p}::timestamp AT TIME ZONE 'UTC')`;
      default: return `${p}::text COLLATE "C"`;
    }
  },
  // text in byte order (COLLATE "C"), as MariaDB's binary collations order it
  orderTerm: (col, c) => (c.type.kind === 'string' ? `${col} COLLATE "C"` : col),
  tupleCompare: (l, op, param) => {
    const r = l.map((_x, j) => param(j));
    return `(${l.map((x, j) => (r[j].includes('COLLATE') ? `${x} COLLATE "C"` : x)).join(', ')}) ${op} (${r.join(', ')})`;
  },
  aggregate: (h) => `count(*)::text, coalesce(sum(${h}), 0)::text`,
  rowHash: (cs) => `('x' || left(md5(concat_ws(',', ${cs.map((c) => `coalesce(${c}, 'N')`).join(', ')})), 16))::bit(64)::bigint`,
  lengthPrefixed: (e) => `octet_length(${e}) || ':' || ${e}`,
  limitOffset: (limit, offset) => `LIMIT ${limit} OFFSET ${offset}`,
};

/** A key column's keyText in PostgreSQL's input form of the column's type (for a key re-snapshot). */
export function pgKeyInput(text: string, c: ColumnMeta): string {
  if (c.type.kind === 'bytes') return `\\x${text}`;
  if (c.type.kind === 'timestamptz') return `${text}+00`;
  return text;
}

const EXISTS = (t: TableRef) => ({ sql: `SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2`, params: [t.schema, t.table] });

function queryOn(c: pg.PoolClient, where: string): Query {
  return async (sql, params) => {
    try {
      return (await c.query({ text: sql, values: [...params], rowMode: 'array' })).rows;
    } catch (err) {
      throw sideFailure(where, err);
    }
  };
}

abstract class PgSide {
  protected readonly pool: pg.Pool;
  constructor(url: string, readonly name: string, protected readonly locate: (t: VerifyTable) => TableRef) {
    this.pool = new pg.Pool({ connectionString: url, max: 4 });
    this.pool.on('error', () => undefined);
  }

  /** A pooled connection with `begin` run on it (null: the caller begins). */
  protected async open(begin: string | null): Promise<{ client: pg.PoolClient; query: Query; done: () => Promise<void> }> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      throw sideFailure(this.name, err);
    }
    const query = queryOn(client, this.name);
    try {
      if (begin !== null) await query(begin, []);
    } catch (err) {
      client.release(true);
      throw err;
    }
    const done = async () => {
      await client.query('ROLLBACK').catch(() => undefined);
      client.release();
    };
    return { client, query, done };
  }

  close(): Promise<void> {
    return this.pool.end();
  }
}

export class PgStandbySide extends PgSide implements VerifySide {
  constructor(url: string, name: string, locate: (t: VerifyTable) => TableRef, private readonly sourceId: string, private readonly stateSchema = 'ctrelay') {
    super(url, name, locate);
  }

  async snapshot(): Promise<SqlSnapshot> {
    const { query, done } = await this.open('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    try {
      const has = await query(`SELECT to_regclass($1)::text`, [`${q(this.stateSchema)}.ctrelay_state`]);
      const rows = has[0][0] === null ? [] : await query(`SELECT version::text FROM ${q(this.stateSchema)}.ctrelay_state WHERE source_id = $1`, [this.sourceId]);
      const version = rows.length === 0 ? -1n : BigInt(rows[0][0]!);
      return new SqlSnapshot(postgresSql, query, version, this.locate, EXISTS, done);
    } catch (err) {
      await done();
      throw err;
    }
  }
}

/** The source: snapshots at ctrelay's change-tracking version, which also answer which keys changed. */
export class PgSourceSide extends PgSide implements SourceSide {
  constructor(url: string) {
    super(url, 'source', (t) => t.source);
  }

  /** a moment of the source: every version at or below its version is in it (ct-snapshot.ts) */
  async snapshot(): Promise<PgSourceSnapshot> {
    const { client, query, done } = await this.open(null);
    let version: bigint;
    try {
      version = await beginVersionSnapshot(client);
    } catch (err) {
      client.release(true);
      throw sideFailure(this.name, err);
    }
    return new PgSourceSnapshot(postgresSql, query, version, this.locate, EXISTS, done);
  }

  /** read committed: a statement after lockKeys sees every change committed before the locks */
  async lockingSnapshot(): Promise<PgSourceSnapshot> {
    const { query, done } = await this.open('BEGIN ISOLATION LEVEL READ COMMITTED');
    try {
      const [[v]] = await query('SELECT ctrelay.current_version()::text', []);
      return new PgSourceSnapshot(postgresSql, query, BigInt(v!), this.locate, EXISTS, done);
    } catch (err) {
      await done();
      throw err;
    }
  }
}

class PgSourceSnapshot extends SqlSnapshot implements SourceSnapshot {
  async estimateRows(t: VerifyTable): Promise<bigint | null> {
    // reltuples is -1 (or 0) for a table never analysed: no estimate then
    const rows = await this.query('SELECT reltuples::bigint::text FROM pg_class WHERE oid = to_regclass($1) AND reltuples > 0', [postgresSql.table(t.source)]);
    return rows.length === 0 ? null : BigInt(rows[0][0]!);
  }

  /** `(k1, k2) IN (VALUES ($1::t1, $2::t2), ...)` over `prefix`-qualified key columns */
  private keyIn(t: VerifyTable, prefix: string, keys: readonly Key[], first: number): { sql: string; params: string[] } {
    const keyCols = t.columns.slice(0, t.keyCount);
    const params: string[] = [];
    const rows = keys.map((k) => {
      const refs = keyCols.map((c, j) => postgresSql.keyParam(first + params.length + j, c).replace(/ COLLATE "C"$/, ''));
      params.push(...k);
      return `(${refs.join(', ')})`;
    });
    return { sql: `(${keyCols.map((c) => `${prefix}${q(c.name)}`).join(', ')}) IN (VALUES ${rows.join(', ')})`, params };
  }

  async changedSince(t: VerifyTable, since: bigint, keys: readonly Key[]): Promise<Set<string>> {
    const out = new Set<string>();
    if (keys.length === 0) return out;
    const [side] = await this.query('SELECT side_table FROM ctrelay.tables WHERE schema_name = $1 AND table_name = $2', [t.source.schema, t.source.table]);
    if (!side) return new Set(keys.map(keyText)); // tracking gone: nothing is known to be unchanged
    const keyCols = t.columns.slice(0, t.keyCount);
    const texts = keyCols.map((c) => postgresSql.keyText(`s.${q(c.name)}`, c));
    for (let i = 0; i < keys.length; i += 500) {
      const w = this.keyIn(t, 's.', keys.slice(i, i + 500), 1);
      const rows = await this.query(
        `SELECT ${texts.join(', ')} FROM ctrelay.${q(side[0]!)} s JOIN ctrelay.txn x ON x.xid = s.last_xid WHERE x.version > $1::bigint AND ${w.sql}`,
        [since.toString(), ...w.params],
      );
      for (const r of rows) out.add(keyText(r as string[]));
    }
    return out;
  }

  async lockKeys(t: VerifyTable, keys: readonly Key[]): Promise<bigint | null> {
    try {
      for (let i = 0; i < keys.length; i += 500) {
        const w = this.keyIn(t, '', keys.slice(i, i + 500), 0);
        await this.query(`SELECT 1 FROM ${postgresSql.table(t.source)} WHERE ${w.sql} FOR SHARE`, w.params);
      }
    } catch (err) {
      // FOR SHARE needs UPDATE (or DELETE, INSERT, TRUNCATE) privilege besides SELECT: a read-only
      // verify login cannot lock, and its hot rows stay not proven
      if (sqlState((err as { cause?: unknown }).cause) === '42501') return null;
      throw err;
    }
    const [[v]] = await this.query('SELECT ctrelay.current_version()::text', []);
    return BigInt(v!);
  }
}
