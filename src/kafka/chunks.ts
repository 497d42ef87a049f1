// Chunked records: how an event larger than a Kafka record may be travels, and the one place that
// splits and reassembles it. Capture splits (src/capture/publish.ts); every consumer reassembles
// with ChunkAssembler: the applier's WindowReader, `ctrelay tail`, the test helpers.
//
// THE WIRE CONTRACT (for third-party consumers too)
//
// A Kafka topic refuses a record batch larger than its `max.message.bytes` (the broker's default is
// about 1 MB), while one row can hold values of hundreds of megabytes. So:
//
//  1. A data record whose key + value + headers fit the topic's chunk size is written as it always
//     was, without any `ctrelay.chunk*` header. Keys and tombstones (null values) are never split.
//  2. A larger event value is written as n >= 2 CHUNK RECORDS that
//       - are written in ONE Kafka transaction (the batch's), to ONE partition (the partition of the
//         event's key), in order i = 1..n, one after the other: ctrelay writes nothing else to that
//         partition between them;
//       - all carry the event's Kafka key (the same bytes);
//       - carry these headers, UTF-8 text:
//           ctrelay.chunk       "i/n": this chunk's 1-based index and the chunk count, in decimal
//           ctrelay.chunk.id    32 hex digits shared by the n chunks of one event, unique per event
//           ctrelay.chunk.size  the byte length of the whole event value, in decimal
//       - hold consecutive slices of the event value (its Avro single-object bytes, `C3 01` +
//         fingerprint + body): chunks 1..n-1 have one length L > 0, the last 1..L bytes, so
//         (n-1)*L < size <= n*L.
//  3. The batch log's offset ranges count records, chunks included, and always hold whole events:
//     every chunk of an event lies in the ranges of the batch that carries the event.
//
// Reading (read_committed, per partition in offset order): a record with `ctrelay.chunk` = "1/n"
// opens event `ctrelay.chunk.id`; the records of the same id with i = 2..n complete it. Concatenate
// their values in order; the result, of exactly `ctrelay.chunk.size` bytes, is the event value and
// decodes like any other. A chunk that does not follow its predecessor, or whose key, n or size
// differ from the first chunk's, is corrupt; so is an event whose chunks do not all lie within one
// batch's ranges. ctrelay's consumers stop with a DecodeError naming topic, partition and offset.
// (Records of another producer may in principle lie between two chunks; grouping by id is what
// makes reading robust to that.)
//
// Compaction keeps only the last record of a key, i.e. the last chunk of a chunked event: ctrelay
// creates its data topics with the default cleanup.policy (delete); do not compact them.
//
// Chunk size: capture writes records of at most min(its chunk size, the topic's max.message.bytes
// less FRAMING_BYTES) bytes of key + value + headers, and creates data topics with
// max.message.bytes = chunk size + TOPIC_HEADROOM_BYTES.
import { randomBytes } from 'node:crypto';
import { constants as bufferConstants } from 'node:buffer';
import { DecodeError } from '../core/errors.ts';
import type { InRecord, OutRecord } from './port.ts';

export const CHUNK_HEADER = 'ctrelay.chunk';
export const CHUNK_ID_HEADER = 'ctrelay.chunk.id';
export const CHUNK_SIZE_HEADER = 'ctrelay.chunk.size';

/**
 * Default chunk size (key + value + headers of one record): 1 MiB - 64 KiB, so that chunks also fit
 * topics created before ctrelay chunked (the broker's default max.message.bytes is 1,048,588).
 */
export const DEFAULT_CHUNK_BYTES = (1 << 20) - (64 << 10);
/** What a one-record batch adds around key, value and headers (batch header, varints): generous. */
export const FRAMING_BYTES = 1024;
/** max.message.bytes of a topic ctrelay creates, above its chunk size. */
export const TOPIC_HEADROOM_BYTES = 64 << 10;
/** A chunk's value must be at least this long: a key that leaves less room is refused. */
const MIN_SLICE_BYTES = 1024;

/** The config a data topic ctrelay creates gets, for a chunk size (0 = chunking off: none). */
export function topicConfigForChunks(chunkBytes: number): Record<string, string> {
  return chunkBytes > 0 ? { 'max.message.bytes': String(chunkBytes + TOPIC_HEADROOM_BYTES) } : {};
}

/** The largest record (key + value + headers) a topic with this max.message.bytes takes. */
export function recordLimitOf(maxMessageBytes: number): number {
  return Math.max(0, maxMessageBytes - FRAMING_BYTES);
}

/** key + value + header names and values, in bytes: what the chunk size bounds. */
export function recordBytes(r: OutRecord): number {
  let n = (r.key?.length ?? 0) + (r.value?.length ?? 0);
  if (r.headers) for (const [k, v] of Object.entries(r.headers)) n += Buffer.byteLength(k) + Buffer.byteLength(v);
  return n;
}

export function isChunk(r: { headers?: Record<string, string> }): boolean {
  return r.headers?.[CHUNK_HEADER] !== undefined;
}

/**
 * The records to write for `record`: itself when it fits `maxRecordBytes`, else its chunks (see the
 * contract above), which leave `partition` as it is (absent: the key's partition, the same for all).
 * Chunk values are views of the record's value, not copies. Throws RangeError when the key leaves
 * no room for a useful chunk (the caller names the table).
 */
export function splitRecord(record: OutRecord, maxRecordBytes: number, id: string = randomBytes(16).toString('hex')): OutRecord[] {
  const value = record.value;
  if (value === null || recordBytes(record) <= maxRecordBytes) return [record];
  const size = value.length;
  const digits = String(size).length;
  // headers at their longest: "i/n" with i and n of at most `digits` digits each
  const own = recordBytes({ key: record.key, value: null, headers: record.headers });
  const ours = CHUNK_HEADER.length + 2 * digits + 1 + CHUNK_ID_HEADER.length + Buffer.byteLength(id) + CHUNK_SIZE_HEADER.length + digits;
  const slice = maxRecordBytes - own - ours;
  if (slice < MIN_SLICE_BYTES) {
    throw new RangeError(`a chunk of ${maxRecordBytes} bytes leaves ${slice} bytes for the value next to a key of ${record.key?.length ?? 0} bytes and headers`);
  }
  const n = Math.ceil(size / slice);
  const out: OutRecord[] = [];
  for (let i = 0; i < n; i++) {
    out.push({
      key: record.key,
      value: value.subarray(i * slice, Math.min(size, (i + 1) * slice)),
      ...(record.partition !== undefined ? { partition: record.partition } : {}),
      headers: { ...record.headers, [CHUNK_HEADER]: `${i + 1}/${n}`, [CHUNK_ID_HEADER]: id, [CHUNK_SIZE_HEADER]: String(size) },
    });
  }
  return out;
}

interface Pending {
  first: InRecord;
  n: number;
  size: number;
  /** length of every chunk but the last */
  slice: number;
  buf: Buffer;
  filled: number;
  next: number;
}

interface PartitionState {
  open: Map<string, Pending>;
  /** whether a record other than a skipped orphan was seen (orphans are only skipped before that) */
  started: boolean;
}

export interface ChunkAssemblerOptions {
  /**
   * Skip chunks i > 1 whose first chunk was never read, but only before any other record of their
   * partition: a reader that starts at the log start, where retention may have deleted the first
   * chunks of an event (tail --from beginning). Everywhere else such a chunk is a DecodeError.
   */
  skipLeadingOrphans?: boolean;
}

/** A chunk sequence read so far, not complete yet. */
export interface OpenSequence {
  topic: string;
  partition: number;
  /** offset of its first chunk */
  offset: bigint;
  id: string;
  have: number;
  of: number;
}

const partitionKey = (topic: string, partition: number) => `${topic}\u0000${partition}`;
const where = (r: InRecord) => `${r.topic}[${r.partition}]@${r.offset}`;

function withoutChunkHeaders(headers: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) if (k !== CHUNK_HEADER && k !== CHUNK_ID_HEADER && k !== CHUNK_SIZE_HEADER) out[k] = v;
  return out;
}

function decimal(text: string | undefined): number {
  return text !== undefined && /^\d{1,15}$/.test(text) ? Number(text) : NaN;
}

/**
 * Puts chunked events back together (see the contract above). Feed it every record of each
 * partition in offset order; it returns each record that is whole (unchunked ones as they are, a
 * chunked event once its last chunk arrives: the offset, timestamp and headers of its first chunk,
 * without the chunk headers, and the whole value) and null for a chunk of an event still open.
 * Memory: one buffer of each open event's size, filled as its chunks arrive.
 */
export class ChunkAssembler {
  private readonly parts = new Map<string, PartitionState>();
  /** chunks skipped as leading orphans (skipLeadingOrphans) */
  skipped = 0;

  constructor(private readonly opts: ChunkAssemblerOptions = {}) {}

  push(r: InRecord): InRecord | null {
    const k = partitionKey(r.topic, r.partition);
    let st = this.parts.get(k);
    if (!st) this.parts.set(k, (st = { open: new Map(), started: false }));
    const header = r.headers[CHUNK_HEADER];
    if (header === undefined) {
      st.started = true;
      return r;
    }
    const m = /^(\d{1,9})\/(\d{1,9})$/.exec(header);
    const id = r.headers[CHUNK_ID_HEADER];
    const size = decimal(r.headers[CHUNK_SIZE_HEADER]);
    const i = m ? Number(m[1]) : NaN;
    const n = m ? Number(m[2]) : NaN;
    if (!m || !id || !(i >= 1 && i <= n) || Number.isNaN(size) || r.value === null) {
      throw new DecodeError(
        `${where(r)}: malformed chunk record (${CHUNK_HEADER}=${JSON.stringify(header)}, ${CHUNK_ID_HEADER}=${JSON.stringify(id ?? null)}, ` +
          `${CHUNK_SIZE_HEADER}=${JSON.stringify(r.headers[CHUNK_SIZE_HEADER] ?? null)}, ${r.value === null ? 'no value' : `${r.value.length} bytes`})`,
      );
    }
    const value = r.value;
    if (i === 1) {
      st.started = true;
      if (st.open.has(id)) throw new DecodeError(`${where(r)}: chunk 1/${n} of event ${id} again, while that event is still open since offset ${st.open.get(id)!.first.offset}`);
      const slice = value.length;
      const fits = n === 1 ? size === slice : slice > 0 && (n - 1) * slice < size && size <= n * slice;
      if (!fits || size > bufferConstants.MAX_LENGTH) {
        throw new DecodeError(`${where(r)}: chunk 1/${n} of event ${id} has ${slice} bytes, which cannot be the first of ${n} chunks of an event of ${size} bytes`);
      }
      const p: Pending = { first: r, n, size, slice, buf: Buffer.allocUnsafe(size), filled: 0, next: 1 };
      st.open.set(id, p);
      return this.add(st, id, p, r, value);
    }
    const p = st.open.get(id);
    if (!p) {
      if (this.opts.skipLeadingOrphans && !st.started) {
        this.skipped++;
        return null;
      }
      throw new DecodeError(`${where(r)}: chunk ${i}/${n} of event ${id} without its chunk 1 (incomplete chunk sequence)`);
    }
    if (i !== p.next || n !== p.n || size !== p.size || !sameKey(p.first.key, r.key)) {
      throw new DecodeError(
        `${where(r)}: chunk ${i}/${n} (size ${size}) does not continue event ${id} opened at ${where(p.first)} ` +
          `(expected chunk ${p.next}/${p.n}, size ${p.size}${sameKey(p.first.key, r.key) ? '' : ', the same key'})`,
      );
    }
    return this.add(st, id, p, r, value);
  }

  private add(st: PartitionState, id: string, p: Pending, r: InRecord, value: Buffer): InRecord | null {
    const last = p.next === p.n;
    if (last ? p.filled + value.length !== p.size || value.length === 0 || value.length > p.slice : value.length !== p.slice) {
      throw new DecodeError(`${where(r)}: chunk ${p.next}/${p.n} of event ${id} has ${value.length} bytes, which does not fit an event of ${p.size} bytes in chunks of ${p.slice}`);
    }
    value.copy(p.buf, p.filled);
    p.filled += value.length;
    p.next++;
    if (!last) return null;
    st.open.delete(id);
    return { ...p.first, value: p.buf, headers: withoutChunkHeaders(p.first.headers) };
  }

  /** The chunk sequences read but not complete, first chunk's offset order per partition. */
  open(): OpenSequence[] {
    const out: OpenSequence[] = [];
    for (const st of this.parts.values()) {
      for (const [id, p] of st.open) out.push({ topic: p.first.topic, partition: p.first.partition, offset: p.first.offset, id, have: p.next - 1, of: p.n });
    }
    return out;
  }

  /** Bytes held for open events. */
  get bufferedBytes(): number {
    let n = 0;
    for (const st of this.parts.values()) for (const p of st.open.values()) n += p.size;
    return n;
  }

  /**
   * Throws DecodeError naming topic, partition and offset when a chunk sequence is open: at the end
   * of a batch's ranges, which hold whole events (contract rule 3). `context` says what ended.
   */
  assertComplete(context: string): void {
    const open = this.open();
    if (open.length === 0) return;
    const o = open[0];
    throw new DecodeError(
      `${o.topic}[${o.partition}]@${o.offset}: incomplete chunk sequence: event ${o.id} has ${o.have} of its ${o.of} chunks at the end of ${context}` +
        (open.length > 1 ? ` (and ${open.length - 1} more open event(s))` : ''),
    );
  }

  /** Forgets every open sequence (a reader that re-positions). */
  reset(): void {
    this.parts.clear();
  }
}

function sameKey(a: Buffer | null, b: Buffer | null): boolean {
  if (a === null || b === null) return a === b;
  return a.equals(b);
}
