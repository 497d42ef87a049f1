// Read-committed reader of explicitly assigned partitions over kafkajs, which has no manual
// assignment: a consumer with a throwaway group id subscribes to the topics, seeks every assigned
// partition to the wanted offset each time it joins, pauses the partitions nobody asked for and
// never commits. Fetched batches go into per-partition buffers that poll() drains; a full buffer
// pauses its partition (back-pressure without blocking eachBatch, which would stop heartbeats).
//
// Read-committed filtering is kafkajs's: the broker stops at the last stable offset and kafkajs's
// Batch drops aborted records (by the fetch response's aborted-transaction list) and control
// records. Offsets are tracked here too: a record at or below the last one returned is dropped, so
// a rejoin that restarts from the log start (no committed offsets) can never duplicate records.
import { randomUUID } from 'node:crypto';
import type { Consumer, EachBatchPayload, Kafka, KafkaMessage } from 'kafkajs';
import { KafkaError } from '../../core/errors.ts';
import type { Assignment, InRecord, Reader } from '../port.ts';
import { toKafkaError, withDeadline } from './errors.ts';

export interface ReaderOptions {
  kafka: Kafka;
  brokers: readonly string[];
  clientId: string;
  operationTimeoutMs: number;
  retries: number;
  /** per partition: records buffered before the partition is paused */
  bufferRecords: number;
  /** per partition: bytes (keys + values) buffered before the partition is paused (default 32 MiB) */
  bufferBytes?: number;
  /** most records one poll() returns */
  maxPollRecords: number;
  /** longest a fetch waits on the broker for new data; bounds the latency after a resume */
  fetchWaitMs: number;
}

interface PartState {
  topic: string;
  partition: number;
  /** next offset to hand out; anything below is a duplicate */
  next: bigint;
  /** fetched up to here, filtered records included (see Reader.position) */
  fetched: bigint;
  buf: InRecord[];
  head: number;
  /** bytes of the records in buf from head on */
  bytes: number;
  paused: boolean;
  waiters: Set<() => void>;
}

const key = (topic: string, partition: number): string => `${partition}\u0000${topic}`;

const sizeOf = (r: InRecord): number => (r.key?.length ?? 0) + (r.value?.length ?? 0);

function toHeaders(h: KafkaMessage['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  if (!h) return out;
  for (const [k, v] of Object.entries(h)) {
    if (v === undefined) continue;
    const one = Array.isArray(v) ? v[v.length - 1] : v;
    out[k] = Buffer.isBuffer(one) ? one.toString('utf8') : String(one);
  }
  return out;
}

export class KafkajsReader implements Reader {
  private readonly parts = new Map<string, PartState>();
  private readonly consumer: Consumer;
  private failure: KafkaError | null = null;
  private closed = false;
  private readonly bufferBytes: number;

  private constructor(
    private readonly opts: ReaderOptions,
    assignments: Assignment[],
  ) {
    this.bufferBytes = opts.bufferBytes ?? 32 << 20;
    for (const a of assignments) {
      if (a.from < 0n) throw new KafkaError(`reader assignment ${a.topic}[${a.partition}] has a negative offset ${a.from}`);
      this.parts.set(key(a.topic, a.partition), {
        topic: a.topic,
        partition: a.partition,
        next: a.from,
        fetched: a.from,
        buf: [],
        head: 0,
        bytes: 0,
        paused: false,
        waiters: new Set(),
      });
    }
    this.consumer = opts.kafka.consumer({
      groupId: `ctrelay-reader.${opts.clientId}.${randomUUID()}`,
      readUncommitted: false,
      allowAutoTopicCreation: false,
      // After a broker restart kafkajs rejoins as a new member, and the group waits for the dead
      // old member until its session expires: keep that short (the broker's minimum is 6 s).
      sessionTimeout: 10_000,
      rebalanceTimeout: 10_000,
      heartbeatInterval: 1_000,
      maxWaitTimeInMs: opts.fetchWaitMs,
      minBytes: 1,
      // kafkajs decodes a whole fetch response in one synchronous run: bounded bytes per fetch keep
      // that run short, so heartbeats and timers never starve (a record larger than this still
      // comes, alone: the broker always returns the first batch)
      maxBytes: 16 << 20,
      maxBytesPerPartition: 4 << 20,
      retry: { retries: opts.retries },
    });
  }

  static async open(opts: ReaderOptions, assignments: Assignment[]): Promise<KafkajsReader> {
    const r = new KafkajsReader(opts, assignments);
    await r.start();
    return r;
  }

  private async start(): Promise<void> {
    const topics = [...new Set([...this.parts.values()].map((p) => p.topic))];
    const { consumer } = this;
    let joined!: () => void;
    const firstJoin = new Promise<void>((resolve) => (joined = resolve));
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      this.onJoin(payload.memberAssignment);
      joined();
    });
    // batches that held only aborted records or markers never reach eachBatch; kafkajs still
    // reports how far they went, which is what lets a reader prove it reached the end. kafkajs
    // emits the same event after EVERY batch, also one that onBatch dropped as stale (a seek after
    // a group rejoin was pending): its records were not buffered and will be fetched again, so
    // only a batch with no visible record (batchSize 0) may move the position here; onBatch moves
    // it for the batches it keeps.
    consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
      const st = this.parts.get(key(payload.topic, payload.partition));
      if (!st || payload.batchSize !== 0 || payload.lastOffset === undefined || payload.lastOffset === null) return;
      const upTo = BigInt(payload.lastOffset) + 1n;
      if (upTo > st.fetched) {
        st.fetched = upTo;
        for (const w of st.waiters) w();
      }
    });
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      // kafkajs restarts itself after retriable errors (broker restart, coordinator moved); only a
      // crash it gives up on ends this reader.
      if (!payload.restart && !this.closed) {
        this.failure = toKafkaError(payload.error, `reading ${topics.join(',')}`, this.opts.brokers);
        this.wakeAll();
      }
    });
    const what = `opening a Kafka reader on ${topics.join(',')}`;
    await withDeadline(
      (async () => {
        await consumer.connect();
        // fromBeginning only matters if a rejoin ever loses the seek: the offset filter above then
        // drops what was already returned, whereas "latest" would silently skip records.
        await consumer.subscribe({ topics, fromBeginning: true });
        await consumer.run({
          autoCommit: false,
          eachBatchAutoResolve: true,
          partitionsConsumedConcurrently: 1,
          eachBatch: async (payload) => this.onBatch(payload),
        });
        await firstJoin;
      })(),
      this.opts.operationTimeoutMs,
      what,
      this.opts.brokers,
      () => consumer.disconnect(),
    );
  }

  /** Runs on every (re)join: the new consumer group state knows nothing of seeks and pauses. */
  private onJoin(assignment: Record<string, number[]>): void {
    const unwanted: { topic: string; partitions: number[] }[] = [];
    const full: { topic: string; partitions: number[] }[] = [];
    const open: { topic: string; partitions: number[] }[] = [];
    for (const [topic, partitions] of Object.entries(assignment)) {
      const skip: number[] = [];
      const paused: number[] = [];
      const reading: number[] = [];
      for (const partition of partitions) {
        const st = this.parts.get(key(topic, partition));
        if (!st) {
          skip.push(partition);
          continue;
        }
        this.consumer.seek({ topic, partition, offset: st.next.toString() });
        (st.paused ? paused : reading).push(partition);
      }
      if (skip.length) unwanted.push({ topic, partitions: skip });
      if (paused.length) full.push({ topic, partitions: paused });
      if (reading.length) open.push({ topic, partitions: reading });
    }
    if (unwanted.length) this.consumer.pause(unwanted);
    if (full.length) this.consumer.pause(full);
    // kafkajs keeps its pause list across rejoins: a resume that threw while the group was
    // rejoining would otherwise leave a partition paused for good, and every poll of it empty
    if (open.length) this.safely(() => this.consumer.resume(open));
  }

  private onBatch({ batch, isStale }: EachBatchPayload): void {
    const st = this.parts.get(key(batch.topic, batch.partition));
    if (!st) {
      this.consumer.pause([{ topic: batch.topic, partitions: [batch.partition] }]);
      return;
    }
    if (isStale() || this.closed) return;
    const { topic, partition } = batch;
    const upTo = BigInt(batch.lastOffset()) + 1n;
    if (upTo > st.fetched) st.fetched = upTo;
    let added = 0;
    for (const m of batch.messages) {
      const offset = BigInt(m.offset);
      if (offset < st.next) continue;
      const rec: InRecord = {
        topic,
        partition,
        offset,
        key: m.key ?? null,
        value: m.value ?? null,
        headers: m.headers ? toHeaders(m.headers) : {},
        timestamp: Number(m.timestamp),
      };
      st.buf.push(rec);
      st.bytes += sizeOf(rec);
      st.next = offset + 1n;
      added++;
    }
    if (added === 0) return;
    if (!st.paused && (st.buf.length - st.head >= this.opts.bufferRecords || st.bytes >= this.bufferBytes)) {
      st.paused = true;
      this.safely(() => this.consumer.pause([{ topic, partitions: [partition] }]));
    }
    for (const w of st.waiters) w();
  }

  // pause/resume throw while kafkajs restarts its consumer group; onJoin re-applies the state then.
  private safely(fn: () => void): void {
    try {
      fn();
    } catch {
      // see above
    }
  }

  private wakeAll(): void {
    for (const st of this.parts.values()) for (const w of st.waiters) w();
  }

  async poll(topic: string, partition: number, waitMs: number): Promise<InRecord[]> {
    const st = this.parts.get(key(topic, partition));
    if (!st) throw new KafkaError(`poll of ${topic}[${partition}] failed: the partition is not assigned to this reader`);
    if (this.failure) throw this.failure;
    if (this.closed) throw new KafkaError(`poll of ${topic}[${partition}] failed: the reader is closed`);
    if (st.head >= st.buf.length && waitMs > 0) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(timer);
          st.waiters.delete(done);
          resolve();
        };
        const timer = setTimeout(done, waitMs);
        st.waiters.add(done);
      });
      if (this.failure) throw this.failure;
    }
    // at most maxPollRecords, and about bufferBytes (at least one record)
    let end = st.head;
    let bytes = 0;
    const most = Math.min(st.buf.length, st.head + this.opts.maxPollRecords);
    while (end < most && (end === st.head || bytes < this.bufferBytes)) bytes += sizeOf(st.buf[end++]);
    const out = st.buf.slice(st.head, end);
    st.head = end;
    st.bytes -= bytes;
    if (st.head >= st.buf.length) {
      st.buf = [];
      st.head = 0;
      st.bytes = 0;
    } else if (st.head > 65_536) {
      // compact now and then instead of shifting on every poll
      st.buf = st.buf.slice(st.head);
      st.head = 0;
    }
    if (st.paused && st.buf.length - st.head < this.opts.bufferRecords / 2 && st.bytes < this.bufferBytes / 2) {
      st.paused = false;
      this.safely(() => this.consumer.resume([{ topic, partitions: [partition] }]));
    }
    return out;
  }

  position(topic: string, partition: number): bigint {
    const st = this.parts.get(key(topic, partition));
    if (!st) throw new KafkaError(`position of ${topic}[${partition}]: the partition is not assigned to this reader`);
    return st.fetched > st.next ? st.fetched : st.next;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.wakeAll();
    try {
      await this.consumer.disconnect();
    } catch {
      // the group is throwaway; the broker expires it if the leave request is lost
    }
  }
}
