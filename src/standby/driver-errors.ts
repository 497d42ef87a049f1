// The error contract (src/core/errors.ts) at the standby's edge: every driver error a dialect sees
// leaves it as a StandbyError, classified there and then. Each engine's rules say which driver
// errors are transient (postgres/pg-errors.ts, mariadb/mariadb-errors.ts,
// sqlserver/sqlserver-errors.ts):
//
//   StandbyUnavailableError  the connection was refused, lost, reset or terminated, the server is
//                            starting or shutting down or out of connections, or the transaction
//                            lost a deadlock, a serialization conflict or a lock wait: the applier
//                            waits and resumes from the standby's ctrelay_state.
//   StandbyError             everything else: a login the server refuses (wrong password, access
//                            denied), a permission missing, a value the table refuses, DDL the
//                            engine cannot do. Retrying cannot help; the applier stops.
import { StandbyError, StandbyUnavailableError } from '../core/errors.ts';
import { scrubSecret } from '../core/redact.ts';
import { driverMessage } from './messages.ts';

/** One engine's rule: whether a driver error means "try again later". */
export type TransientRule = (err: unknown) => boolean;

export { errorCode, hasSocketErrorCode as isSocketError } from '../drivers/driver-errors.ts';

/** A StandbyError of the class `transient` says, with `message`, keeping `cause`. */
export function classified(message: string, transient: boolean, cause: unknown): StandbyError {
  return transient ? new StandbyUnavailableError(message, { cause }) : new StandbyError(message, { cause });
}

/**
 * The StandbyError for a driver error: `${prefix}: <driver message>`, with credentials (and the
 * known `secret`) removed, transient when `rule` says so. A StandbyError passes through unchanged:
 * it was classified where it happened.
 */
export function standbyFailure(err: unknown, prefix: string, rule: TransientRule, secret?: string): StandbyError {
  if (err instanceof StandbyError) return err;
  return classified(`${prefix}: ${scrubSecret(driverMessage(err), secret)}`, rule(err), err);
}
