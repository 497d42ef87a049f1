// Reading a topic to its end through the port: the batch log, the schemas and the acks (the
// control topics), and data topics in tests and tools. The end is the read-committed stable
// offset each partition had when the read began, and reaching it is proven by the reader's
// position (which counts aborted records and transaction markers), never guessed from an empty
// poll, so a slow consumer-group join cannot cut a read short.
import { KafkaUnavailableError } from '../core/errors.ts';
import type { InRecord, KafkaPort, PartitionOffsets } from './port.ts';

/** Read-committed offsets of every partition of `topic`; null when the topic does not exist. */
export async function topicOffsets(kafka: KafkaPort, topic: string): Promise<PartitionOffsets[] | null> {
  const admin = await kafka.admin();
  try {
    if ((await admin.partitionCount(topic)) === null) return null;
    return await admin.offsets(topic);
  } finally {
    await admin.close();
  }
}

export interface PartitionRange {
  partition: number;
  /** first offset to read */
  from: bigint;
  /** read up to here, exclusive */
  until: bigint;
}

/** Hands every committed record of the given ranges of `topic` to `each`, in offset order per partition. */
export async function readRanges(kafka: KafkaPort, topic: string, ranges: PartitionRange[], each: (r: InRecord) => void, timeoutMs = 60_000): Promise<void> {
  let open = ranges.filter((r) => r.from < r.until);
  if (open.length === 0) return;
  const reader = await kafka.reader(open.map((r) => ({ topic, partition: r.partition, from: r.from })));
  const deadline = Date.now() + timeoutMs;
  try {
    while (open.length > 0) {
      const still: PartitionRange[] = [];
      for (const r of open) {
        const done = reader.position(topic, r.partition) >= r.until;
        const records = await reader.poll(topic, r.partition, done ? 0 : open.length > 1 ? 100 : 500);
        for (const rec of records) if (rec.offset < r.until) each(rec);
        if (!done || records.length > 0) still.push(r);
      }
      open = still;
      if (open.length > 0 && Date.now() > deadline) {
        const at = open.map((r) => `[${r.partition}] at ${reader.position(topic, r.partition)} of ${r.until}`).join(', ');
        throw new KafkaUnavailableError(`${topic}: could not read to the end within ${timeoutMs / 1000} s (${at})`);
      }
    }
  } finally {
    await reader.close();
  }
}

export interface ReadToEndOptions {
  /** first offset to read in each partition (default: its log start) */
  from?: (p: PartitionOffsets) => bigint;
  timeoutMs?: number;
}

/**
 * Hands every committed record of `topic` up to its current end to `each`. Returns the offsets the
 * read ended at, or null when the topic does not exist (nothing was ever written to it).
 */
export async function readToEnd(kafka: KafkaPort, topic: string, each: (r: InRecord) => void, opts: ReadToEndOptions = {}): Promise<PartitionOffsets[] | null> {
  const offsets = await topicOffsets(kafka, topic);
  if (offsets === null) return null;
  const ranges = offsets.map((p) => {
    const from = opts.from ? opts.from(p) : p.low;
    return { partition: p.partition, from: from > p.low ? from : p.low, until: p.stable };
  });
  await readRanges(kafka, topic, ranges, each, opts.timeoutMs);
  return offsets;
}

/**
 * The last committed record of partition 0 for which `pick` returns a value, read back from the end
 * in widening spans (each transaction leaves a marker after its records and aborted transactions
 * leave records nobody sees, so the last offset is rarely the last record). Null when there is none.
 */
export async function readLast<T>(kafka: KafkaPort, topic: string, pick: (r: InRecord) => T | undefined): Promise<{ value: T; offset: bigint } | null> {
  const offsets = await topicOffsets(kafka, topic);
  const p0 = offsets?.find((p) => p.partition === 0);
  if (!p0 || p0.stable <= p0.low) return null;
  for (let span = 64n; ; span *= 8n) {
    const from = p0.stable - span > p0.low ? p0.stable - span : p0.low;
    let last: { value: T; offset: bigint } | null = null;
    await readRanges(kafka, topic, [{ partition: 0, from, until: p0.stable }], (r) => {
      const value = pick(r);
      if (value !== undefined) last = { value, offset: r.offset };
    });
    if (last || from === p0.low) return last;
  }
}
