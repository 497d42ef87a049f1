// The PostgreSQL standby's side of failover (src/standby/promotion.ts), on one pooled client each.
//
// Protection: `ALTER DATABASE <db> SET default_transaction_read_only = on`: every NEW session of
// the database starts read-only (a session open already keeps what it had), so an application
// pointed at the standby by mistake gets "cannot execute INSERT in a read-only transaction". The
// applier's own sessions ask for `default_transaction_read_only=off` in their startup options, which
// win over a database's setting (postgres-dialect.ts connect()). It needs the database's owner or a
// superuser. It protects against mistakes, not against malice: any session may `SET` it off.
//
// Promotion: `promoted_at` of the source's ctrelay_state row, set by one UPDATE (its row lock
// serialises it with writeState's INSERT … ON CONFLICT DO UPDATE, which re-checks the row it waited
// for and writes nothing once it is promoted, pg-transaction.ts).
import type pg from 'pg';
import type { TableRef } from '../../core/model.ts';
import { quoteIdent } from '../../drivers/postgres/quote.ts';
import { floorKey, nextCounterValue, nothingToPromote, ProtectRefusedError, type Promotion, type SequenceAdvance } from '../promotion.ts';
import { qualified } from './pg-statements.ts';
import { isMissingRelation, sqlState } from './pg-errors.ts';

/** Adds ctrelay_state.promoted_at to a state table created before it existed (a look first: ALTER TABLE locks). */
export async function ensurePromotedColumn(c: pg.PoolClient, stateTable: string): Promise<void> {
  const r = await c.query(`SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass($1) AND attname = 'promoted_at' AND NOT attisdropped`, [stateTable]);
  if (r.rowCount === 0) await c.query(`ALTER TABLE ${stateTable} ADD COLUMN IF NOT EXISTS promoted_at timestamptz`);
}

/** `ALTER DATABASE current SET/RESET default_transaction_read_only`; 42501 is a ProtectRefusedError. */
export async function setProtection(c: pg.PoolClient, where: string, on: boolean): Promise<void> {
  const db = (await c.query<{ d: string }>('SELECT current_database() AS d')).rows[0].d;
  const sql = on
    ? `ALTER DATABASE ${quoteIdent(db)} SET default_transaction_read_only = on`
    : `ALTER DATABASE ${quoteIdent(db)} RESET default_transaction_read_only`;
  try {
    await c.query(sql);
  } catch (err) {
    if (sqlState(err) !== '42501') throw err;
    throw new ProtectRefusedError(where, `to own database ${quoteIdent(db)} (or be a superuser)`, err, ` to run ${sql}`);
  }
}

/** Whether the database's own setting (pg_db_role_setting, any role) makes new sessions read-only. */
export async function isProtectedOn(c: pg.PoolClient): Promise<boolean> {
  const r = await c.query<{ v: string }>(
    `SELECT split_part(s.cfg, '=', 2) AS v
       FROM pg_db_role_setting d
       JOIN pg_database db ON db.oid = d.setdatabase AND db.datname = current_database()
       CROSS JOIN LATERAL unnest(d.setconfig) AS s(cfg)
      WHERE d.setrole = 0 AND s.cfg LIKE 'default\\_transaction\\_read\\_only=%'`,
  );
  return r.rows.some((row) => ['on', 'true', 'yes', '1'].includes(row.v.toLowerCase()));
}

interface PromotionRow {
  at: Date | null;
  v: string;
  b: string;
}

const promotionOf = (row: PromotionRow | undefined): Promotion | null =>
  row && row.at ? { at: row.at, version: BigInt(row.v), batchSeq: BigInt(row.b) } : null;

/** The promotion stored for `sourceId`, null while none (or no state table / column yet). */
export async function readPromotionOn(c: pg.PoolClient, stateTable: string, sourceId: string): Promise<Promotion | null> {
  try {
    const r = await c.query<PromotionRow>(`SELECT promoted_at AS at, version::text AS v, batch_seq::text AS b FROM ${stateTable} WHERE source_id = $1`, [sourceId]);
    return promotionOf(r.rows[0]);
  } catch (err) {
    if (isMissingRelation(err) || sqlState(err) === '42703') return null;
    throw err;
  }
}

/**
 * Sets promoted_at once (one UPDATE: it waits for an apply transaction that wrote the row and
 * promotes at what that one committed). Idempotent: a promoted row keeps its time.
 */
export async function markPromotedOn(c: pg.PoolClient, where: string, stateTable: string, sourceId: string): Promise<Promotion> {
  try {
    await ensurePromotedColumn(c, stateTable);
  } catch (err) {
    if (isMissingRelation(err)) throw nothingToPromote(where, sourceId);
    throw err;
  }
  const r = await c.query<PromotionRow>(
    `UPDATE ${stateTable} SET promoted_at = COALESCE(promoted_at, clock_timestamp()) WHERE source_id = $1
     RETURNING promoted_at AS at, version::text AS v, batch_seq::text AS b`,
    [sourceId],
  );
  const p = promotionOf(r.rows[0]);
  if (!p) throw nothingToPromote(where, sourceId);
  return p;
}

/**
 * Every sequence feeding a column of `t`: identity and serial sequences (owned by the column,
 * pg_depend 'i' / 'a') and sequences a column default calls nextval() on.
 */
const SEQUENCES_OF_TABLE = `
SELECT a.attname AS col, s.oid::regclass::text AS seq
  FROM pg_depend d
  JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S'
  JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
 WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i') AND d.refobjid = to_regclass($1)
UNION
SELECT a.attname, s.oid::regclass::text
  FROM pg_attrdef ad
  JOIN pg_attribute a ON a.attrelid = ad.adrelid AND a.attnum = ad.adnum
  JOIN pg_depend d ON d.classid = 'pg_attrdef'::regclass AND d.objid = ad.oid AND d.refclassid = 'pg_class'::regclass
  JOIN pg_class s ON s.oid = d.refobjid AND s.relkind = 'S'
 WHERE ad.adrelid = to_regclass($1)
 ORDER BY 1, 2`;

/** advanceSequences on `c`: each sequence once, to past every column it feeds and their floors. */
export async function advanceSequencesOn(c: pg.PoolClient, tables: TableRef[], floors: ReadonlyMap<string, bigint>): Promise<SequenceAdvance[]> {
  const fed = new Map<string, { table: TableRef; column: string; max: bigint | null }[]>();
  for (const t of tables) {
    const r = await c.query<{ col: string; seq: string }>(SEQUENCES_OF_TABLE, [qualified(t)]);
    for (const { col, seq } of r.rows) {
      const m = await c.query<{ m: string | null }>(`SELECT max(${quoteIdent(col)})::text AS m FROM ${qualified(t)}`);
      // a sequence may feed a text column ('ord-' || nextval(...)): only whole numbers bound it
      const max = m.rows[0].m !== null && /^-?\d+$/.test(m.rows[0].m) ? BigInt(m.rows[0].m) : null;
      fed.set(seq, [...(fed.get(seq) ?? []), { table: t, column: col, max }]);
    }
  }
  const out: SequenceAdvance[] = [];
  for (const [seq, columns] of fed) {
    const s = await c.query<{ l: string; called: boolean; inc: string }>(
      `SELECT s.last_value::text AS l, s.is_called AS called, p.seqincrement::text AS inc
         FROM ${seq} s, pg_sequence p WHERE p.seqrelid = $1::regclass`,
      [seq],
    );
    const { l, called, inc } = s.rows[0];
    if (BigInt(inc) <= 0n) continue; // a descending sequence hands out values below what it holds: nothing to pass
    const before = called ? BigInt(l) + BigInt(inc) : BigInt(l);
    let next = before;
    for (const col of columns) next = nextCounterValue(next, col.max, floors.get(floorKey(col.table, col.column)));
    if (next === before) continue;
    await c.query('SELECT setval($1::regclass, $2::bigint, false)', [seq, String(next)]);
    for (const col of columns) out.push({ table: `${col.table.schema}.${col.table.table}`, column: col.column, sequence: seq, before, next });
  }
  return out;
}
