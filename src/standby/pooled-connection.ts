// One piece of work outside a standby transaction (DDL, a scan, a state read) on a pooled
// connection, under the same rule as transactions (sql-transaction.ts): a connection that saw a
// failure may be in any state, so it is closed, never pooled again.
import { StandbyError } from '../core/errors.ts';

export interface ConnectionSource<C> {
  /** takes a connection from the pool; rejects with a classified StandbyError */
  take(): Promise<C>;
  /** gives it back, or closes it for good when `destroy` */
  give(connection: C, destroy: boolean): void;
  /** the classified StandbyError for a driver error, `doing` naming the work */
  fail(err: unknown, doing: string): StandbyError;
}

export async function withPooledConnection<C, T>(source: ConnectionSource<C>, doing: string, fn: (c: C) => Promise<T>): Promise<T> {
  const c = await source.take();
  let failed = true;
  try {
    const result = await fn(c);
    failed = false;
    return result;
  } catch (err) {
    throw source.fail(err, doing);
  } finally {
    source.give(c, failed);
  }
}

/**
 * A connection from `pool` (null before connect()), its failure classified by `fail` as the
 * engine's 'cannot connect'.
 */
export async function connectionFrom<P, C>(pool: P | null, where: string, take: (pool: P) => Promise<C>, fail: (err: unknown, doing: string) => StandbyError): Promise<C> {
  if (!pool) throw new StandbyError(`${where}: connect() was not called`);
  try {
    return await take(pool);
  } catch (err) {
    throw fail(err, 'cannot connect');
  }
}

/** What `read` returns, or `absent` when the table it reads does not exist yet (`isMissing`). */
export async function unlessMissing<T>(read: () => Promise<T>, isMissing: (err: unknown) => boolean, absent: T): Promise<T> {
  try {
    return await read();
  } catch (err) {
    if (isMissing(err)) return absent;
    throw err;
  }
}
