// What the per-engine classifiers (postgres/errors.ts, sqlserver/errors.ts) share: walking a
// driver's wrapper chain, the operating system's socket error codes, and the wording of the two
// outcomes of the error contract (src/core/errors.ts):
//   SourceUnavailableError  transient: capture waits and resumes from the batch log
//   SourceError             permanent: capture stops (exit 3) and the operator acts on the message
// Every message names the engine, the (redacted) server and what was being done, and carries the
// driver's own words with the password scrubbed out.
import { CtrelayError, SourceError, SourceUnavailableError } from '../core/errors.ts';
import { scrubSecret } from '../core/redact.ts';

/** Where a driver call failed: used in every message. */
export interface FailureContext {
  /** server as shown to the operator, never with credentials (redactUrl, or host:port/db) */
  server: string;
  /** what was being done, e.g. `reading the changes of public.items` */
  what: string;
  /** the table the call was about, schema-qualified, when there is one */
  table?: string;
  /** the password of the connection, scrubbed from driver messages that echo it */
  secret?: string;
}

/** The fields drivers hang on their errors (pg, node's net, mssql, tedious). */
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

/**
 * Errors of the operating system's sockets and resolver (node's `err.code`): the server or the
 * network is away, which can heal by itself. A wrong host name (ENOTFOUND) is included: in a
 * container network a name may resolve only once its service is up.
 */
export const SOCKET_ERROR_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'EHOSTDOWN',
  'ENETUNREACH', 'ENETDOWN', 'ENETRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ENOTCONN',
]);

export function hasSocketErrorCode(err: unknown): boolean {
  return errorChain(err).some((e) => typeof e.code === 'string' && SOCKET_ERROR_CODES.has(e.code));
}

/**
 * JavaScript's own error types: a driver throws them for a wrong call (a value it cannot
 * serialise, an argument of the wrong type). That is a bug in ctrelay, so it is not wrapped.
 */
export function isProgrammingError(err: unknown): boolean {
  return err instanceof TypeError || err instanceof RangeError || err instanceof ReferenceError || err instanceof SyntaxError;
}

/** The driver's message, with the connection's password (and anything shaped like a credential) masked. */
export function driverMessage(err: unknown, secret?: string): string {
  const text = err instanceof Error || (err && typeof err === 'object' && 'message' in err) ? String((err as Error).message) : String(err);
  return scrubSecret(text, secret);
}

function prefix(engine: string, ctx: FailureContext): string {
  return `${engine} source ${ctx.server}: ${ctx.what}`;
}

/** Transient: `reason` says what happened in a few words (connection lost, deadlock, ...). */
export function unavailable(engine: string, ctx: FailureContext, reason: string, err: unknown): SourceUnavailableError {
  return new SourceUnavailableError(`${prefix(engine, ctx)}: ${reason}: ${driverMessage(err, ctx.secret)}`, { cause: err });
}

/** Permanent: `problem` says what is wrong, `fix` (optional) what the operator can do about it. */
export function refused(engine: string, ctx: FailureContext, problem: string, err: unknown, fix?: string): SourceError {
  return new SourceError(`${prefix(engine, ctx)}: ${problem}: ${driverMessage(err, ctx.secret)}${fix ? `; ${fix}` : ''}`, { cause: err });
}

/** The message parts for a table that is gone or no longer tracked, shared by both engines. */
export function notTrackedFix(table: string): string {
  return `if it was dropped or its change tracking disabled, recreate it or run \`ctrelay ct enable ${table}\`, then restart capture (the table is re-snapshotted)`;
}

/** Errors that are already classified pass through every classifier unchanged. */
export function alreadyClassified(err: unknown): err is CtrelayError {
  return err instanceof CtrelayError;
}
