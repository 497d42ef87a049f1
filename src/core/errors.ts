// The error contract. Every failure that is not a bug is a CtrelayError, classified WHERE IT
// HAPPENS (the adapter that talked to the database or the broker knows what went wrong), so that
// the long-running jobs decide retry-or-stop from the type alone, never from message text:
//
//   transient   the same work can succeed later: a connection lost, a server restarting, a
//               deadlock or serialization failure, a broker away. Jobs wait and resume from their
//               checkpoint (capture: the batch log; apply: the standby's ctrelay_state).
//   permanent   retrying cannot help: bad configuration, refused data, a table no longer tracked,
//               a permission revoked, a fenced producer, an undecodable record. Jobs stop and the
//               CLI exits with `exitCode`, printing one `error:` line that names the thing.
//   bug         anything that is not a CtrelayError. The CLI prints it with its stack (exit 70).

export interface ErrorOptions {
  cause?: unknown;
}

export class CtrelayError extends Error {
  /** process exit code the CLI uses for this error */
  readonly exitCode: number;
  /** true when the same work can succeed later (see the header); subclasses say which */
  readonly transient: boolean = false;
  constructor(message: string, exitCode = 1, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.exitCode = exitCode;
  }
}

/** Bad configuration or usage: the message names the key path and the expected form. Exit 2. */
export class ConfigError extends CtrelayError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, 2, options);
  }
}

/** A source problem retrying cannot fix (missing key, unsupported type, table no longer tracked, permission). Exit 3. */
export class SourceError extends CtrelayError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, 3, options);
  }
}

/** The source cannot be reached or asked to retry (connection lost, restart, deadlock, timeout). */
export class SourceUnavailableError extends SourceError {
  override readonly transient = true;
}

/** A Kafka problem retrying cannot fix (authorization, invalid topic, record too large). Exit 4. */
export class KafkaError extends CtrelayError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, 4, options);
  }
}

/** The brokers cannot be reached or answered with a retriable error (leader moved, timeout). */
export class KafkaUnavailableError extends KafkaError {
  override readonly transient = true;
}

/**
 * A newer producer with the same transactional id took over (it fenced this one). The older
 * process must stop: a second capture agent, or a second applier acking for the same standby.
 */
export class ProducerFencedError extends KafkaError {}

/** A record that cannot be decoded (unknown schema, corrupt bytes); names topic, partition, offset. */
export class DecodeError extends KafkaError {}

/**
 * The pipeline ended: `ctrelay promote` made its standby the primary and wrote a fence record to the
 * batch log. Capture refuses to publish from the old source and appliers stop at the fence; the
 * configuration describes a flow that no longer exists (exit 2: reverse it, or start a new one).
 */
export class PipelineFencedError extends ConfigError {}

/** A standby problem retrying cannot fix (permission, a table it cannot create). Exit 5. */
export class StandbyError extends CtrelayError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, 5, options);
  }
}

/** The standby cannot be reached or asked to retry (connection lost, deadlock, serialization failure, lock timeout). */
export class StandbyUnavailableError extends StandbyError {
  override readonly transient = true;
}

/** The standby refused a change (value too long, constraint): names table, key and batch. */
export class ApplyRefusedError extends StandbyError {}

/** The standby's state names a batch the batch log does not hold: resuming would skip or repeat. */
export class BatchLogMismatchError extends StandbyError {}

/** Another applier moved this standby's state past ours: two appliers write one standby. */
export class ConcurrentApplierError extends StandbyError {}

/** Whether a job should wait and retry after `err` (see the header). */
export function isTransient(err: unknown): boolean {
  return err instanceof CtrelayError && err.transient;
}

/** Whether `err` is a user-facing error (as opposed to a bug). */
export function isUserError(err: unknown): err is CtrelayError {
  return err instanceof CtrelayError;
}

/** An archive (ctrelay archive/restore) that cannot be read or does not hold what was asked. Exit 6. */
export class ArchiveError extends CtrelayError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, 6, options);
  }
}

/** An archive file or manifest whose bytes are not what the manifest recorded (SHA-256, Avro framing); names the file. Exit 7. */
export class ArchiveCorruptError extends CtrelayError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, 7, options);
  }
}

/** The archive's storage cannot be reached or asked to retry (throttling, a 5xx, a connection lost). */
export class ArchiveUnavailableError extends ArchiveError {
  override readonly transient = true;
}
