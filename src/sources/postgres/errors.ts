// node-postgres errors -> the error contract (src/core/errors.ts). Every driver call of the
// PostgreSQL source and of `ct enable|disable|status|cleanup` goes through classifyPgError, so that
// capture can decide retry-or-stop from the type alone.
//
// Transient (SourceUnavailableError):
//   SQLSTATE class 08 (connection exception), 57P01/57P02/57P03 (shutdown, crash, starting up;
//   57P01 is also what pg_terminate_backend sends), 57P05/25P03 (idle timeouts end the session),
//   class 53 but 53400 (insufficient resources, too many connections), 40001 (serialization
//   failure), 40P01 (deadlock), 40003, 55P03 (lock timeout), 57014 (statement timeout or cancel);
//   node's socket codes (ECONNREFUSED, ECONNRESET, ...); node-postgres's code-less connection
//   errors ("Connection terminated unexpectedly", "... is not queryable", connection timeouts).
// Permanent (SourceError, exit 3), with a hint where there is one:
//   42501 permission denied, 42P01 table missing / no longer tracked, 28P01/28000 authentication,
//   3D000 database missing, 3F000/42883 ctrelay's change tracking not installed, and every other
//   SQLSTATE or unknown driver error.
// Not wrapped: errors already classified, and JavaScript's own TypeError & co. (bugs).
import pg from 'pg';
import { redactUrl } from '../../core/redact.ts';
import { alreadyClassified, errorChain, hasSocketErrorCode, isProgrammingError, notTrackedFix, refused, unavailable, type FailureContext } from '../source-errors.ts';

const ENGINE = 'PostgreSQL';

/** SQLSTATEs after which the same work can succeed later, with the reason shown to the operator. */
const TRANSIENT_SQLSTATES: ReadonlyMap<string, string> = new Map([
  ['40001', 'serialization failure'],
  ['40P01', 'deadlock'],
  ['40003', 'statement completion unknown'],
  ['55P03', 'lock timeout'],
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
  /^timeout exceeded when trying to connect$/,
  /^timeout expired$/,
  /^Query read timeout$/,
];

/** The SQLSTATE of a server error (pg's DatabaseError, possibly wrapped). */
export function sqlState(err: unknown): string | undefined {
  for (const e of errorChain(err)) {
    // a server answer: pg-protocol's DatabaseError (also when another copy of pg-protocol made it)
    const server = e instanceof pg.DatabaseError || (typeof (e as { severity?: unknown }).severity === 'string');
    if (server && typeof e.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code)) return e.code;
  }
  return undefined;
}

function isConnectionLost(err: unknown): boolean {
  if (hasSocketErrorCode(err)) return true;
  return errorChain(err).some((e) => !e.code && typeof e.message === 'string' && CONNECTION_MESSAGES.some((re) => re.test(e.message!)));
}

/** Whether the error means the connection went away (not a server answer): worth one retry on a fresh connection. */
export function isPgConnectionLost(err: unknown): boolean {
  const state = sqlState(err);
  return state === undefined ? isConnectionLost(err) : state.startsWith('08') || state === '57P01';
}

/**
 * The classified error for a failed driver call (see the header). Returns JavaScript's own error
 * types and already classified errors unchanged.
 */
export function classifyPgError(err: unknown, ctx: FailureContext): Error {
  if (alreadyClassified(err)) return err;
  if (isProgrammingError(err)) return err as Error;
  const state = sqlState(err);
  if (state === undefined) {
    if (isConnectionLost(err)) return unavailable(ENGINE, ctx, 'connection lost or refused', err);
    return refused(ENGINE, ctx, 'failed', err);
  }
  const reason = TRANSIENT_SQLSTATES.get(state) ?? (state.startsWith('08') ? 'connection problem' : undefined);
  if (reason) return unavailable(ENGINE, ctx, `${reason} (SQLSTATE ${state})`, err);
  const table = ctx.table;
  switch (state) {
    case '42501':
      return refused(ENGINE, ctx, `permission denied${table ? ` on ${table}` : ''}`, err,
        table ? `GRANT SELECT ON ${table} TO the role of source.url (and USAGE ON SCHEMA ctrelay, SELECT ON ALL TABLES IN SCHEMA ctrelay)` : 'grant the role of source.url what it needs');
    case '42P01':
      return refused(ENGINE, ctx, table ? `table ${table} does not exist or is no longer change-tracked` : 'a relation does not exist', err,
        table ? notTrackedFix(table) : undefined);
    case '28P01':
    case '28000':
      return refused(ENGINE, ctx, 'authentication failed', err, 'check the user and password of source.url and pg_hba.conf');
    case '3D000':
      return refused(ENGINE, ctx, 'the database does not exist', err, 'check the database of source.url');
    case '3F000':
    case '42883':
      return refused(ENGINE, ctx, 'ctrelay change tracking is missing', err, 'run `ctrelay ct enable` for the tables');
    default:
      return refused(ENGINE, ctx, `failed (SQLSTATE ${state})`, err);
  }
}

/** Runs one driver call and classifies its failure; `table` (schema-qualified) names what it was about. */
export type PgCall = <T>(what: string, op: () => Promise<T>, table?: string) => Promise<T>;

/** The password of a postgres:// URL, to scrub from driver messages; undefined when there is none. */
export function urlPassword(url: string): string | undefined {
  try {
    return decodeURIComponent(new URL(url).password) || undefined;
  } catch {
    return undefined;
  }
}

/** A PgCall whose messages name the URL's server (redacted) and never its password. */
export function pgCaller(url: string): PgCall {
  const server = redactUrl(url);
  const secret = urlPassword(url);
  return async (what, op, table) => {
    try {
      return await op();
    } catch (err) {
      throw classifyPgError(err, { server, what, table, secret });
    }
  };
}
