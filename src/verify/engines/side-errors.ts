// Errors of verify's database reads: the source's are SourceErrors (exit 3), a standby's are
// StandbyErrors (exit 5), named by side, with the driver's message redacted. Verify is a one-shot
// tool: nothing is retried, an outage ends the run with its exit code.
import { CtrelayError, SourceError, StandbyError } from '../../core/errors.ts';
import { redact } from '../../core/redact.ts';
import { isProgrammingError } from '../../drivers/driver-errors.ts';

export function sideFailure(side: string, err: unknown): unknown {
  if (err instanceof CtrelayError || isProgrammingError(err)) return err;
  const message = redact(`verify: reading the ${side} failed: ${err instanceof Error ? err.message : String(err)}`);
  return side === 'source' ? new SourceError(message, { cause: err }) : new StandbyError(message, { cause: err });
}
