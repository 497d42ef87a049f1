// The old primary's side of `ctrelay promote` on PostgreSQL: demotion for a planned switchover, the
// version to drain to, and the values its sequences handed out (which change tracking does not
// carry, so that the promoted standby's sequences can be moved past them).
import { SourceError } from '../../core/errors.ts';
import type { TableRef } from '../../core/model.ts';
import { quoteIdent, quoteLiteral } from '../../drivers/postgres/quote.ts';
import { withPgClient } from './ct-admin.ts';
import { beginVersionSnapshot } from './ct-snapshot.ts';
import { APPLICATION_NAME } from './source.ts';

export interface Demotion {
  database: string;
  /** application sessions ended (their open transactions rolled back) */
  terminated: number;
}

/**
 * Makes the source database refuse writes from now on: new sessions start read-only
 * (`default_transaction_read_only`), and every other client session of the database except
 * ctrelay's own (application_name `ctrelay`: capture must still read the last changes) is ended and
 * waited for (a session in the middle of its COMMIT finishes it or is gone before this returns), so
 * the version read next is the last. Prepared transactions of the database are refused by name: a
 * COMMIT PREPARED would still land after the cut. A session that sets the setting off again, or
 * names itself ctrelay, can still write: promote then reports the source's version beyond the
 * promoted one as lost, never as nothing lost. Needs the database's owner (or a superuser) and
 * pg_signal_backend; on any failure the setting is reset.
 */
export async function demoteSource(url: string): Promise<Demotion> {
  return withPgClient(url, 'demoting the source', async (c) => {
    const db = (await c.query<{ d: string }>('SELECT current_database() AS d')).rows[0].d;
    const prepared = await c.query<{ gid: string }>('SELECT gid FROM pg_prepared_xacts WHERE database = current_database() ORDER BY prepared');
    if (prepared.rows.length > 0) {
      throw new SourceError(`promote: the source database ${db} has prepared transactions (${prepared.rows.map((r) => r.gid).join(', ')}): COMMIT PREPARED or ROLLBACK PREPARED them first, a later commit would be lost`);
    }
    await c.query(`ALTER DATABASE ${quoteIdent(db)} SET default_transaction_read_only = on`);
    try {
      const r = await c.query<{ n: number; stuck: number }>(
        `SELECT count(*)::int AS n, count(*) FILTER (WHERE NOT pg_terminate_backend(pid, 5000))::int AS stuck FROM pg_stat_activity
          WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'
            AND application_name <> $1`,
        [APPLICATION_NAME],
      );
      if (r.rows[0].stuck > 0) throw new SourceError(`promote: ${r.rows[0].stuck} session(s) of the source database ${db} did not end within 5 s`);
      return { database: db, terminated: r.rows[0].n };
    } catch (err) {
      await c.query(`ALTER DATABASE ${quoteIdent(db)} RESET default_transaction_read_only`).catch(() => undefined);
      throw err;
    }
  });
}

/** Undoes demoteSource (a promotion that stopped before the switch leaves the source writable again). */
export async function undemoteSource(url: string): Promise<void> {
  await withPgClient(url, 'lifting the source\'s demotion', async (c) => {
    const db = (await c.query<{ d: string }>('SELECT current_database() AS d')).rows[0].d;
    await c.query(`ALTER DATABASE ${quoteIdent(db)} RESET default_transaction_read_only`);
  });
}

/** ctrelay's change-tracking version of the source now. */
export async function sourceVersion(url: string): Promise<bigint> {
  return withPgClient(url, 'reading the source version', async (c) => BigInt((await c.query('SELECT ctrelay.current_version()::text AS v')).rows[0].v));
}

/** The last value a sequence feeding a source column handed out. */
export interface SequenceValue {
  table: TableRef;
  column: string;
  value: bigint;
}

/**
 * The last value each sequence feeding a column of `tables` handed out (identity and serial
 * columns, and defaults that call nextval); sequences never used are left out.
 */
export async function sequenceValues(url: string, tables: TableRef[]): Promise<SequenceValue[]> {
  return withPgClient(url, 'reading the source\'s sequences', async (c) => {
    const out: SequenceValue[] = [];
    for (const t of tables) {
      const rel = `${quoteIdent(t.schema)}.${quoteIdent(t.table)}`;
      const cols = await c.query<{ col: string; seq: string }>(
        `SELECT a.attname AS col, coalesce(pg_get_serial_sequence($1, a.attname),
                  (regexp_match(pg_get_expr(d.adbin, d.adrelid), '^nextval\\(''(.*)''::regclass\\)$'))[1]) AS seq
           FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
          WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped`,
        [rel],
      );
      for (const { col, seq } of cols.rows) {
        if (!seq) continue;
        const v = await c.query(`SELECT CASE WHEN is_called THEN last_value END::text AS v FROM ${seq}`);
        if (v.rows[0]?.v != null) out.push({ table: t, column: col, value: BigInt(v.rows[0].v) });
      }
    }
    return out;
  });
}

/** The source at a drill's cut: its version and clock, and every change after `since` up to it. */
export interface CutState {
  version: bigint;
  at: Date;
  /** one entry per changed key (change tracking keeps a key's last change), in version order */
  changes: { table: string; version: bigint; commitTs: Date }[];
}

/**
 * Reads, in one snapshot, the source's version and clock and the keys changed after `since`, per
 * table: what a standby at `since` lacks at this moment. A drill takes it at the cut and counts, once
 * the standby is promoted, the changes it did not get.
 */
export async function cutState(url: string, tables: TableRef[], since: bigint): Promise<CutState> {
  return withPgClient(url, 'reading the source at the cut', async (c) => {
    const version = await beginVersionSnapshot(c);
    try {
      const head = { v: version.toString(), at: (await c.query<{ at: Date }>('SELECT now() AS at')).rows[0].at };
      const changes: CutState['changes'] = [];
      for (const t of tables) {
        const side = (await c.query<{ s: string }>('SELECT side_table AS s FROM ctrelay.tables WHERE schema_name = $1 AND table_name = $2', [t.schema, t.table])).rows[0]?.s;
        if (!side) continue;
        const r = await c.query<{ v: string; ts: Date }>(
          `SELECT x.version::text AS v, x.commit_ts AS ts FROM ctrelay.${quoteIdent(side)} s JOIN ctrelay.txn x ON x.xid = s.last_xid
            WHERE x.version > $1::bigint AND x.version <= $2::bigint`,
          [since.toString(), head.v],
        );
        for (const row of r.rows) changes.push({ table: `${t.schema}.${t.table}`, version: BigInt(row.v), commitTs: row.ts });
      }
      changes.sort((a, b) => (a.version < b.version ? -1 : a.version > b.version ? 1 : 0));
      return { version: BigInt(head.v), at: head.at, changes };
    } finally {
      await c.query('ROLLBACK').catch(() => undefined);
    }
  });
}

/** One change the old primary holds after a version: its key, and the row as it is now (null: deleted). */
export interface LostChange {
  table: string;
  version: bigint;
  commitTs: Date;
  /** the key and the row as JSON text from PostgreSQL's to_jsonb (numbers keep every digit) */
  keyJson: string;
  rowJson: string | null;
}

/**
 * Every key of `tables` changed after version `since`, in version order, with the row as the old
 * primary holds it now (change tracking keeps a key's last change: a key changed twice is listed
 * once, with its final row). What a forced promotion lost, once the old primary answers again.
 */
export async function lostChanges(url: string, tables: TableRef[], since: bigint): Promise<LostChange[]> {
  const all: LostChange[] = [];
  await withPgClient(url, 'reading the changes after the promoted version', async (c) => {
    await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    try {
      for (const t of tables) {
        const info = (await c.query<{ s: string; k: string[] }>('SELECT side_table AS s, key_columns::text[] AS k FROM ctrelay.tables WHERE schema_name = $1 AND table_name = $2', [t.schema, t.table])).rows[0];
        if (!info) continue;
        const keyObj = `jsonb_build_object(${info.k.map((k) => `${quoteLiteral(k)}, s.${quoteIdent(k)}`).join(', ')})::text`;
        const on = info.k.map((k) => `r.${quoteIdent(k)} = s.${quoteIdent(k)}`).join(' AND ');
        const r = await c.query<{ v: string; ts: Date; k: string; row: string | null }>(
          `SELECT x.version::text AS v, x.commit_ts AS ts, ${keyObj} AS k, CASE WHEN r.${quoteIdent(info.k[0])} IS NULL THEN NULL ELSE to_jsonb(r)::text END AS row
             FROM ctrelay.${quoteIdent(info.s)} s JOIN ctrelay.txn x ON x.xid = s.last_xid
             LEFT JOIN ${quoteIdent(t.schema)}.${quoteIdent(t.table)} r ON ${on}
            WHERE x.version > $1::bigint ORDER BY x.version`,
          [since.toString()],
        );
        for (const row of r.rows) all.push({ table: `${t.schema}.${t.table}`, version: BigInt(row.v), commitTs: row.ts, keyJson: row.k, rowJson: row.row });
      }
    } finally {
      await c.query('ROLLBACK').catch(() => undefined);
    }
  });
  return all.sort((a, b) => (a.version < b.version ? -1 : a.version > b.version ? 1 : 0));
}
