// `ctrelay ct enable|disable|status|cleanup` for PostgreSQL: installs ctrelay's change tracking
// (ct-sql.ts) on chosen tables. Driver errors are classified like the source's (errors.ts): a lost
// connection is transient, a refusal (permission, missing table) permanent, both naming the server.
import pg from 'pg';
import { ConfigError, SourceError } from '../../core/errors.ts';
import { qualifiedName, type TableRef } from '../../core/model.ts';
import { INSTALL_SQL, disableTableSql, enableTableSql } from './ct-sql.ts';
import { pgCaller, sqlState } from './errors.ts';
import { APPLICATION_NAME } from './source.ts';

export interface TrackedTableStatus {
  table: string;
  minValidVersion: bigint;
  trackedKeys: number;
  enabledAt: string;
}

export interface CtStatus {
  installed: boolean;
  currentVersion: bigint;
  tables: TrackedTableStatus[];
}

/** Runs `fn` on a fresh connection; `what` names the command in messages (e.g. `ct enable`). */
export async function withPgClient<T>(url: string, what: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const call = pgCaller(url);
  const client = new pg.Client({ connectionString: url, application_name: APPLICATION_NAME });
  // a session ended by the server between two queries is emitted as 'error'; the next query reports it
  client.on('error', () => undefined);
  await call(`${what}: connecting`, () => client.connect());
  try {
    return await call(what, () => fn(client));
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** ROLLBACK after a failure, which must not hide that failure (the connection may be gone). */
async function rollback(c: pg.Client): Promise<void> {
  await c.query('ROLLBACK').catch(() => undefined);
}

/** Parses "schema.table" (or "table", meaning public) into a TableRef; quotes allow dots in names. */
export function parseTableName(s: string, defaultSchema = 'public'): TableRef {
  const parts: string[] = [];
  const re = /"((?:[^"]|"")*)"|([^.]+)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(s)) !== null) parts.push(m[1] !== undefined ? m[1].replace(/""/g, '"') : m[2]);
  if (parts.length === 1) return { schema: defaultSchema, table: parts[0] };
  if (parts.length === 2) return { schema: parts[0], table: parts[1] };
  throw new SourceError(`invalid table name "${s}": expected schema.table`);
}

async function keyColumns(c: pg.Client, t: TableRef): Promise<{ name: string; sqlType: string }[]> {
  const rel = await c.query(`SELECT to_regclass($1) AS oid`, [`"${t.schema.replace(/"/g, '""')}"."${t.table.replace(/"/g, '""')}"`]);
  if (rel.rows[0].oid === null) throw new SourceError(`table ${qualifiedName(t)} does not exist`);
  // statement triggers of a partition do not fire for DML through its parent, nor the parent's
  // for DML on a partition: changes would be lost silently, so such tables are refused
  const kind = await c.query(
    `SELECT c.relkind, c.relispartition, EXISTS (SELECT 1 FROM pg_inherits i WHERE i.inhrelid = c.oid OR i.inhparent = c.oid) AS inherits
       FROM pg_class c WHERE c.oid = to_regclass($1)`,
    [`"${t.schema.replace(/"/g, '""')}"."${t.table.replace(/"/g, '""')}"`],
  );
  const k = kind.rows[0];
  if (k.relkind !== 'r' || k.relispartition || k.inherits) {
    throw new SourceError(`table ${qualifiedName(t)} is ${k.relkind === 'p' ? 'partitioned' : k.relispartition ? 'a partition' : k.relkind !== 'r' ? 'not an ordinary table' : 'part of an inheritance tree'}: ctrelay's PostgreSQL change tracking supports ordinary tables only`);
  }
  const r = await c.query(
    `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS sql_type
       FROM pg_index i
       JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord) ON true
       JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
      WHERE i.indrelid = to_regclass($1) AND i.indisprimary
      ORDER BY k.ord`,
    [`"${t.schema.replace(/"/g, '""')}"."${t.table.replace(/"/g, '""')}"`],
  );
  if (r.rows.length === 0) {
    throw new SourceError(`table ${qualifiedName(t)} has no primary key: change tracking needs one (add a primary key, as SQL Server also requires)`);
  }
  return r.rows.map((x) => ({ name: x.name as string, sqlType: x.sql_type as string }));
}

export async function ctEnable(url: string, tables: TableRef[]): Promise<void> {
  await withPgClient(url, 'ct enable', async (c) => {
    await c.query('BEGIN');
    try {
      // one installer at a time; the objects themselves are created idempotently
      await c.query('SELECT pg_advisory_xact_lock(7406011, 2)');
      await c.query(INSTALL_SQL);
      for (const t of tables) {
        const key = await keyColumns(c, t);
        const existing = await c.query(`SELECT side_table FROM ctrelay.tables WHERE schema_name = $1 AND table_name = $2`, [t.schema, t.table]);
        let side: string;
        if (existing.rows.length > 0) {
          side = existing.rows[0].side_table;
        } else {
          const ins = await c.query(
            `INSERT INTO ctrelay.tables (schema_name, table_name, side_table, key_columns, min_valid_version)
             VALUES ($1, $2, '', $3, ctrelay.current_version()) RETURNING id`,
            [t.schema, t.table, key.map((k) => k.name)],
          );
          side = `ct_${ins.rows[0].id}`;
          await c.query(`UPDATE ctrelay.tables SET side_table = $1 WHERE id = $2`, [side, ins.rows[0].id]);
        }
        await c.query(enableTableSql({ schema: t.schema, table: t.table, side, key }));
      }
      await c.query('COMMIT');
    } catch (err) {
      await rollback(c);
      throw err;
    }
  });
}

export async function ctDisable(url: string, tables: TableRef[]): Promise<void> {
  await withPgClient(url, 'ct disable', async (c) => {
    if (!(await isInstalled(c))) return;
    await c.query('BEGIN');
    try {
      for (const t of tables) {
        const r = await c.query(`SELECT side_table FROM ctrelay.tables WHERE schema_name = $1 AND table_name = $2`, [t.schema, t.table]);
        if (r.rows.length === 0) continue;
        await c.query(disableTableSql({ schema: t.schema, table: t.table, side: r.rows[0].side_table }));
      }
      await c.query('COMMIT');
    } catch (err) {
      await rollback(c);
      throw err;
    }
  });
}

async function isInstalled(c: pg.Client): Promise<boolean> {
  const r = await c.query(`SELECT to_regclass('ctrelay.tables') IS NOT NULL AS ok`);
  return r.rows[0].ok;
}

export async function ctStatus(url: string): Promise<CtStatus> {
  return withPgClient(url, 'ct status', async (c) => {
    if (!(await isInstalled(c))) return { installed: false, currentVersion: 0n, tables: [] };
    const v = await c.query(`SELECT ctrelay.current_version()::text AS v`);
    const rows = await c.query(`SELECT schema_name, table_name, side_table, min_valid_version::text AS mvv, enabled_at FROM ctrelay.tables ORDER BY 1, 2`);
    const tables: TrackedTableStatus[] = [];
    for (const r of rows.rows) {
      const n = await c.query(`SELECT count(*)::int AS n FROM ctrelay."${String(r.side_table).replace(/"/g, '""')}"`);
      tables.push({
        table: `${r.schema_name}.${r.table_name}`,
        minValidVersion: BigInt(r.mvv),
        trackedKeys: n.rows[0].n,
        enabledAt: new Date(r.enabled_at).toISOString(),
      });
    }
    return { installed: true, currentVersion: BigInt(v.rows[0].v), tables };
  });
}

/** Runs retention cleanup; returns the version changes were forgotten up to, or null. */
export async function ctCleanup(url: string, retention: string): Promise<bigint | null> {
  return withPgClient(url, 'ct cleanup', async (c) => {
    if (!(await isInstalled(c))) throw new SourceError('change tracking is not installed in this database (run `ctrelay ct enable`)');
    const r = await c.query(`SELECT ctrelay.cleanup($1::interval)::text AS v`, [retention]).catch((err: unknown) => {
      // a retention PostgreSQL cannot read as an interval is a usage error, not a source problem
      if (['22007', '22P02', '22015'].includes(sqlState(err) ?? '')) {
        throw new ConfigError(`--retention: "${retention}" is not a PostgreSQL interval (e.g. "7 days" or "2 hours")`, { cause: err });
      }
      throw err;
    });
    return r.rows[0].v === null ? null : BigInt(r.rows[0].v);
  });
}
