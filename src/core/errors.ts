// User-facing errors. The CLI prints `error: <message>` (no stack trace) and exits with `exitCode`
// for any CtrelayError; anything else is a bug and is printed with its stack.

export class CtrelayError extends Error {
  /** process exit code the CLI uses for this error */
  readonly exitCode: number;
  constructor(message: string, exitCode = 1, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.exitCode = exitCode;
  }
}

/** Bad configuration: the message names the key path and the expected form. Exit code 2. */
export class ConfigError extends CtrelayError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 2, options);
  }
}

/** A source database problem a user can fix (missing key, unsupported type, CT not enabled, unreachable). */
export class SourceError extends CtrelayError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 3, options);
  }
}

/** A Kafka problem (unreachable broker, fenced producer, undecodable record naming topic/partition/offset). */
export class KafkaError extends CtrelayError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 4, options);
  }
}

/** A standby problem (apply failure naming table, key and batch; unreachable standby). */
export class StandbyError extends CtrelayError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 5, options);
  }
}

/** A record that cannot be decoded (unknown schema, corrupt bytes): retrying cannot help. */
export class DecodeError extends KafkaError {}

/** The standby refused a change (value too long, constraint): stops the applier until fixed. */
export class ApplyRefusedError extends StandbyError {}

/** The standby's state names a batch the batch log does not hold: resuming would skip or repeat. */
export class BatchLogMismatchError extends StandbyError {}

/**
 * Whether a long-running job should retry after `err` (a broker or database that went away) or
 * stop (bad data, a bug, a mismatch only an operator can resolve).
 */
export function isTransient(err: unknown): boolean {
  if (err instanceof DecodeError || err instanceof ApplyRefusedError || err instanceof BatchLogMismatchError || err instanceof ConfigError) return false;
  if (err instanceof ConcurrentApplierError) return false;
  return err instanceof KafkaError || err instanceof StandbyError || err instanceof SourceError;
}

/** Another applier moved this standby's state past ours: two appliers write one standby. */
export class ConcurrentApplierError extends StandbyError {}
