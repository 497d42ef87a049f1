// What a node-postgres error means, for the PostgreSQL source and the PostgreSQL standby alike:
// its SQLSTATE, and whether the same work can succeed later (each side wraps that into its own
// error class of src/core/errors.ts).
import pg from 'pg';
import { errorChain, hasSocketErrorCode } from '../driver-errors.ts';

/** SQLSTATEs after which the same work can succeed later, with the reason shown to the operator. */
const TRANSIENT_SQLSTATES: ReadonlyMap<string, string> = new Map([
  ['40001', 'serialization failure'],
  ['40P01', 'deadlock'],
  ['40003', 'statement completion unknown'],
  ['55P03', 'lock timeout'],
  // a statement timeout, or an operator's pg_cancel_backend: retried with backoff, visible in the log
  ['57014', 'statement timeout or cancel'],
  ['57P01', 'the server ended the session (shutdown or pg_terminate_backend)'],
  ['57P02', 'the server crashed'],
  ['57P03', 'the server is not accepting connections yet'],
  ['57P05', 'idle session timeout'],
  ['25P03', 'idle-in-transaction timeout'],
  ['53000', 'insufficient resources'],
  ['53100', 'disk full'],
  ['53200', 'out of memory'],
  ['53300', 'too many connections'],
]);

/** node-postgres / pg-pool errors without a code that all mean "the connection is gone or never came". */
const CONNECTION_MESSAGES = [
  /^Connection terminated/, // unexpectedly | due to connection timeout | (while ending)
  /is not queryable$/, // "Client has encountered a connection error and is not queryable", "Client was closed ..."
  /^Client has encountered a connection error/,
  /^timeout exceeded when trying to connect$/,
  /^timeout expired$/,
  /^Query read timeout$/,
];

/** The SQLSTATE of a server error (pg's DatabaseError, possibly wrapped); undefined when the server did not answer. */
export function sqlState(err: unknown): string | undefined {
  for (const e of errorChain(err)) {
    // a server answer: pg-protocol's DatabaseError (also when another copy of pg-protocol made it)
    const server = e instanceof pg.DatabaseError || typeof (e as { severity?: unknown }).severity === 'string';
    if (server && typeof e.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code)) return e.code;
  }
  return undefined;
}

/** The connection broke or never came: a socket error or one of node-postgres's code-less errors. */
export function isPgConnectionLost(err: unknown): boolean {
  const state = sqlState(err);
  if (state !== undefined) return state.startsWith('08') || state === '57P01';
  if (hasSocketErrorCode(err)) return true;
  return errorChain(err).some((e) => !e.code && typeof e.message === 'string' && CONNECTION_MESSAGES.some((re) => re.test(e.message!)));
}

/**
 * Why the same work can succeed later (connection lost, deadlock, ...), or null when retrying
 * cannot help: class 28 (authentication), 42501 (permission), data errors, every other SQLSTATE.
 */
export function pgTransientReason(err: unknown): string | null {
  const state = sqlState(err);
  if (state === undefined) return isPgConnectionLost(err) ? 'connection lost or refused' : null;
  const reason = TRANSIENT_SQLSTATES.get(state) ?? (state.startsWith('08') ? 'connection problem' : undefined);
  return reason ? `${reason} (SQLSTATE ${state})` : null;
}
