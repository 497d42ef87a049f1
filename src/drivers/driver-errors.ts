// What every database driver's errors have in common, for the classifiers of each engine
// (postgres-errors.ts, sqlserver-errors.ts, and MariaDB's in src/standby/mariadb/): walking the
// wrapper chain drivers build, and the operating system's socket errors, which mean that the
// server or the network is away and may come back.

/** The fields drivers hang on their errors (pg, node's net, mssql, tedious, mysql2). */
export interface DriverErrorLike {
  name?: string;
  message?: string;
  code?: string | number;
  errno?: number;
  number?: number;
  isTransient?: boolean;
  cause?: unknown;
  originalError?: unknown;
  errors?: unknown[];
  precedingErrors?: unknown[];
}

/** The error and the ones it wraps (cause, mssql's originalError, AggregateError's errors), outermost first. */
export function errorChain(err: unknown, depth = 0): DriverErrorLike[] {
  if (!err || typeof err !== 'object' || depth > 8) return [];
  const e = err as DriverErrorLike;
  const inner = [e.cause, e.originalError, ...(Array.isArray(e.errors) ? e.errors : [])];
  return [e, ...inner.flatMap((x) => (x === err ? [] : errorChain(x, depth + 1)))];
}

/** The error's own string `code` ('' when it has none). */
export function errorCode(err: unknown): string {
  const code = (err as DriverErrorLike | null | undefined)?.code;
  return typeof code === 'string' ? code : '';
}

/** The string codes of the error and of every error it wraps. */
export function errorCodes(err: unknown): string[] {
  return errorChain(err).map((e) => e.code).filter((c): c is string => typeof c === 'string');
}

/**
 * Errors of the operating system's sockets and resolver (node's `err.code`): the server or the
 * network is away, which can heal by itself. A wrong host name (ENOTFOUND) is included: in a
 * container network a name may resolve only once its service is up.
 */
export const SOCKET_ERROR_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'EHOSTDOWN',
  'ENETUNREACH', 'ENETDOWN', 'ENETRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ENOTCONN',
]);

/** A socket error anywhere in the chain (also inside the AggregateError Node raises when every address of a host failed). */
export function hasSocketErrorCode(err: unknown): boolean {
  return errorCodes(err).some((c) => SOCKET_ERROR_CODES.has(c));
}

/**
 * JavaScript's own error types: a driver throws them for a wrong call (a value it cannot
 * serialise, an argument of the wrong type). That is a bug in ctrelay, so nobody wraps them.
 */
export function isProgrammingError(err: unknown): boolean {
  return err instanceof TypeError || err instanceof RangeError || err instanceof ReferenceError || err instanceof SyntaxError;
}
