// Classifying mysql2 errors: which mean "try again later", which mean the table is absent.
import { errorCode, isSocketError } from '../driver-errors.ts';

export function isMissingTable(err: unknown): boolean {
  return errorCode(err) === 'ER_NO_SUCH_TABLE' || errorCode(err) === 'ER_BAD_DB_ERROR';
}

// Server error numbers after which the same work can succeed later.
const TRANSIENT_ERRNOS = new Set([
  1020, // ER_CHECKREAD: record changed since it was read (a snapshot-isolation conflict)
  1040, // ER_CON_COUNT_ERROR: too many connections
  1053, // ER_SERVER_SHUTDOWN
  1152, // ER_ABORTING_CONNECTION
  1158, // ER_NET_READ_ERROR
  1159, // ER_NET_READ_INTERRUPTED
  1160, // ER_NET_ERROR_ON_WRITE
  1161, // ER_NET_WRITE_INTERRUPTED
  1203, // ER_TOO_MANY_USER_CONNECTIONS
  1205, // ER_LOCK_WAIT_TIMEOUT
  1213, // ER_LOCK_DEADLOCK
  1927, // ER_CONNECTION_KILLED (MariaDB)
  4031, // ER_CLIENT_INTERACTION_TIMEOUT (the server closed an idle connection)
]);

interface MysqlError {
  errno?: unknown;
  sqlState?: unknown;
  fatal?: unknown;
}

/**
 * Whether the same work can succeed later. An error the SERVER sent (it has an errno and a
 * SQLSTATE) is transient only for the numbers above, SQLSTATE class 08 or 40001; so access denied
 * (1045, 1044, 1142, ...) is permanent even when mysql2 marks it fatal. Errors of the client side:
 * mysql2's PROTOCOL_* (connection lost, sequence timeout), Node socket errors, and any other fatal
 * error (the connection is gone, e.g. "Can't add new command when connection is in closed state"),
 * are transient.
 */
export function isTransientMaria(err: unknown): boolean {
  const e = (err ?? {}) as MysqlError;
  if (typeof e.errno === 'number' && e.errno > 0 && typeof e.sqlState === 'string' && e.sqlState !== '') {
    return TRANSIENT_ERRNOS.has(e.errno) || e.sqlState.startsWith('08') || e.sqlState === '40001';
  }
  return errorCode(err).startsWith('PROTOCOL_') || isSocketError(err) || e.fatal === true;
}
