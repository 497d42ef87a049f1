// Classifying PostgreSQL errors (node-postgres) by SQLSTATE, Node socket codes, and the few
// code-less errors node-postgres raises itself when a connection breaks.
import { isSocketError } from '../driver-errors.ts';

export function sqlState(err: unknown): string {
  return typeof (err as { code?: unknown })?.code === 'string' ? (err as { code: string }).code : '';
}

export function isMissingRelation(err: unknown): boolean {
  return sqlState(err) === '42P01' || sqlState(err) === '3F000';
}

export function isConcurrentCreate(err: unknown): boolean {
  // two appliers creating the same object: unique violation on the catalog, or "already exists"
  return ['23505', '42P07', '42P06', '42701'].includes(sqlState(err));
}

export function ignoreConcurrentCreate(err: unknown): void {
  if (!isConcurrentCreate(err)) throw err;
}

export function isDataError(err: unknown): boolean {
  // class 22 (data exception) and 23 (integrity constraint violation): a value the table refuses
  return /^2[23]/.test(sqlState(err));
}

const TRANSIENT_STATES = new Set([
  '57P01', // admin_shutdown: pg_terminate_backend, a fast shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now: starting up, in recovery
  '57P05', // idle_session_timeout (the server closed the connection)
  '53300', // too_many_connections
  '40P01', // deadlock_detected
  '40001', // serialization_failure
  '55P03', // lock_not_available (lock_timeout)
]);

// node-postgres raises these without a code when the socket closes under it, and for every query on
// a client whose connection already failed.
const CONNECTION_LOST = /^(Connection terminated|Client has encountered a connection error|Client was closed and is not queryable|timeout exceeded when trying to connect)/;

/**
 * Whether the same work can succeed later: class 08 (connection exception), the 57P0x shutdowns,
 * too many connections, deadlock, serialization failure, lock timeout, a socket error or a
 * connection node-postgres lost. Everything else (class 28 invalid authorization, 42501
 * insufficient privilege, data errors, ...) is permanent.
 */
export function isTransientPg(err: unknown): boolean {
  const state = sqlState(err);
  if (state.startsWith('08') || TRANSIENT_STATES.has(state) || isSocketError(err)) return true;
  return state === '' && err instanceof Error && CONNECTION_LOST.test(err.message);
}
