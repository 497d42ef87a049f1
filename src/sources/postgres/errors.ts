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
import { redactUrl } from '../../core/redact.ts';
import { isProgrammingError } from '../../drivers/driver-errors.ts';
import { isPgConnectionLost, pgTransientReason, sqlState } from '../../drivers/postgres/errors.ts';
import { alreadyClassified, notTrackedFix, refused, unavailable, type FailureContext } from '../source-errors.ts';

const ENGINE = 'PostgreSQL';

export { isPgConnectionLost, sqlState };

/**
 * The classified error for a failed driver call (see the header). Returns JavaScript's own error
 * types and already classified errors unchanged.
 */
export function classifyPgError(err: unknown, ctx: FailureContext): Error {
  if (alreadyClassified(err)) return err;
  if (isProgrammingError(err)) return err as Error;
  const reason = pgTransientReason(err);
  if (reason !== null) return unavailable(ENGINE, ctx, reason, err);
  const state = sqlState(err);
  if (state === undefined) return refused(ENGINE, ctx, 'failed', err);
  const table = ctx.table;
  switch (state) {
    case '42703':
      // a column the described table had is gone: the table was altered between the catalog look
      // and this read; capture resumes, re-describes and reads with the new definition
      return unavailable(ENGINE, ctx, `the table's columns changed during the poll (SQLSTATE ${state})`, err);
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
