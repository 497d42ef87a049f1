// What the per-engine classifiers (postgres/errors.ts, sqlserver/errors.ts) share: the wording of
// the two outcomes of the error contract (src/core/errors.ts); what a driver error MEANS is in
// src/drivers/, shared with the standby dialects of the same engine:
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
