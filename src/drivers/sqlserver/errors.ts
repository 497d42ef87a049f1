// What an mssql / tedious error means, for the SQL Server source and the SQL Server standby alike:
// the server's error numbers, and whether the same work can succeed later. Written against
// Microsoft's "Database engine events and errors" lists and the error objects mssql builds (a
// RequestError carries the server's `number`; a ConnectionError wraps tedious's, whose `code` says
// what failed); NOT YET SEEN against a real server.
import { errorChain, errorCodes, hasSocketErrorCode } from '../driver-errors.ts';

/** Server error numbers after which the same work can succeed later. */
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
]);

/** mssql / tedious codes for a connection that broke, timed out or never came. */
const TRANSIENT_CODES: ReadonlySet<string> = new Set([
  'ESOCKET', 'ECONNCLOSED', 'ETIMEOUT', 'ECONNRESET', 'ECLOSE', 'ENOTOPEN', 'ENOCONN', 'EINSTLOOKUP', 'ECANCEL',
]);

/** Connection errors that are refusals (configuration), not outages. */
const CONFIGURATION_CODES: ReadonlySet<string> = new Set(['EENCRYPT', 'ETDS', 'EINTERFACENOTSUPP', 'EFEDAUTH', 'EARGS']);

/**
 * Node's TLS verification failures (the `code` of the error tedious wraps in its ESOCKET
 * ConnectionError): with encrypt=true the server's certificate was not accepted. Retrying cannot
 * help, so they are refusals, although tedious reports them with the code of a lost socket.
 */
const CERTIFICATE_CODES: ReadonlySet<string> = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID', 'CERT_UNTRUSTED', 'CERT_REJECTED', 'CERT_REVOKED',
  'CERT_SIGNATURE_FAILURE', 'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** The server error numbers of the error: its own, then those of the errors it wraps and of the batch's preceding errors. */
export function serverErrorNumbers(err: unknown): number[] {
  const chain = errorChain(err);
  const preceding = chain.flatMap((e) => (Array.isArray(e.precedingErrors) ? e.precedingErrors.flatMap((p) => errorChain(p)) : []));
  // mssql copies tedious's number onto its own error, tedious keeps it in `info` too: once each
  const numbers = [...chain, ...preceding]
    .map((e) => (typeof e.number === 'number' ? e.number : (e as { info?: { number?: unknown } }).info?.number))
    .filter((n): n is number => typeof n === 'number' && Number.isInteger(n));
  return [...new Set(numbers)];
}

/** A login the server refused (18456, ELOGIN): wrong password, unknown login, database not accessible. */
export function isLoginRefused(err: unknown): boolean {
  const transientLogin = errorChain(err).some((e) => e.isTransient === true);
  return serverErrorNumbers(err)[0] === 18456 || (errorCodes(err).includes('ELOGIN') && !transientLogin);
}

/** The server's TLS certificate was not accepted (encrypt=true): see CERTIFICATE_CODES. */
export function isCertificateRefused(err: unknown): boolean {
  return errorCodes(err).some((c) => CERTIFICATE_CODES.has(c));
}

/** A connection refused for its configuration (encryption, TDS version, authentication method, the server's certificate). */
export function isConfigurationRefused(err: unknown): boolean {
  return errorCodes(err).some((c) => CONFIGURATION_CODES.has(c)) || isCertificateRefused(err);
}

/** Why the same work can succeed later, or null when retrying cannot help. */
export function mssqlTransientReason(err: unknown): string | null {
  for (const n of serverErrorNumbers(err)) {
    const reason = TRANSIENT_NUMBERS.get(n);
    if (reason) return `${reason} (error ${n})`;
  }
  if (isLoginRefused(err) || isConfigurationRefused(err)) return null;
  const chain = errorChain(err);
  if (chain.some((e) => e.isTransient === true) || errorCodes(err).some((c) => TRANSIENT_CODES.has(c)) || hasSocketErrorCode(err)) {
    return 'connection lost or refused';
  }
  if (serverErrorNumbers(err).length === 0 && chain.some((e) => e.name === 'ConnectionError')) return 'connection problem';
  return null;
}
