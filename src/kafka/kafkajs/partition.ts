// Partition choice and send chunking, kept free of I/O so they can be unit-tested. The adapter picks
// every partition itself (rather than leaving it to kafkajs) because it must know how many records
// went to each partition to turn a produce response's baseOffset into a WrittenRange.
import type { OutRecord, WrittenRange } from '../port.ts';

/** Kafka's murmur2 (org.apache.kafka.common.utils.Utils.murmur2), as a signed 32-bit int. */
export function murmur2(data: Buffer): number {
  const length = data.length;
  const seed = 0x9747b28c;
  const m = 0x5bd1e995;
  const r = 24;
  let h = seed ^ length;
  const length4 = length >> 2;
  for (let i = 0; i < length4; i++) {
    const i4 = i * 4;
    let k = (data[i4] & 0xff) + ((data[i4 + 1] & 0xff) << 8) + ((data[i4 + 2] & 0xff) << 16) + ((data[i4 + 3] & 0xff) << 24);
    k = Math.imul(k, m);
    k ^= k >>> r;
    k = Math.imul(k, m);
    h = Math.imul(h, m);
    h ^= k;
  }
  const rest = length & 3;
  const base = length & ~3;
  if (rest === 3) h ^= (data[base + 2] & 0xff) << 16;
  if (rest >= 2) h ^= (data[base + 1] & 0xff) << 8;
  if (rest >= 1) {
    h ^= data[base] & 0xff;
    h = Math.imul(h, m);
  }
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h | 0;
}

/** The partition the Java client's default partitioner gives a keyed record. */
export function partitionForKey(key: Buffer, partitions: number): number {
  return (murmur2(key) & 0x7fffffff) % partitions;
}

// Record overhead in a v2 batch is a few varints plus header strings; 64 bytes is generous.
const RECORD_OVERHEAD = 64;

export function recordSize(r: OutRecord): number {
  let n = RECORD_OVERHEAD + (r.key?.length ?? 0) + (r.value?.length ?? 0);
  if (r.headers) for (const [k, v] of Object.entries(r.headers)) n += k.length * 3 + Buffer.byteLength(v) + 8;
  return n;
}

export interface Placed {
  partition: number;
  record: OutRecord;
}

/**
 * Splits records into sends that stay under the broker's message.max.bytes (1 MiB by default, per
 * partition batch) while keeping each partition's records in their original order.
 */
export function chunk(placed: Placed[], maxBytes: number, maxRecords: number): Placed[][] {
  const chunks: Placed[][] = [];
  let cur: Placed[] = [];
  let bytes = 0;
  for (const p of placed) {
    const size = recordSize(p.record);
    if (cur.length > 0 && (bytes + size > maxBytes || cur.length >= maxRecords)) {
      chunks.push(cur);
      cur = [];
      bytes = 0;
    }
    cur.push(p);
    bytes += size;
  }
  if (cur.length > 0) chunks.push(cur);
  return chunks;
}

/**
 * Adds one send's range to the list, merging it into the previous range of the same partition when
 * they are adjacent. When another producer wrote in between, the ranges stay separate so that no
 * range covers foreign records.
 */
export function addRange(ranges: WrittenRange[], r: WrittenRange): void {
  for (let i = ranges.length - 1; i >= 0; i--) {
    const prev = ranges[i];
    if (prev.topic !== r.topic || prev.partition !== r.partition) continue;
    if (prev.last + 1n === r.first) {
      prev.last = r.last;
      prev.count += r.count;
      return;
    }
    break;
  }
  ranges.push({ ...r });
}
