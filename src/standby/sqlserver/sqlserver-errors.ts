// Classifying mssql/tedious errors: which mean "try again later".
import { errorCode, isSocketError } from '../driver-errors.ts';

// Server error numbers after which the same work can succeed later.
const TRANSIENT_NUMBERS = new Set([
  1205, // chosen as deadlock victim
  1222, // lock request time out period exceeded
  3960, // snapshot isolation update conflict (a serialization failure)
  233, // no process is on the other end of the pipe (connection broken)
  10053, // connection aborted by the software in the host
  10054, // connection reset by the peer
  40197, // Azure SQL: the service had an error processing the request (failover)
  40501, // Azure SQL: the service is busy
  40613, // Azure SQL: database not currently available
]);

// mssql's and tedious's codes for a connection that broke, closed or never answered.
const TRANSIENT_CODES = new Set(['ESOCKET', 'ECONNCLOSED', 'ECLOSE', 'ETIMEOUT', 'ENOTOPEN', 'ENOCONN']);

interface MssqlError {
  name?: unknown;
  number?: unknown;
  originalError?: unknown;
  info?: { number?: unknown };
}

/** The error and the driver errors it wraps (mssql wraps tedious's in `originalError`). */
function chain(err: unknown): MssqlError[] {
  const out: MssqlError[] = [];
  let e = err as MssqlError | undefined;
  while (e && typeof e === 'object' && out.length < 4) {
    out.push(e);
    e = e.originalError as MssqlError | undefined;
  }
  return out;
}

/** The server's error number, from an mssql RequestError or the tedious error it wraps. */
export function errorNumber(err: unknown): number | undefined {
  for (const e of chain(err)) {
    const n = typeof e.number === 'number' ? e.number : e.info?.number;
    if (typeof n === 'number') return n;
  }
  return undefined;
}

/**
 * Whether the same work can succeed later: a deadlock, a lock timeout, a snapshot conflict, a
 * broken connection (the numbers above, mssql's ConnectionError, ESOCKET/ECONNCLOSED/ETIMEOUT, a
 * Node socket error), also when wrapped (a TransactionError around a closed connection). A login
 * the server refuses (ELOGIN, 18456: wrong password, unknown login, database not accessible) and
 * everything else are permanent.
 */
export function isTransientSqlServer(err: unknown): boolean {
  const number = errorNumber(err);
  const errors = chain(err);
  if (number === 18456 || errors.some((e) => errorCode(e) === 'ELOGIN')) return false;
  if (number !== undefined && TRANSIENT_NUMBERS.has(number)) return true;
  return errors.some((e) => TRANSIENT_CODES.has(errorCode(e)) || isSocketError(e) || e.name === 'ConnectionError');
}
