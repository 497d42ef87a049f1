// Turning one page of a window into Kafka records: per table, a key and value per event and a
// tombstone after each delete, plus the per-table counts and the oldest commit time. Per-event work
// stays minimal (table lookups once per table, counters once per page): this is the capture hot path.
//
// Records must fit their topic: an event larger than the topic's chunk size is split into chunk
// records (src/kafka/chunks.ts holds the wire contract); with chunking off, an event larger than
// the topic takes stops capture with a KafkaError naming table, key, column and size, before
// anything is sent (the broker would refuse it; a request beyond its socket limit would even look
// like a lost connection and be retried for ever).
import type { Page } from './window.ts';
import type { ChangeEvent } from '../core/batch.ts';
import type { TableEncoder } from '../core/codec.ts';
import { KafkaError } from '../core/errors.ts';
import { qualifiedName, type TableMeta, type Value } from '../core/model.ts';
import { recordBytes, splitRecord } from '../kafka/chunks.ts';
import type { OutRecord } from '../kafka/port.ts';

/** The records of one table's topic in a page. */
export interface TopicRecords {
  table: TableMeta;
  /** in event order (a tombstone right after its delete) */
  records: OutRecord[];
  /** per record, the index in page.events of the event it carries (a tombstone: its delete's) */
  origins: number[];
}

export interface PageRecords {
  /** data records per topic, in event order */
  byTopic: Map<string, TopicRecords>;
  /** events per table and op, for metrics */
  counts: { table: string; ops: Record<'c' | 'u' | 'd' | 'r', number> }[];
  /** the oldest source commit time in the page (ms), or null when no event has one */
  oldestCommitMs: number | null;
}

export function pageRecords(page: Page, encoderOf: (table: TableMeta) => TableEncoder, topicOf: (table: TableMeta) => string): PageRecords {
  const byTopic = new Map<string, TopicRecords>();
  const tables = new Map<TableMeta, { encoder: TableEncoder; out: TopicRecords; count: PageRecords['counts'][number] }>();
  // commit times share one ISO format, so the smallest string is the oldest
  let oldest: string | null = null;
  const events = page.events;
  for (let i = 0; i < events.length; i++) {
    const { table, event } = events[i];
    let t = tables.get(table);
    if (!t) {
      const topic = topicOf(table);
      let out = byTopic.get(topic);
      if (!out) byTopic.set(topic, (out = { table, records: [], origins: [] }));
      t = { encoder: encoderOf(table), out, count: { table: qualifiedName(table), ops: { c: 0, u: 0, d: 0, r: 0 } } };
      tables.set(table, t);
    }
    const key = t.encoder.encodeKey(event.key);
    t.out.records.push({ key, value: t.encoder.encodeEvent(event) });
    t.out.origins.push(i);
    // a tombstone after each delete lets the topic be compacted
    if (event.op === 'd') {
      t.out.records.push({ key, value: null });
      t.out.origins.push(i);
    }
    t.count.ops[event.op]++;
    const ts = event.source.commit_ts;
    if (ts !== null && (oldest === null || ts < oldest)) oldest = ts;
  }
  return { byTopic, counts: [...tables.values()].map((t) => t.count), oldestCommitMs: oldest === null ? null : Date.parse(oldest) };
}

/** How large the records of one topic may be. */
export interface RecordLimit {
  /** split events larger than this (key + value + headers per record); null = chunking off */
  chunkBytes: number | null;
  /** the largest record the topic takes (its max.message.bytes less framing); null = unknown */
  maxRecordBytes: number | null;
  /** the topic's max.message.bytes as read at start, for messages; null = unknown */
  maxMessageBytes: number | null;
}

/**
 * The records to send for one topic: each record as it is when it fits, else its chunks; with
 * chunking off, a record the topic cannot take is a KafkaError naming table, key, column and size.
 * Returns the input itself when nothing needs splitting (the common case: no copy).
 */
export function fitRecords(topic: string, t: TopicRecords, page: Page, limit: RecordLimit): OutRecord[] {
  const { chunkBytes, maxRecordBytes } = limit;
  const bound = chunkBytes ?? maxRecordBytes;
  if (bound === null) return t.records;
  let out: OutRecord[] | null = null;
  for (let i = 0; i < t.records.length; i++) {
    const r = t.records[i];
    if (recordBytes(r) <= bound) {
      out?.push(r);
      continue;
    }
    const { event } = page.events[t.origins[i]];
    if (chunkBytes === null) {
      throw new KafkaError(
        `cannot publish table ${qualifiedName(t.table)}: ${describeRecord(t.table, event, recordBytes(r))}, more than topic ${topic} takes ` +
          `(max.message.bytes ${limit.maxMessageBytes}) and chunking is off. Turn chunking on (kafka.chunkBytes > 0) so that large events are split into chunk records, ` +
          `or raise the topic's max.message.bytes (and the broker's socket.request.max.bytes and the consumers' fetch limits) above it`,
      );
    }
    let chunks: OutRecord[];
    try {
      chunks = splitRecord(r, chunkBytes);
    } catch (err) {
      throw new KafkaError(`cannot publish table ${qualifiedName(t.table)}: ${describeRecord(t.table, event, recordBytes(r))}: ${(err as Error).message}; raise the chunk size`);
    }
    out ??= t.records.slice(0, i);
    out.push(...chunks);
  }
  return out ?? t.records;
}

const fmt = new Intl.NumberFormat('en-US');

/** Byte size of one canonical value, as its encoding will roughly hold it. */
export function valueBytes(v: Value): number {
  if (v === null) return 0;
  if (typeof v === 'string') return Buffer.byteLength(v);
  if (Buffer.isBuffer(v)) return v.length;
  return 8;
}

function keyText(table: TableMeta, key: Record<string, Value>): string {
  return table.key
    .map((c) => {
      const v = key[c];
      let s: string;
      if (Buffer.isBuffer(v)) s = `0x${v.subarray(0, 16).toString('hex')}${v.length > 16 ? '…' : ''}`;
      else if (typeof v === 'string') s = JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
      else s = String(v);
      return `${c}=${s}`;
    })
    .join(', ');
}

/**
 * "key (id=1): its event is 5,243,210 bytes, the largest column "b" holds 3,000,000 bytes": what an
 * operator needs to find the row and the value.
 */
export function describeRecord(table: TableMeta, event: ChangeEvent, bytes: number): string {
  let largest: { name: string; bytes: number } | null = null;
  for (const c of table.columns) {
    const b = event.after ? valueBytes(event.after[c.name] ?? null) : 0;
    if (!largest || b > largest.bytes) largest = { name: c.name, bytes: b };
  }
  const column = event.after && largest && largest.bytes > 0 ? `, its largest column "${largest.name}" holds ${fmt.format(largest.bytes)} bytes` : '';
  return `key (${keyText(table, event.key)}): its ${event.op === 'd' ? 'delete ' : ''}event is ${fmt.format(bytes)} bytes${column}`;
}

/**
 * The largest record of a refused send, described (see describeRecord): the broker does not say
 * which record it refused, and a too-large refusal is about the largest.
 */
export function describeLargest(t: TopicRecords, page: Page): string | null {
  let best = -1;
  let size = -1;
  for (let i = 0; i < t.records.length; i++) {
    const n = recordBytes(t.records[i]);
    if (n > size) {
      size = n;
      best = i;
    }
  }
  if (best < 0) return null;
  return describeRecord(t.table, page.events[t.origins[best]].event, size);
}
