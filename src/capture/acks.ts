// Standby acknowledgements as the capture agent sees them: a background reader of `<prefix>.acks`
// that keeps the newest ack of one standby, answers /v1/wait, and gates sync mode.
import type { Logger } from 'pino';
import type { KafkaPort, Reader } from '../kafka/port.ts';
import type { SyncGate } from './agent.ts';
import type { CaptureMetrics } from './metrics.ts';

export interface Ack {
  sourceId: string;
  standbyId: string;
  seq: bigint;
  version: bigint;
  appliedAtMs: number;
  rows: bigint;
}

interface Waiter {
  done: (ack: Ack | null) => void;
  test: (ack: Ack) => boolean;
}

export class AckTracker {
  latest: Ack | null = null;
  private waiters = new Set<Waiter>();
  private reader: Reader | null = null;
  private stopped = false;
  private loop: Promise<void> | null = null;

  constructor(
    private readonly kafka: KafkaPort,
    private readonly topic: string,
    private readonly sourceId: string,
    private readonly standbyId: string | null,
    private readonly decode: (buf: Buffer) => Ack,
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    const admin = await this.kafka.admin();
    let from = 0n;
    try {
      await admin.ensureTopics([{ topic: this.topic, partitions: 1, replicationFactor: 1 }]);
      const p0 = (await admin.offsets(this.topic)).find((p) => p.partition === 0);
      // only the newest ack matters; read a short tail of the log to find it
      if (p0) from = p0.stable - 512n > p0.low ? p0.stable - 512n : p0.low;
    } finally {
      await admin.close();
    }
    this.reader = await this.kafka.reader([{ topic: this.topic, partition: 0, from }]);
    this.loop = this.consume();
  }

  private async consume(): Promise<void> {
    while (!this.stopped) {
      try {
        const records = await this.reader!.poll(this.topic, 0, 500);
        for (const r of records) {
          if (!r.value) continue;
          const ack = this.decode(r.value);
          if (ack.sourceId !== this.sourceId) continue;
          if (this.standbyId !== null && ack.standbyId !== this.standbyId) continue;
          if (this.latest && ack.seq <= this.latest.seq) continue;
          this.latest = ack;
          for (const w of this.waiters) if (w.test(ack)) w.done(ack);
        }
      } catch (err) {
        if (!this.stopped) this.log.warn({ err }, 'reading acks failed; retrying');
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  }

  /** Resolves with the first ack that passes `test`, or null after timeoutMs. */
  waitFor(test: (ack: Ack) => boolean, timeoutMs: number): Promise<Ack | null> {
    if (this.latest && test(this.latest)) return Promise.resolve(this.latest);
    return new Promise((resolve) => {
      const w: Waiter = {
        test,
        done: (ack) => {
          clearTimeout(timer);
          this.waiters.delete(w);
          resolve(ack);
        },
      };
      const timer = setTimeout(() => w.done(null), timeoutMs);
      this.waiters.add(w);
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const w of this.waiters) w.done(null);
    await this.loop?.catch(() => undefined);
    await this.reader?.close().catch(() => undefined);
  }
}

/**
 * Sync mode (DESIGN section 4): window N+1 is read only after the standby acknowledged window N.
 * When no ack comes within timeoutMs: `block` keeps waiting (logging each timeout); `degrade`
 * goes on asynchronously, flagged in metrics and logs, until the standby catches up again, like
 * an availability-group replica going NOT SYNCHRONIZING and back.
 */
export class AckSyncGate implements SyncGate {
  degraded = false;
  private cancelled = false;
  private cancelWait: (() => void) | null = null;

  constructor(
    private readonly acks: AckTracker,
    private readonly timeoutMs: number,
    private readonly policy: 'degrade' | 'block',
    private readonly metrics: CaptureMetrics,
    private readonly log: Logger,
  ) {}

  async awaitAck(seq: bigint, _version: bigint): Promise<void> {
    const caughtUp = (a: { seq: bigint }) => a.seq >= seq;
    if (this.degraded) {
      if (this.acks.latest && caughtUp(this.acks.latest)) {
        this.degraded = false;
        this.metrics.syncDegraded.set(0);
        this.log.warn({ seq: seq.toString() }, 'sync mode: the standby caught up; synchronous again');
      }
      return;
    }
    while (!this.cancelled) {
      const ack = await Promise.race([
        this.acks.waitFor(caughtUp, this.timeoutMs),
        new Promise<null>((resolve) => (this.cancelWait = () => resolve(null))),
      ]);
      if (ack || this.cancelled) return;
      if (this.policy === 'degrade') {
        this.degraded = true;
        this.metrics.syncDegraded.set(1);
        this.log.warn({ seq: seq.toString(), timeoutMs: this.timeoutMs }, 'sync mode: no ack from the standby in time; degraded to asynchronous');
        return;
      }
      this.log.warn({ seq: seq.toString(), timeoutMs: this.timeoutMs }, 'sync mode (block): still waiting for the standby to acknowledge');
    }
  }

  cancel(): void {
    this.cancelled = true;
    this.cancelWait?.();
  }
}
