// Online re-snapshots on ctrelay's PostgreSQL change tracking, for `ctrelay snapshot` and
// `ctrelay verify --repair`. Both go through the normal pipeline, so exactly-once holds as for any
// change: nothing is written to Kafka or the standby from here.
//  * whole tables: the table is reset as TRUNCATE resets it (its min valid version becomes this
//    transaction's version), so capture re-snapshots it;
//  * keys or key ranges: the keys are marked changed in the side table at this transaction's
//    version without touching the rows, so capture's next poll reads them from the live table like
//    any update (a marked key without a live row reads as a delete). This is the cheap repair: the
//    standby gets exactly those rows again, nothing else moves.
import type pg from 'pg';
import { ConfigError, SourceError } from '../../core/errors.ts';
import { qualifiedName, type TableRef } from '../../core/model.ts';
import { quoteIdent } from '../../drivers/postgres/quote.ts';
import { isInstalled, rollback, withPgClient } from './ct-admin.ts';
import { sqlState } from './errors.ts';

/** Which keys to mark: given keys (present on the source or not), or the source rows between two keys (inclusive; null: open). */
export type KeySelection = { keys: readonly (readonly string[])[] } | { from: readonly string[] | null; to: readonly string[] | null };

/**
 * Asks capture for an online re-snapshot of `tables`, the way TRUNCATE does: in one transaction each
 * table's min valid version becomes that transaction's version (drawn at commit), so capture's next
 * poll finds its cursor below it and re-snapshots the table through the normal pipeline (the
 * standby table is emptied and refilled in applied windows, exactly once). A table that is not
 * tracked is a SourceError naming it.
 */
export async function ctResnapshot(url: string, tables: TableRef[], reason: string): Promise<void> {
  await withPgClient(url, 'requesting a re-snapshot', async (c) => {
    if (!(await isInstalled(c))) throw notInstalled();
    await c.query('BEGIN');
    try {
      for (const t of tables) {
        const { id } = await tracked(c, t);
        await c.query(`SELECT ctrelay.reset_table($1, $2)`, [id, reason]);
      }
      await c.query('COMMIT');
    } catch (err) {
      await rollback(c);
      throw err;
    }
  });
}

/**
 * Marks keys of one table as changed (see the file comment). Values are in PostgreSQL's input form
 * of each key column, in key order. Resolves with the number of keys marked and the version of the
 * marking transaction: a standby that has applied that version holds the rows as they were then.
 */
export async function ctResnapshotKeys(url: string, t: TableRef, sel: KeySelection): Promise<{ keys: number; version: bigint }> {
  return withPgClient(url, 'requesting a key re-snapshot', async (c) => {
    if (!(await isInstalled(c))) throw notInstalled();
    const { side, key } = await tracked(c, t);
    const cols = key.map((k) => quoteIdent(k.name)).join(', ');
    const sideTable = `ctrelay.${quoteIdent(side)}`;
    const upsert = `ON CONFLICT (${cols}) DO UPDATE SET last_xid = EXCLUDED.last_xid`;
    await c.query('BEGIN');
    try {
      const [{ x }] = (await c.query(`SELECT ctrelay.register_txn()::text AS x`)).rows;
      let marked = 0;
      if ('keys' in sel) {
        const unique = [...new Map(sel.keys.map((k) => [JSON.stringify(k), k])).values()];
        for (const k of unique) checkArity(k, key.length, 'key');
        // a statement takes at most 65535 parameters
        const per = Math.max(1, Math.floor(10_000 / key.length));
        for (let i = 0; i < unique.length; i += per) {
          const batch = unique.slice(i, i + per);
          const params: string[] = [x];
          const rows = batch.map((k) => `(${key.map((col, j) => {
            params.push(k[j]);
            return `$${params.length}::${col.sqlType}`;
          }).join(', ')}, $1::xid8, NULL::xid8)`);
          marked += (await c.query(`INSERT INTO ${sideTable} AS s (${cols}, last_xid, created_xid) VALUES ${rows.join(', ')} ${upsert}`, params)).rowCount ?? 0;
        }
      } else {
        const params: string[] = [x];
        const bound = (k: readonly string[] | null, op: '>=' | '<=', what: string) => {
          if (!k) return [];
          checkArity(k, key.length, what);
          const refs = key.map((col, j) => {
            params.push(k[j]);
            return `$${params.length}::${col.sqlType}`;
          });
          return [`(${cols}) ${op} (${refs.join(', ')})`];
        };
        const where = [...bound(sel.from, '>=', 'from'), ...bound(sel.to, '<=', 'to')];
        const table = `${quoteIdent(t.schema)}.${quoteIdent(t.table)}`;
        marked = (await c.query(`INSERT INTO ${sideTable} AS s (${cols}, last_xid, created_xid)
          SELECT ${cols}, $1::xid8, NULL::xid8 FROM ${table} ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ${upsert}`, params)).rowCount ?? 0;
      }
      await c.query('COMMIT');
      // the version is drawn at commit (ctrelay.assign_version)
      const v = await c.query(`SELECT version::text AS v FROM ctrelay.txn WHERE xid = $1::xid8`, [x]);
      return { keys: marked, version: BigInt(v.rows[0]?.v ?? 0) };
    } catch (err) {
      await rollback(c);
      // a key value that is not of its column's type (22P02 and friends): a usage error naming it
      if (/^22/.test(sqlState(err) ?? '')) {
        throw new ConfigError(`--keys: a key value is not valid for the key of ${qualifiedName(t)} (${key.map((k) => `${k.name} ${k.sqlType}`).join(', ')}): ${(err as Error).message}`, { cause: err });
      }
      throw err;
    }
  });
}

function notInstalled(): SourceError {
  return new SourceError('change tracking is not installed on the source: run ctrelay ct enable first');
}

function checkArity(k: readonly string[], n: number, what: string): void {
  if (k.length !== n) throw new ConfigError(`--keys: the ${what} key has ${k.length} value(s), the table's primary key has ${n} column(s)${n > 1 ? ' (give a composite key as a JSON array, e.g. ["eu",1]..["eu",900])' : ''}`);
}

/** The table's tracking row and its key columns with their SQL types; SourceError when it is not tracked. */
async function tracked(c: pg.Client, t: TableRef): Promise<{ id: number; side: string; key: { name: string; sqlType: string }[] }> {
  const r = await c.query(`SELECT id, side_table, key_columns::text[] AS key_columns FROM ctrelay.tables WHERE schema_name = $1 AND table_name = $2`, [t.schema, t.table]);
  if (r.rows.length === 0) throw new SourceError(`table ${qualifiedName(t)} is not tracked on the source: run ctrelay ct enable ${qualifiedName(t)}`);
  const { id, side_table: side, key_columns: names } = r.rows[0] as { id: number; side_table: string; key_columns: string[] };
  const types = await c.query(
    `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS sql_type FROM pg_attribute a
      WHERE a.attrelid = to_regclass($1) AND a.attname = ANY($2::text[]) AND NOT a.attisdropped`,
    [`${quoteIdent(t.schema)}.${quoteIdent(t.table)}`, names],
  );
  const byName = new Map(types.rows.map((x) => [x.name as string, x.sql_type as string]));
  const key = names.map((name) => {
    const sqlType = byName.get(name);
    if (!sqlType) throw new SourceError(`table ${qualifiedName(t)}: key column ${name} no longer exists; run ctrelay ct enable ${qualifiedName(t)} again`);
    return { name, sqlType };
  });
  return { id, side, key };
}
