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
//   22105 change tracking not enabled on the table, EENCRYPT/ETDS/EFEDAUTH configuration, and every
//   other server error.
// Not wrapped: errors already classified, and JavaScript's own TypeError & co. (bugs).
import { alreadyClassified, errorChain, hasSocketErrorCode, isProgrammingError, notTrackedFix, refused, unavailable, type DriverErrorLike, type FailureContext } from '../source-errors.ts';

const ENGINE = 'SQL Server';

/** ctrelay's THROW when a poll's transaction vanished with its connection (TRANSACTION_GUARD_SQL). */
export const POLL_TRANSACTION_GONE = 51000;

const TRANSIENT_NUMBERS: ReadonlyMap<number, string> = new Map([
  [1205, 'deadlock victim'],
  [1204, 'no lock resources'],
  [1222, 'lock request timeout'],
  [3960, 'snapshot isolation update conflict'],
  [3961, 'snapshot isolation: the table was changed by concurrent DDL'],
  [596, 'the session was killed'],
  [233, 'connection closed'],
  [10053, 'transport error'],
  [10054, 'connection reset'],
  [10060, 'network timeout'],
  [40197, 'service error (Azure SQL)'],
  [40501, 'service busy (Azure SQL)'],
  [40613, 'database unavailable (Azure SQL)'],
  [49918, 'not enough resources (Azure SQL)'],
  [49919, 'too many operations (Azure SQL)'],
  [49920, 'too many operations (Azure SQL)'],
  [10928, 'resource limit (Azure SQL)'],
  [10929, 'resource limit (Azure SQL)'],
  [POLL_TRANSACTION_GONE, 'the poll transaction was lost with its connection'],
]);

const PERMISSION_NUMBERS: ReadonlySet<number> = new Set([229, 230, 297, 300, 15247, 916]);

/** mssql / tedious codes for a connection that broke, timed out or never came. */
const TRANSIENT_CODES: ReadonlySet<string> = new Set([
  'ESOCKET', 'ECONNCLOSED', 'ETIMEOUT', 'ECONNRESET', 'ECLOSE', 'ENOTOPEN', 'EINSTLOOKUP', 'ECANCEL',
]);

/** Connection errors that are refusals (wrong login or configuration), not outages. */
const CONFIGURATION_CODES: ReadonlySet<string> = new Set(['EENCRYPT', 'ETDS', 'EINTERFACENOTSUPP', 'EFEDAUTH', 'EARGS']);

interface MssqlErrorLike extends DriverErrorLike {
  /** the server's error number (RequestError), also on tedious's error that mssql wraps */
  number?: number;
}

/** The server error numbers of the error: its own, then those of the errors it wraps and of the batch's preceding errors. */
export function serverErrorNumbers(err: unknown): number[] {
  const chain = errorChain(err) as MssqlErrorLike[];
  const preceding = chain.flatMap((e) => (Array.isArray(e.precedingErrors) ? e.precedingErrors.flatMap((p) => errorChain(p)) : [])) as MssqlErrorLike[];
  return [...chain, ...preceding].map((e) => e.number).filter((n): n is number => typeof n === 'number' && Number.isInteger(n));
}

function codes(err: unknown): string[] {
  return errorChain(err).map((e) => e.code).filter((c): c is string => typeof c === 'string');
}

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
  const code = codes(err);
  const table = ctx.table;
  for (const n of numbers) {
    const reason = TRANSIENT_NUMBERS.get(n);
    if (reason) return unavailable(ENGINE, ctx, `${reason} (error ${n})`, err);
  }
  const n = numbers[0];
  if (n !== undefined && PERMISSION_NUMBERS.has(n)) {
    return refused(ENGINE, ctx, `permission denied${table ? ` on ${table}` : ''} (error ${n})`, err, grantHint(table));
  }
  const transientLogin = errorChain(err).some((e) => e.isTransient === true);
  if (n === 18456 || (code.includes('ELOGIN') && !transientLogin)) {
    return refused(ENGINE, ctx, 'login failed', err, 'check the user, password and database of source.url and that the login may open that database');
  }
  if (n === 208) {
    return refused(ENGINE, ctx, table ? `table ${table} does not exist` : 'an object does not exist', err, table ? notTrackedFix(table) : undefined);
  }
  if (n === 22105 || /change tracking is not enabled on table/i.test(String((err as Error)?.message))) {
    return refused(ENGINE, ctx, `change tracking is not enabled on ${table ? `table ${table}` : 'the table'}`, err, notTrackedFix(table ?? '<schema.table>'));
  }
  if (code.some((c) => CONFIGURATION_CODES.has(c))) return refused(ENGINE, ctx, 'the connection was refused', err, 'check the options of source.url');
  if (transientLogin || code.some((c) => TRANSIENT_CODES.has(c)) || hasSocketErrorCode(err)) {
    return unavailable(ENGINE, ctx, 'connection lost or refused', err);
  }
  if (n === undefined && errorChain(err).some((e) => e.name === 'ConnectionError')) {
    return unavailable(ENGINE, ctx, 'connection problem', err);
  }
  return refused(ENGINE, ctx, n === undefined ? 'failed' : `failed (error ${n})`, err);
}
