import { describe, expect, it } from 'vitest';
import { ConfigError, KafkaUnavailableError, SourceError, StandbyUnavailableError } from './errors.ts';
import { retryTransient, RetryPolicy, runWithRetries } from './retry.ts';

const transient = new StandbyUnavailableError('standby away');
const permanent = new SourceError('table no longer tracked');

describe('RetryPolicy', () => {
  it('retries transient errors with capped doubling backoff, never anything else', () => {
    const p = new RetryPolicy({ initialDelayMs: 100, maxDelayMs: 1_000 });
    expect([1, 2, 3, 4, 5, 9].map((n) => p.delayAfter(transient, n))).toEqual([100, 200, 400, 800, 1_000, 1_000]);
    expect(p.delayAfter(permanent, 1)).toBeNull();
    expect(p.delayAfter(new ConfigError('bad key'), 1)).toBeNull();
    expect(p.delayAfter(new TypeError('a bug'), 1)).toBeNull();
  });

  it('gives up after the configured number of consecutive failures', () => {
    const p = new RetryPolicy({ maxConsecutiveFailures: 3 });
    expect(p.delayAfter(transient, 2)).not.toBeNull();
    expect(p.delayAfter(transient, 3)).toBeNull();
  });
});

describe('runWithRetries', () => {
  it('recovers after a transient failure, counts recovery failures, and rethrows a permanent one', async () => {
    const log: string[] = [];
    const script = [transient, null, 'stop'] as const;
    let step = 0;
    let recoverFails = 1;
    let stopping = false;
    await runWithRetries(new RetryPolicy({ initialDelayMs: 1 }), {
      step: async () => {
        const s = script[step++];
        log.push(`step ${step}`);
        if (s === 'stop') stopping = true;
        else if (s) throw s;
      },
      recover: async () => {
        log.push('recover');
        if (recoverFails-- > 0) throw new KafkaUnavailableError('broker away');
      },
      stopping: () => stopping,
      onRetry: (_err, failures, delay) => log.push(`retry ${failures} after ${delay}`),
      sleep: async () => undefined,
    });
    expect(log).toEqual(['step 1', 'retry 1 after 1', 'recover', 'retry 2 after 2', 'recover', 'step 2', 'step 3']);
    await expect(runWithRetries(new RetryPolicy(), {
      step: async () => { throw permanent; },
      recover: async () => undefined,
      stopping: () => false,
      onRetry: () => undefined,
      sleep: async () => undefined,
    })).rejects.toBe(permanent);
  });
});

describe('retryTransient', () => {
  it('runs again after transient failures up to the attempts given, then throws the last', async () => {
    let calls = 0;
    const ok = await retryTransient(async () => (++calls < 3 ? Promise.reject(transient) : 'done'), 5, () => undefined, new RetryPolicy({ initialDelayMs: 1 }));
    expect([ok, calls]).toEqual(['done', 3]);
    calls = 0;
    await expect(retryTransient(async () => { calls++; throw transient; }, 2, () => undefined, new RetryPolicy({ initialDelayMs: 1 }))).rejects.toBe(transient);
    expect(calls).toBe(2);
    calls = 0;
    await expect(retryTransient(async () => { calls++; throw permanent; }, 5, () => undefined)).rejects.toBe(permanent);
    expect(calls).toBe(1);
  });
});
