// Standby acknowledgements as the capture agent sees them: a background reader of `<prefix>.acks`
// that keeps the newest ack of one standby, answers /v1/wait and feeds the sync gate. A reader
// that fails (broker restart, rebalance gone wrong) is closed and re-opened where it stopped.
import type { Logger } from 'pino';
import type { Ack, AckSource } from '../core/ack.ts';
import type { ControlCodec } from '../core/codec.ts';
import { acksTopic } from '../core/topics.ts';
import type { KafkaPort, Reader } from '../kafka/port.ts';
import { topicOffsets } from '../kafka/read-to-end.ts';

/** Only the newest ack matters: start this many offsets before the end of the log. */
const TAIL = 512n;
const REOPEN_DELAY_MS = 1000;

interface Waiter {
  done: (ack: Ack | null) => void;
  test: (ack: Ack) => boolean;
}

export interface AckTrackerOptions {
  prefix: string;
  sourceId: string;
  /** the standby whose acks count; null = any standby of this source */
  standbyId: string | null;
  replicationFactor: number;
}

export class AckTracker implements AckSource {
  latest: Ack | null = null;
  private readonly waiters = new Set<Waiter>();
  private readonly topic: string;
  private reader: Reader | null = null;
  /** next offset to read: where a re-opened reader starts; null until the topic was looked at */
  private next: bigint | null = null;
  private stopped = false;
  private loop: Promise<void> | null = null;

  constructor(
    private readonly kafka: KafkaPort,
    private readonly opts: AckTrackerOptions,
    private readonly control: ControlCodec,
    private readonly log: Logger,
  ) {
    this.topic = acksTopic(opts.prefix);
  }

  /** Starts following the acks topic in the background; failures are logged and retried. */
  start(): void {
    this.loop ??= this.consume();
  }

  /** Creates the topic when absent and finds where to start: a short tail before its end. */
  private async firstOffset(): Promise<bigint> {
    const admin = await this.kafka.admin();
    try {
      await admin.ensureTopics([{ topic: this.topic, partitions: 1, replicationFactor: this.opts.replicationFactor }]);
    } finally {
      await admin.close();
    }
    const p0 = (await topicOffsets(this.kafka, this.topic))?.find((p) => p.partition === 0);
    if (!p0) return 0n;
    return p0.stable - TAIL > p0.low ? p0.stable - TAIL : p0.low;
  }

  private async consume(): Promise<void> {
    while (!this.stopped) {
      try {
        this.next ??= await this.firstOffset();
        this.reader ??= await this.kafka.reader([{ topic: this.topic, partition: 0, from: this.next }]);
        for (const r of await this.reader.poll(this.topic, 0, 500)) {
          this.next = r.offset + 1n;
          if (r.value) this.take(r.value, r.offset);
        }
      } catch (err) {
        if (this.stopped) return;
        this.log.warn({ err, offset: this.next?.toString() ?? null }, 'reading acks failed; re-opening the reader');
        await this.reader?.close().catch(() => undefined);
        this.reader = null;
        await new Promise((r) => setTimeout(r, REOPEN_DELAY_MS));
      }
    }
  }

  private take(value: Buffer, offset: bigint): void {
    let ack: Ack;
    try {
      ack = this.control.decodeAck(value, `${this.topic}[0]@${offset}`);
    } catch (err) {
      // an ack only ever lets capture go on: skipping a record nobody can read is safe
      this.log.warn({ err }, 'skipping an undecodable record on the acks topic');
      return;
    }
    if (ack.sourceId !== this.opts.sourceId) return;
    if (this.opts.standbyId !== null && ack.standbyId !== this.opts.standbyId) return;
    if (this.latest && ack.seq <= this.latest.seq) return;
    this.latest = ack;
    for (const w of this.waiters) if (w.test(ack)) w.done(ack);
  }

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
    await this.reader?.close().catch(() => undefined);
    await this.loop?.catch(() => undefined);
  }
}
