// Classifying PostgreSQL errors (node-postgres) by SQLSTATE, Node socket codes, and the few
// code-less errors node-postgres raises itself when a connection breaks.
import { pgTransientReason, sqlState as serverState } from '../../drivers/postgres/errors.ts';

/** The SQLSTATE of the server's answer, '' when the server did not answer. */
export function sqlState(err: unknown): string {
  return serverState(err) ?? '';
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

/**
 * Whether the same work can succeed later (src/drivers/postgres-errors.ts: a lost or refused
 * connection, the 57P0x shutdowns, too many connections, deadlock, serialization failure, lock or
 * statement timeout). Everything else (class 28 invalid authorization, 42501 insufficient
 * privilege, data errors, ...) is permanent.
 */
export function isTransientPg(err: unknown): boolean {
  return pgTransientReason(err) !== null;
}
