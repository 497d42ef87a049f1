// Reads complete windows from Kafka in batch-log order: the batch records from `<prefix>.batches`,
// then each batch's events from the data partitions at exactly the offsets the record lists.
// Pages of a window that never completed (the capture agent died mid-window) are dropped.
// Chunked events (src/kafka/chunks.ts) are put back together here; their chunks lie within the
// ranges of the batch that carries them, so a sequence still open at the end of a batch's ranges is
// a DecodeError naming topic, partition and offset.
import type { BatchRecord } from '../core/batch.ts';
import type { ControlCodec, DecodedEvent } from '../core/codec.ts';
import { BatchLogMismatchError, KafkaError, KafkaUnavailableError } from '../core/errors.ts';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { ChunkAssembler } from '../kafka/chunks.ts';
import type { InRecord, KafkaPort, Reader } from '../kafka/port.ts';
import { topicOffsets } from '../kafka/read-to-end.ts';
import type { TopicDecoder } from '../kafka/schemas-topic.ts';

/** Events decoded between two yields to the event loop: no decode may starve heartbeats and timers. */
const DECODE_SLICE = 2_000;
/** How long a poll waits before the reader looks at the partition's offsets to say why nothing came. */
const POLL_WAIT_MS = 1_000;
/** No record for this long although the broker holds them: the reader is stuck, say so (transient). */
const NO_PROGRESS_MS = 120_000;

export interface CompleteWindow {
  /** the window's batches in seq order; the last is complete */
  batches: BatchRecord[];
  /** offset of the complete batch's record in the batch log */
  offset: bigint;
  events: DecodedEvent[];
  /** bytes of the window's records (keys and values, chunks included): what it holds in memory */
  bytes: number;
  /** the events' record values as on Kafka (chunks put back together), when `keepValues` is set */
  values?: Buffer[];
}

const tp = (topic: string, partition: number) => `${topic}\u0000${partition}`;

export class WindowReader {
  private batchReader: Reader | null = null;
  private dataReader: Reader | null = null;
  /** next offset to read per data partition, for partitions the data reader is assigned */
  private positions = new Map<string, { topic: string; partition: number; next: bigint }>();
  /** records polled but not yet consumed, per partition; `head` avoids O(n) Array.shift on big polls */
  private buffered = new Map<string, { records: InRecord[]; head: number }>();
  private pending: BatchRecord[] = [];
  private queue: { record: InRecord; batch: BatchRecord }[] = [];
  /** windows dropped because they never completed */
  discarded = 0;
  /** keep each event's record value (CompleteWindow.values): the archiver stores them as they are */
  keepValues = false;

  constructor(
    private readonly kafka: KafkaPort,
    private readonly batchesTopic: string,
    private readonly sourceId: string,
    private readonly control: ControlCodec,
    private readonly events: TopicDecoder,
    private readonly fromOffset: bigint,
    /** the batch the standby says it applied last, expected at fromOffset */
    private resumeFrom: { seq: bigint } | null = null,
    /** told of every batch record of this source as it is read (for lag metrics) */
    private readonly observe: (batch: BatchRecord) => void = () => undefined,
  ) {}

  /** The next complete window with seq > afterSeq, or null if none arrived within waitMs. */
  async next(afterSeq: bigint, waitMs: number): Promise<CompleteWindow | null> {
    this.batchReader ??= await this.kafka.reader([{ topic: this.batchesTopic, partition: 0, from: this.fromOffset }]);
    const deadline = Date.now() + waitMs;
    for (;;) {
      while (this.queue.length > 0) {
        const { record, batch } = this.queue.shift()!;
        if (batch.sourceId !== this.sourceId || batch.seq <= afterSeq) continue;
        if (this.pending.length > 0 && this.pending[0].windowSeq !== batch.windowSeq) {
          this.pending = [];
          this.discarded++;
        }
        this.pending.push(batch);
        if (batch.complete) {
          const batches = this.pending;
          this.pending = [];
          const { events, bytes, values } = await this.fetchEvents(batches);
          return { batches, offset: record.offset, events, bytes, values };
        }
      }
      const left = deadline - Date.now();
      if (left <= 0) return null;
      const records = await this.batchReader.poll(this.batchesTopic, 0, Math.min(left, 500));
      for (const r of records) {
        if (!r.value) continue;
        const batch = this.control.decodeBatch(r.value, `${this.batchesTopic}[0]@${r.offset}`);
        if (this.resumeFrom) this.checkResume(r.offset, batch);
        if (batch.sourceId === this.sourceId) this.observe(batch);
        this.queue.push({ record: r, batch });
      }
    }
  }

  /**
   * The standby's state names a batch and its offset in this batch log; if that record is not
   * there, the log was reset or belongs to another pipeline, and resuming by offset would skip or
   * repeat batches. Refuse instead.
   */
  private checkResume(offset: bigint, batch: BatchRecord): void {
    const want = this.resumeFrom!;
    this.resumeFrom = null;
    if (offset !== this.fromOffset || batch.sourceId !== this.sourceId || batch.seq !== want.seq) {
      throw new BatchLogMismatchError(
        `the standby's ctrelay_state says source ${this.sourceId} batch ${want.seq} was applied from ${this.batchesTopic} offset ${this.fromOffset}, ` +
          `but that offset holds ${offset === this.fromOffset ? `batch ${batch.seq} of source ${batch.sourceId}` : 'nothing (deleted by retention?)'}: ` +
          `the batch log was reset or belongs to another pipeline. Re-initialise this standby (delete its ctrelay_state row for ${this.sourceId} and its tables) to re-snapshot it.`,
      );
    }
  }

  private async fetchEvents(batches: BatchRecord[]): Promise<{ events: DecodedEvent[]; bytes: number; values?: Buffer[] }> {
    const ranges = batches.flatMap((b) => b.ranges);
    const missing = ranges.filter((r) => !this.positions.has(tp(r.topic, r.partition)));
    if (missing.length > 0) {
      // kafkajs cannot add partitions to a running consumer: re-open the data reader with every
      // partition known so far at its current position
      // a partition can appear in several pages of a window: its first range is where reading starts
      for (const r of missing) {
        const k = tp(r.topic, r.partition);
        if (!this.positions.has(k)) this.positions.set(k, { topic: r.topic, partition: r.partition, next: r.first });
      }
      await this.dataReader?.close();
      this.buffered.clear();
      this.dataReader = await this.kafka.reader([...this.positions.values()].map((p) => ({ topic: p.topic, partition: p.partition, from: p.next })));
    }
    const out: DecodedEvent[] = [];
    const values: Buffer[] | undefined = this.keepValues ? [] : undefined;
    let bytes = 0;
    // one per window: a batch holds whole events, so nothing is open between batches
    const chunks = new ChunkAssembler();
    for (const b of batches) {
      for (const r of b.ranges) {
        const key = tp(r.topic, r.partition);
        const pos = this.positions.get(key)!;
        if (pos.next > r.first) {
          throw new KafkaError(`batch log lists ${r.topic}[${r.partition}] offsets ${r.first}..${r.last}, but this reader is already at ${pos.next}: the batch log and data topics disagree`);
        }
        let buf = this.buffered.get(key) ?? { records: [], head: 0 };
        let seen = 0;
        let lastProgress = Date.now();
        while (seen < r.count) {
          if (buf.head >= buf.records.length) {
            buf = { records: await this.dataReader!.poll(r.topic, r.partition, POLL_WAIT_MS), head: 0 };
            if (buf.records.length === 0) {
              await this.explainMissing(r, pos.next, lastProgress);
              continue;
            }
            lastProgress = Date.now();
          }
          const raw = buf.records[buf.head];
          // consumed records are released as we go: a partition's buffer may hold chunks of large events
          (buf.records as (InRecord | undefined)[])[buf.head++] = undefined;
          if (raw.offset < r.first) continue;
          if (raw.offset > r.last) {
            throw new KafkaError(`${r.topic}[${r.partition}]: expected ${r.count} records in offsets ${r.first}..${r.last}, found ${seen}`);
          }
          seen++;
          pos.next = raw.offset + 1n;
          bytes += (raw.key?.length ?? 0) + (raw.value?.length ?? 0);
          if (raw.value === null) continue; // tombstone
          const rec = chunks.push(raw);
          if (rec === null) continue; // a chunk of an event still open
          const where = `${rec.topic}[${rec.partition}]@${rec.offset}`;
          // the synchronous path first: awaiting per event would cost a microtask on the hot path
          out.push(this.events.decoder.decodeEvent(rec.value!, where) ?? (await this.events.decodeEvent(rec.value!, where)));
          values?.push(rec.value!);
          if (out.length % DECODE_SLICE === 0) await yieldToEventLoop();
        }
        this.buffered.set(key, buf);
      }
      chunks.assertComplete(`the ranges of batch ${b.seq} in ${this.batchesTopic}`);
    }
    return { events: out, bytes, values };
  }

  /**
   * A poll of a listed range came back empty: find out why from the broker, and say only what is
   * true. Records deleted (retention, deleteRecords) or a topic gone cannot come back: a permanent
   * KafkaError. A broker whose stable offset is behind the batch log, or a reader that gets nothing
   * although the records are there, may recover: the caller keeps waiting, and after NO_PROGRESS_MS
   * without a record a transient error with the offsets makes the applier resume.
   */
  private async explainMissing(r: { topic: string; partition: number; first: bigint; last: bigint }, next: bigint, lastProgress: number): Promise<void> {
    const where = `${r.topic}[${r.partition}]`;
    const p = (await topicOffsets(this.kafka, r.topic))?.find((x) => x.partition === r.partition);
    if (!p) throw new KafkaError(`the batch log lists offsets ${r.first}..${r.last} of ${where}, but that topic or partition does not exist any more`);
    if (p.low > next) {
      throw new KafkaError(
        `events of ${where} from offset ${next} (the batch lists ${r.first}..${r.last}) were deleted: the log now starts at ${p.low} (retention or deleteRecords). ` +
          `The standby cannot be brought forward from Kafka; re-initialise it (delete its ctrelay_state row for ${this.sourceId} and its tables) to re-snapshot it, and give the data topics a retention longer than the standby may fall behind.`,
      );
    }
    if (Date.now() - lastProgress < NO_PROGRESS_MS) return;
    throw new KafkaUnavailableError(
      p.stable <= r.last
        ? `${where}: the broker's last stable offset is ${p.stable}, behind the batch log, which lists offsets up to ${r.last}: waited ${NO_PROGRESS_MS / 1000} s`
        : `${where}: no record arrived for ${NO_PROGRESS_MS / 1000} s although the broker holds offsets ${p.low}..${p.stable - 1n} and this reader is at ${next}`,
    );
  }

  async close(): Promise<void> {
    await this.batchReader?.close().catch(() => undefined);
    await this.dataReader?.close().catch(() => undefined);
  }
}
