// Classifying mssql/tedious errors for the SQL Server standby: which mean "try again later"
// (src/drivers/sqlserver-errors.ts holds what SQL Server's errors mean, shared with the source).
import { mssqlTransientReason, serverErrorNumbers } from '../../drivers/sqlserver/errors.ts';

/** The server's error number, from an mssql RequestError or the tedious error it wraps. */
export function errorNumber(err: unknown): number | undefined {
  return serverErrorNumbers(err)[0];
}

/**
 * Whether the same work can succeed later: a deadlock, a lock timeout, a snapshot conflict, a
 * broken connection (also when wrapped, e.g. a TransactionError around a closed connection). A
 * login the server refuses (ELOGIN, 18456) and everything else are permanent.
 */
export function isTransientSqlServer(err: unknown): boolean {
  return mssqlTransientReason(err) !== null;
}
