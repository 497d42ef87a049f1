// One piece of work outside a standby transaction (DDL, a scan, a state read) on a pooled
// connection, under the same rule as transactions (sql-transaction.ts): a connection that saw a
// failure may be in any state, so it is closed, never pooled again.
import type { StandbyError } from '../core/errors.ts';

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
