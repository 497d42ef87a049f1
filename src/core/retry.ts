// One retry policy for every long-running job (capture, apply): transient errors are waited out
// with capped exponential backoff, anything else stops the job. The decision is made from the
// error's type (src/core/errors.ts), never from its message.
import { isTransient } from './errors.ts';

export interface RetryPolicyOptions {
  /** first wait after a failure (doubles per consecutive failure) */
  initialDelayMs?: number;
  /** longest wait between attempts */
  maxDelayMs?: number;
  /** stop after this many consecutive failures even if transient; 0 = retry for ever */
  maxConsecutiveFailures?: number;
}

export class RetryPolicy {
  private readonly initialDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly maxConsecutiveFailures: number;

  constructor(opts: RetryPolicyOptions = {}) {
    this.initialDelayMs = opts.initialDelayMs ?? 500;
    this.maxDelayMs = opts.maxDelayMs ?? 30_000;
    this.maxConsecutiveFailures = opts.maxConsecutiveFailures ?? 0;
  }

  /**
   * How long to wait before the next attempt after the `failures`-th consecutive failure (1 for the
   * first), or null when the job must stop: the error is not transient, or the budget is spent.
   */
  delayAfter(err: unknown, failures: number): number | null {
    if (!isTransient(err)) return null;
    if (this.maxConsecutiveFailures > 0 && failures >= this.maxConsecutiveFailures) return null;
    return Math.min(this.maxDelayMs, this.initialDelayMs * 2 ** Math.min(Math.max(failures - 1, 0), 16));
  }
}

export interface RetryLoop {
  /** one unit of work (a poll, a window); called again and again until stopping() */
  step(): Promise<void>;
  /** re-positions from the job's checkpoint after a failure, before the next step */
  recover(): Promise<void>;
  stopping(): boolean;
  /** a failure that will be retried after `delayMs` (log it, count it) */
  onRetry(err: unknown, failures: number, delayMs: number): void;
  /** waits `ms`, returning early when the job is asked to stop */
  sleep(ms: number): Promise<void>;
}

/**
 * Runs `step` until stopping(). A failure is retried after the policy's delay, with `recover`
 * first (a failed recovery counts as another failure, so the backoff grows); a failure the policy
 * refuses to retry is rethrown: the job stops with it.
 */
export async function runWithRetries(policy: RetryPolicy, loop: RetryLoop): Promise<void> {
  let failures = 0;
  let recover = false;
  while (!loop.stopping()) {
    try {
      if (recover) await loop.recover();
      recover = false;
      await loop.step();
      failures = 0;
    } catch (err) {
      if (loop.stopping()) return;
      failures++;
      const delayMs = policy.delayAfter(err, failures);
      if (delayMs === null) throw err;
      loop.onRetry(err, failures, delayMs);
      recover = true;
      await loop.sleep(delayMs);
    }
  }
}

/**
 * Runs `fn` again after a transient failure, up to `attempts` times in all, with the policy's
 * backoff; anything else, or the last failure, is thrown. For start-up steps that meet a system
 * still settling (a topic created a moment ago whose leader is not known yet), where the long-running
 * loop's endless retry would hide a real outage at start.
 */
export async function retryTransient<T>(fn: () => Promise<T>, attempts: number, onRetry: (err: unknown, attempt: number) => void, policy = new RetryPolicy({ initialDelayMs: 250, maxDelayMs: 4_000 })): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      const delay = attempt < attempts ? policy.delayAfter(err, attempt) : null;
      if (delay === null) throw err;
      onRetry(err, attempt);
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}
