// mssql / tedious errors -> the error contract (src/core/errors.ts). Every driver call of the SQL
// Server source goes through classifySqlServerError, so that capture can decide retry-or-stop from
// the type alone. Written against Microsoft's "Database engine events and errors" lists and the
// error objects mssql builds (a RequestError carries the server's error `number`; a ConnectionError
// wraps tedious's, whose `code` says what failed); NOT YET SEEN against a real server.
//
// Transient (SourceUnavailableError):
//   mssql ConnectionError (but the refusals below), codes ESOCKET, ECONNCLOSED, ETIMEOUT,
//   ECONNRESET, ECLOSE, ENOTOPEN, EINSTLOOKUP, ECANCEL, node's socket codes; error numbers
//   1205 deadlock victim, 1204 no lock resources, 1222 lock request timeout, 3960 snapshot update
//   conflict, 3961 snapshot read of an object changed by concurrent DDL, 596 session killed,
//   233/10053/10054/10060 transport errors, 40197/40501/40613/49918/49919/49920/10928/10929 Azure SQL
//   transient errors, and 51000, ctrelay's own "the poll transaction is gone" (sql.ts).
// Permanent (SourceError, exit 3), with a hint:
//   229/230/297/300/15247/916 permission denied, 18456 and ELOGIN login failed, 208 object missing,
//   22105 change tracking not enabled on the table, EENCRYPT/ETDS/EFEDAUTH configuration, a TLS
//   certificate the client does not trust (encrypt=true; node's certificate codes, which tedious
//   reports inside an ESOCKET error), and every other server error.
// Not wrapped: errors already classified, and JavaScript's own TypeError & co. (bugs).
import { isProgrammingError } from '../../drivers/driver-errors.ts';
import { isCertificateRefused, isConfigurationRefused, isLoginRefused, mssqlTransientReason, serverErrorNumbers } from '../../drivers/sqlserver/errors.ts';
import { alreadyClassified, notTrackedFix, refused, unavailable, type FailureContext } from '../source-errors.ts';

const ENGINE = 'SQL Server';

/** ctrelay's THROW when a poll's transaction vanished with its connection (TRANSACTION_GUARD_SQL). */
export const POLL_TRANSACTION_GONE = 51000;

const PERMISSION_NUMBERS: ReadonlySet<number> = new Set([229, 230, 297, 300, 15247, 916]);

export { serverErrorNumbers };

function grantHint(table: string | undefined): string {
  return `GRANT SELECT, VIEW CHANGE TRACKING ON ${table ?? '<each table>'} TO <agent user> (\`ctrelay ct enable --agent-user\` prints the grants)`;
}

/**
 * The classified error for a failed mssql call (see the header). Returns JavaScript's own error
 * types and already classified errors unchanged.
 */
export function classifySqlServerError(err: unknown, ctx: FailureContext): Error {
  if (alreadyClassified(err)) return err;
  if (isProgrammingError(err)) return err as Error;
  const numbers = serverErrorNumbers(err);
  if (numbers.includes(POLL_TRANSACTION_GONE)) return unavailable(ENGINE, ctx, `the poll transaction was lost with its connection (error ${POLL_TRANSACTION_GONE})`, err);
  const reason = mssqlTransientReason(err);
  if (reason !== null) return unavailable(ENGINE, ctx, reason, err);
  const table = ctx.table;
  const n = numbers[0];
  if (n !== undefined && PERMISSION_NUMBERS.has(n)) {
    return refused(ENGINE, ctx, `permission denied${table ? ` on ${table}` : ''} (error ${n})`, err, grantHint(table));
  }
  if (isLoginRefused(err)) {
    return refused(ENGINE, ctx, 'login failed', err, 'check the user, password and database of source.url and that the login may open that database');
  }
  if (n === 208) {
    return refused(ENGINE, ctx, table ? `table ${table} does not exist` : 'an object does not exist', err, table ? notTrackedFix(table) : undefined);
  }
  if (n === 22105 || /change tracking is not enabled on table/i.test(String((err as Error)?.message))) {
    return refused(ENGINE, ctx, `change tracking is not enabled on ${table ? `table ${table}` : 'the table'}`, err, notTrackedFix(table ?? '<schema.table>'));
  }
  if (isCertificateRefused(err)) {
    return refused(ENGINE, ctx, 'the server\'s TLS certificate was not accepted', err,
      'give the server a certificate this machine trusts (NODE_EXTRA_CA_CERTS names a CA file) whose name matches the host of source.url, or, for a test server only, add trustServerCertificate=true to source.url');
  }
  if (isConfigurationRefused(err)) return refused(ENGINE, ctx, 'the connection was refused', err, 'check the options of source.url');
  return refused(ENGINE, ctx, n === undefined ? 'failed' : `failed (error ${n})`, err);
}
