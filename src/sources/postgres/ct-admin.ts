// `ctrelay ct enable|disable|status|cleanup` for PostgreSQL: installs ctrelay's change tracking
// (ct-sql.ts) on chosen tables. Driver errors are classified like the source's (errors.ts): a lost
// connection is transient, a refusal (permission, missing table) permanent, both naming the server.
import pg from 'pg';
import { ConfigError, SourceError } from '../../core/errors.ts';
import { qualifiedName, type TableRef } from '../../core/model.ts';
import { EVENT_TRIGGERS_SQL, INSTALL_SQL, disableTableSql, enableTableSql } from './ct-sql.ts';
import { eventTriggerProblems, eventTriggerWarning } from './ct-health.ts';
import { pgCaller, sqlState } from './errors.ts';
import { APPLICATION_NAME } from './source.ts';

export interface TrackedTableStatus {
  table: string;
  minValidVersion: bigint;
  trackedKeys: number;
  enabledAt: string;
  /** the four tracking triggers exist and are enabled ALWAYS (else changes pass untracked) */
  triggersOk: boolean;
  /** why the min valid version was last raised (TRUNCATE, cleanup, a rewrite, ...), when recorded */
  resetReason: string | null;
}

export interface CtStatus {
  installed: boolean;
  currentVersion: bigint;
  tables: TrackedTableStatus[];
  /** whether ctrelay's event triggers are installed and enabled ALWAYS (see eventTriggerWarning) */
  eventTriggers: boolean;
  /** what the operator should know: event triggers missing, tables whose triggers are off */
  warnings: string[];
}

export interface CtEnableResult {
  /** whether ctrelay's event triggers are in place after the run */
  eventTriggers: boolean;
  /** tables whose enabling took a new min valid version (re-enabled, or newly tracked) */
  reset: string[];
  warnings: string[];
}

export interface CtEnableOptions {
  /** where warnings go (default: `warning: ...` lines on stderr) */
  warn?: (message: string) => void;
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
export async function rollback(c: pg.Client): Promise<void> {
  await c.query('ROLLBACK').catch(() => undefined);
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

/**
 * Installs change tracking on the tables (idempotent). Like SQL Server, enabling tracking
 * invalidates every earlier cursor of a table: a table newly tracked, or whose tracking triggers
 * were not all in place (dropped, disabled, not ENABLE ALWAYS: changes passed untracked), takes
 * this transaction's version as its min valid version, so capture re-snapshots it. Re-running it
 * on a table whose tracking is intact changes nothing a capture sees.
 *
 * Also installs the event triggers that keep that promise between two polls (ctrelay.on_ddl,
 * ctrelay.on_rewrite). They need a superuser: without one, tracking is installed all the same and
 * a warning says what cannot be detected.
 */
export async function ctEnable(url: string, tables: TableRef[], opts: CtEnableOptions = {}): Promise<CtEnableResult> {
  const warn = opts.warn ?? ((m: string) => process.stderr.write(`warning: ${m}\n`));
  const result = await withPgClient(url, 'ct enable', async (c) => {
    await c.query('BEGIN');
    try {
      // one installer at a time; the objects themselves are created idempotently
      await c.query('SELECT pg_advisory_xact_lock(7406011, 2)');
      // our own DDL must not look like an operator toggling triggers (ctrelay.on_ddl skips it):
      // this transaction decides below which tables are reset
      await c.query(`SELECT set_config('ctrelay.installing', 'on', true)`);
      await c.query(INSTALL_SQL);
      await c.query('SAVEPOINT ctrelay_event_triggers');
      try {
        await c.query(EVENT_TRIGGERS_SQL);
        await c.query('RELEASE SAVEPOINT ctrelay_event_triggers');
      } catch (err) {
        // insufficient_privilege: not a superuser; anything else is a real failure
        if (sqlState(err) !== '42501') throw err;
        await c.query('ROLLBACK TO SAVEPOINT ctrelay_event_triggers');
      }
      const reset: string[] = [];
      for (const t of tables) {
        const name = qualifiedName(t);
        const key = await keyColumns(c, t);
        const existing = await c.query(
          `SELECT id, side_table, triggers_ok AND ctrelay.tracking_triggers_ok(schema_name, table_name, side_table) AS intact
             FROM ctrelay.tables WHERE schema_name = $1 AND table_name = $2 FOR UPDATE`,
          [t.schema, t.table],
        );
        let side: string;
        let id: number;
        let reason: string | null = null;
        if (existing.rows.length > 0) {
          ({ id, side_table: side } = existing.rows[0]);
          if (!existing.rows[0].intact) {
            reason = `change tracking of ${name} was off (tracking triggers dropped, disabled or not ENABLE ALWAYS) and was enabled again by ct enable: changes made meanwhile are unknown`;
          }
        } else {
          const ins = await c.query(
            `INSERT INTO ctrelay.tables (schema_name, table_name, side_table, key_columns, min_valid_version)
             VALUES ($1, $2, '', $3, ctrelay.current_version()) RETURNING id`,
            [t.schema, t.table, key.map((k) => k.name)],
          );
          id = ins.rows[0].id;
          side = `ct_${id}`;
          await c.query(`UPDATE ctrelay.tables SET side_table = $1 WHERE id = $2`, [side, id]);
          reason = `change tracking of ${name} was enabled by ct enable: changes made before are unknown`;
        }
        await c.query(enableTableSql({ schema: t.schema, table: t.table, side, key }));
        await c.query(`UPDATE ctrelay.tables SET triggers_ok = true, columns = coalesce(columns, '{}'::jsonb) || ctrelay.column_numbers(schema_name, table_name) WHERE id = $1`, [id]);
        // the new min valid version is this transaction's version, drawn at commit
        if (reason !== null) {
          await c.query(`SELECT ctrelay.reset_table($1, $2)`, [id, reason]);
          reset.push(name);
        }
      }
      const missing = await eventTriggerProblems(c);
      await c.query('COMMIT');
      return { eventTriggers: missing.length === 0, reset, warnings: missing.length === 0 ? [] : [eventTriggerWarning(missing)] };
    } catch (err) {
      await rollback(c);
      throw err;
    }
  });
  for (const w of result.warnings) warn(w);
  return result;
}

export async function ctDisable(url: string, tables: TableRef[]): Promise<void> {
  await withPgClient(url, 'ct disable', async (c) => {
    if (!(await isInstalled(c))) return;
    await c.query('BEGIN');
    try {
      await c.query(`SELECT set_config('ctrelay.installing', 'on', true)`);
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

export async function isInstalled(c: pg.Client): Promise<boolean> {
  const r = await c.query(`SELECT to_regclass('ctrelay.tables') IS NOT NULL AS ok`);
  return r.rows[0].ok;
}

export async function ctStatus(url: string): Promise<CtStatus> {
  return withPgClient(url, 'ct status', async (c) => {
    if (!(await isInstalled(c))) return { installed: false, currentVersion: 0n, tables: [], eventTriggers: false, warnings: [] };
    const v = await c.query(`SELECT ctrelay.current_version()::text AS v`);
    // to_jsonb: the columns added later (triggers_ok, reset_reason) may be missing on an older installation
    const rows = await c.query(
      `SELECT schema_name, table_name, side_table, min_valid_version::text AS mvv, enabled_at, to_jsonb(t) ->> 'reset_reason' AS reset_reason,
              (SELECT count(*) = 4 FROM pg_trigger tg JOIN pg_proc p ON p.oid = tg.tgfoid
                WHERE tg.tgrelid = to_regclass(quote_ident(t.schema_name) || '.' || quote_ident(t.table_name)) AND tg.tgenabled = 'A'
                  AND p.pronamespace = 'ctrelay'::regnamespace
                  AND (tg.tgname, p.proname::text) IN (('ctrelay_ct_ins', t.side_table || '_ins'), ('ctrelay_ct_upd', t.side_table || '_upd'),
                                                       ('ctrelay_ct_del', t.side_table || '_del'), ('ctrelay_ct_trunc', t.side_table || '_trunc'))) AS triggers_ok
         FROM ctrelay.tables t ORDER BY 1, 2`,
    );
    const tables: TrackedTableStatus[] = [];
    const warnings: string[] = [];
    for (const r of rows.rows) {
      const n = await c.query(`SELECT count(*)::int AS n FROM ctrelay."${String(r.side_table).replace(/"/g, '""')}"`);
      const table = `${r.schema_name}.${r.table_name}`;
      tables.push({
        table,
        minValidVersion: BigInt(r.mvv),
        trackedKeys: n.rows[0].n,
        enabledAt: new Date(r.enabled_at).toISOString(),
        triggersOk: r.triggers_ok,
        resetReason: r.reset_reason,
      });
      if (!r.triggers_ok) {
        warnings.push(`the tracking triggers of ${table} are not all in place (dropped, disabled or not ENABLE ALWAYS): its changes pass untracked; run \`ctrelay ct enable ${table}\` (the table is then re-snapshotted)`);
      }
    }
    const missing = await eventTriggerProblems(c);
    if (missing.length > 0) warnings.unshift(eventTriggerWarning(missing));
    return { installed: true, currentVersion: BigInt(v.rows[0].v), tables, eventTriggers: missing.length === 0, warnings };
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
