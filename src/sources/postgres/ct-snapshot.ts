// How a reader of ctrelay's PostgreSQL change tracking takes a snapshot that is a moment of the
// source (the contract of "version v": the rows as they were when version v and every version
// below it had committed, and nothing later).
//
// A writing transaction draws its version in its commit trigger and holds the version lock SHARED
// from there until its commit is visible (ct-sql.ts): writers never wait for each other, so their
// commits flush together (group commit). Two of them can therefore become visible out of version
// order: for a moment, version 6 can be visible while version 5 is still committing. A reader that
// took its snapshot in that moment would see 6 without 5, and a cursor at 6 would skip 5 for good.
// So a reader takes the lock EXCLUSIVE, which waits until every writer that holds a version has
// finished (committed or rolled back) and holds back writers that have not drawn one yet, takes
// its snapshot, and lets go at once: in that snapshot every version at or below the current one is
// visible or was rolled back. Writers wait only for the few milliseconds between lock and snapshot.
//
// The lock is a session-level advisory lock, so that it can be released while the snapshot's
// transaction stays open; a connection whose unlock failed must be destroyed, never pooled (until
// it ends, every tracked commit waits).

/** The advisory lock key of version assignment (writers take it shared, readers exclusive). */
export const VERSION_LOCK_SQL = '7406011, 1';

/** The part of a pg client this needs (pg.Client and pg.PoolClient both have it). */
export interface Queryable {
  query(text: string): Promise<{ rows: Record<string, unknown>[] }>;
}

/**
 * Opens a REPEATABLE READ READ ONLY transaction on `c` whose snapshot is a moment of the source and
 * returns the source's current version in it. After a failure the caller must destroy the
 * connection (it may still hold the lock; the rollback and unlock tried here are best effort).
 */
export async function beginVersionSnapshot(c: Queryable): Promise<bigint> {
  await c.query(`SELECT pg_advisory_lock(${VERSION_LOCK_SQL})`);
  let version: bigint;
  try {
    await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    // the snapshot is taken at this statement, while the lock is held
    version = BigInt((await c.query('SELECT ctrelay.current_version()::text AS v')).rows[0].v as string);
  } catch (err) {
    await c.query('ROLLBACK').catch(() => undefined);
    await c.query(`SELECT pg_advisory_unlock(${VERSION_LOCK_SQL})`).catch(() => undefined);
    throw err;
  }
  await c.query(`SELECT pg_advisory_unlock(${VERSION_LOCK_SQL})`);
  return version;
}
