// The MariaDB standby's side of failover (src/standby/promotion.ts), on one pooled connection each.
//
// Protection is the SERVER's `read_only` (MariaDB has no per-database switch): while it is ON no
// session may write a non-temporary table unless its login has READ_ONLY ADMIN (since MariaDB
// 10.11 SUPER no longer implies it, MDEV-29596; ALL PRIVILEGES ON *.* does). So protect() needs a
// login with READ_ONLY ADMIN, checked by a write probe right after setting it, and it protects every
// database of the server: on a server shared with other applications set `standby.protect: false`.
//
// Promotion: `promoted_at` of the source's ctrelay_state row, set in a transaction holding the row
// (SELECT … FOR UPDATE), which writeState locks the same way before it writes (mariadb-transaction.ts).
import type mysql from 'mysql2/promise';
import type { TableRef } from '../../core/model.ts';
import { floorKey, nextCounterValue, nothingToPromote, ProtectRefusedError, type Promotion, type SequenceAdvance } from '../promotion.ts';
import { qualified } from './mariadb-statements.ts';
import { quoteIdent } from './mariadb-types.ts';

const ER_SPECIFIC_ACCESS_DENIED = 1227;
const ER_OPTION_PREVENTS_STATEMENT = 1290;

const errno = (err: unknown): unknown => (err as { errno?: unknown } | null)?.errno;

/** Adds ctrelay_state.promoted_at to a state table created before it existed (a look first: ALTER TABLE locks). */
export async function ensurePromotedColumn(c: mysql.PoolConnection, stateDatabase: string, stateTable: string): Promise<void> {
  const [rows] = await c.query(
    `SELECT 1 FROM information_schema.columns WHERE table_schema = ? AND table_name = 'ctrelay_state' AND column_name = 'promoted_at'`,
    [stateDatabase],
  );
  if ((rows as unknown[]).length === 0) await c.query(`ALTER TABLE ${stateTable} ADD COLUMN IF NOT EXISTS promoted_at DATETIME(6) NULL`);
}

export async function isReadOnly(c: mysql.PoolConnection): Promise<boolean> {
  const [rows] = await c.query('SELECT @@global.read_only AS r');
  return Number((rows as { r: unknown }[])[0].r) === 1;
}

const READ_ONLY_ADMIN = 'the READ_ONLY ADMIN privilege (GRANT READ_ONLY ADMIN ON *.* TO <login>; SUPER does not include it since MariaDB 10.11)';
const SERVER_WIDE = ', and read_only makes the WHOLE server read-only for every other login (on a server shared with other applications, protection is not for it)';

/**
 * SET GLOBAL read_only = ON, then a write probe on the state table: a login that may set it but not
 * write under it (no READ_ONLY ADMIN) would stop its own applier, so the setting is put back and a
 * ProtectRefusedError thrown.
 */
export async function protectOn(c: mysql.PoolConnection, where: string, stateTable: string): Promise<void> {
  const before = await isReadOnly(c);
  if (!before) {
    try {
      await c.query('SET GLOBAL read_only = ON');
    } catch (err) {
      if (errno(err) === ER_SPECIFIC_ACCESS_DENIED) throw new ProtectRefusedError(where, READ_ONLY_ADMIN, err, SERVER_WIDE);
      throw err;
    }
  }
  try {
    await c.query(`UPDATE ${stateTable} SET batch_seq = batch_seq WHERE source_id IS NULL`);
  } catch (err) {
    if (errno(err) !== ER_OPTION_PREVENTS_STATEMENT) throw err;
    if (!before) await c.query('SET GLOBAL read_only = OFF').catch(() => undefined);
    throw new ProtectRefusedError(where, `${READ_ONLY_ADMIN} to write while read_only is ON`, err, SERVER_WIDE);
  }
}

export async function unprotectOn(c: mysql.PoolConnection, where: string): Promise<void> {
  if (!(await isReadOnly(c))) return;
  try {
    await c.query('SET GLOBAL read_only = OFF');
  } catch (err) {
    if (errno(err) === ER_SPECIFIC_ACCESS_DENIED) throw new ProtectRefusedError(where, READ_ONLY_ADMIN, err, ' to turn read_only off');
    throw err;
  }
}

interface PromotionRow {
  at: string | null;
  v: string;
  b: string;
}

const PROMOTION_SELECT = 'SELECT promoted_at AS at, CAST(version AS CHAR) AS v, CAST(batch_seq AS CHAR) AS b';

/** The row's promotion (DATETIME(6) UTC text, as the dialect reads dates), null when not promoted. */
export function promotionOf(row: PromotionRow | undefined): Promotion | null {
  return row && row.at ? { at: new Date(`${row.at.replace(' ', 'T')}Z`), version: BigInt(row.v), batchSeq: BigInt(row.b) } : null;
}

/** The promotion of `sourceId` read with a lock (writeState's first statement) or without; undefined: no row. */
export async function lockedState(c: mysql.PoolConnection, stateTable: string, sourceId: string, lock: boolean): Promise<PromotionRow | undefined> {
  const [rows] = await c.query(`${PROMOTION_SELECT} FROM ${stateTable} WHERE source_id = ?${lock ? ' FOR UPDATE' : ''}`, [sourceId]);
  return (rows as PromotionRow[])[0];
}

export async function markPromotedOn(c: mysql.PoolConnection, where: string, stateTable: string, sourceId: string): Promise<Promotion> {
  await c.query('START TRANSACTION');
  try {
    const row = await lockedState(c, stateTable, sourceId, true);
    if (!row) throw nothingToPromote(where, sourceId);
    if (!row.at) await c.query(`UPDATE ${stateTable} SET promoted_at = UTC_TIMESTAMP(6) WHERE source_id = ?`, [sourceId]);
    const p = promotionOf(await lockedState(c, stateTable, sourceId, true))!;
    await c.query('COMMIT');
    return p;
  } catch (err) {
    await c.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

/**
 * advanceSequences: the AUTO_INCREMENT counter of each table (one per table on MariaDB) moved with
 * ALTER TABLE … AUTO_INCREMENT = n to past the column's largest value and its floor.
 */
export async function advanceAutoIncrements(c: mysql.PoolConnection, tables: TableRef[], floors: ReadonlyMap<string, bigint>): Promise<SequenceAdvance[]> {
  const out: SequenceAdvance[] = [];
  for (const t of tables) {
    const [cols] = await c.query(
      `SELECT c.column_name AS col, CAST(t.auto_increment AS CHAR) AS ai FROM information_schema.columns c
         JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
        WHERE c.table_schema = ? AND c.table_name = ? AND c.extra LIKE '%auto_increment%'`,
      [t.schema, t.table],
    );
    const found = (cols as { col: string; ai: string | null }[])[0];
    if (!found) continue;
    const [m] = await c.query(`SELECT CAST(MAX(${quoteIdent(found.col)}) AS CHAR) AS m FROM ${qualified(t)}`);
    const max = (m as { m: string | null }[])[0].m;
    const before = found.ai === null ? null : BigInt(found.ai);
    const next = nextCounterValue(before ?? 1n, max === null ? null : BigInt(max), floors.get(floorKey(t, found.col)));
    if (before !== null && next <= before) continue;
    await c.query(`ALTER TABLE ${qualified(t)} AUTO_INCREMENT = ${next}`);
    out.push({ table: `${t.schema}.${t.table}`, column: found.col, sequence: 'AUTO_INCREMENT', before, next });
  }
  return out;
}
