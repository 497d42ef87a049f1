// `ctrelay tail`: decoded change events as JSON lines, the first tool of an audit consumer.
// Reads committed events only (read_committed), from the start or the end of each partition.
// A chunked event (src/kafka/chunks.ts) prints as one line, at the offset of its first chunk.
import { singleObjectWireFormat } from '../avro/wire-format.ts';
import { KafkaError } from '../core/errors.ts';
import { retryTransient } from '../core/retry.ts';
import { ChunkAssembler } from '../kafka/chunks.ts';
import type { KafkaPort } from '../kafka/port.ts';
import { TopicDecoder } from '../kafka/schemas-topic.ts';

export interface TailOptions {
  topics: string[];
  from: 'beginning' | 'end';
  /** stop after this many events (0 = no limit) */
  max: number;
  /** stop after this long without a new event (0 = follow for ever) */
  idleMs: number;
  write: (line: string) => void;
  stopped?: () => boolean;
}

/**
 * JSON that keeps every value distinguishable: bigint exact (as a string), bytes as
 * {"base64": ...}, and the float values JSON has no number for as strings: NaN -> "NaN",
 * +-Infinity -> "Infinity" / "-Infinity", negative zero -> "-0" (JSON.stringify would print the
 * first three as null, like SQL NULL, and -0 as 0). SQL NULL stays null.
 */
export function toJsonLine(value: unknown): string {
  return JSON.stringify(value, function (this: Record<string, unknown>, k, v) {
    // the holder's own value, before Buffer#toJSON turned it into an array of numbers (one JS
    // number per byte: hundreds of megabytes for a large value)
    const raw = this[k];
    if (Buffer.isBuffer(raw)) return { base64: raw.toString('base64') };
    if (typeof v === 'number') {
      if (Number.isFinite(v)) return Object.is(v, -0) ? '-0' : v;
      return Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity';
    }
    if (typeof v === 'bigint') return v.toString();
    if (v && typeof v === 'object' && v.type === 'Buffer' && Array.isArray(v.data)) return { base64: Buffer.from(v.data).toString('base64') };
    return v;
  });
}

export async function tail(kafka: KafkaPort, prefix: string, opts: TailOptions): Promise<number> {
  const events = new TopicDecoder(kafka, prefix, singleObjectWireFormat().decoder());
  // a schemas topic created a moment ago may not have a known leader yet
  await retryTransient(() => events.load(), 8, () => undefined);
  const admin = await kafka.admin();
  const assignments: { topic: string; partition: number; from: bigint }[] = [];
  try {
    for (const topic of opts.topics) {
      const offsets = await admin.offsets(topic);
      if (offsets.length === 0) throw new KafkaError(`topic ${topic} does not exist`);
      for (const p of offsets) assignments.push({ topic, partition: p.partition, from: opts.from === 'beginning' ? p.low : p.stable });
    }
  } finally {
    await admin.close();
  }
  const reader = await kafka.reader(assignments);
  // --from beginning may start inside an event whose first chunks retention deleted: skip its rest
  const chunks = new ChunkAssembler({ skipLeadingOrphans: true });
  let printed = 0;
  let lastEvent = Date.now();
  try {
    while (!opts.stopped?.()) {
      let got = 0;
      for (const a of assignments) {
        const records = await reader.poll(a.topic, a.partition, assignments.length > 1 ? 50 : 500);
        for (const raw of records) {
          got++;
          const r = chunks.push(raw);
          if (r === null) continue; // a chunk of an event still open
          const where = `${r.topic}[${r.partition}]@${r.offset}`;
          let line: unknown;
          if (r.value === null) {
            const key = r.key ? await events.decodeKey(r.key, where) : null;
            line = { topic: r.topic, partition: r.partition, offset: r.offset, tombstone: true, key };
          } else {
            const d = await events.decodeEvent(r.value, where);
            line = { topic: r.topic, partition: r.partition, offset: r.offset, ...d.event };
          }
          opts.write(toJsonLine(line) + '\n');
          printed++;
          if (opts.max > 0 && printed >= opts.max) return printed;
        }
      }
      if (got > 0) lastEvent = Date.now();
      else if (opts.idleMs > 0 && Date.now() - lastEvent >= opts.idleMs) break;
    }
  } finally {
    await reader.close();
  }
  return printed;
}
