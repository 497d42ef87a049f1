// Records of a page against their topic's limits: chunked when chunking is on, refused with a
// message that names table, key, column and size when it is off. Real Avro encoding (src/avro).
import { describe, expect, it } from 'vitest';
import { singleObjectWireFormat } from '../avro/wire-format.ts';
import type { ChangeEvent } from '../core/batch.ts';
import { KafkaError } from '../core/errors.ts';
import type { TableMeta } from '../core/model.ts';
import { ChunkAssembler, recordBytes } from '../kafka/chunks.ts';
import type { InRecord } from '../kafka/port.ts';
import { describeLargest, fitRecords, pageRecords } from './publish.ts';
import type { Page } from './window.ts';

const T: TableMeta = {
  schema: 'public', table: 'blobs', key: ['id'],
  columns: [
    { name: 'id', type: { kind: 'int32' }, nullable: false, sourceType: 'integer' },
    { name: 'b', type: { kind: 'bytes' }, nullable: true, sourceType: 'bytea' },
    { name: 's', type: { kind: 'string' }, nullable: true, sourceType: 'text' },
  ],
};
const encoder = singleObjectWireFormat().tableEncoder(T, 'p');

function event(id: number, b: Buffer | null, s: string | null, op: ChangeEvent['op'] = 'u'): ChangeEvent {
  return {
    op, after: op === 'd' ? null : { id, b, s }, key: { id },
    source: { db: 'db', schema: 'public', table: 'blobs', version: 2n, commit_ts: null, batch: 1n, snapshot: false }, changed_columns: null, ts_ms: 1,
  };
}

function page(events: ChangeEvent[]): Page {
  return { seq: 1n, windowSeq: 1n, version: 2n, events: events.map((e) => ({ table: T, event: e })), complete: true, tables: [], resnapshots: [], bytes: 0 };
}

const topic = 'p.public.blobs';
const records = (p: Page) => pageRecords(p, () => encoder, () => topic).byTopic.get(topic)!;

describe('fitRecords', () => {
  const large = Buffer.alloc(300_000, 7);
  const p = page([event(1, Buffer.from('a'), 'small'), event(2, large, 'ü'.repeat(50_000)), event(3, null, null, 'd')]);

  it('sends small records as they are, and the very array when nothing needs a split', () => {
    const t = records(page([event(1, Buffer.from('a'), 'x')]));
    expect(fitRecords(topic, t, page([event(1, Buffer.from('a'), 'x')]), { chunkBytes: 1_000, maxRecordBytes: 2_000, maxMessageBytes: 3_024 })).toBe(t.records);
  });

  it('splits a large event into chunks that fit, in place, which reassemble to the encoded event', () => {
    const t = records(p);
    const out = fitRecords(topic, t, p, { chunkBytes: 64_000, maxRecordBytes: 100_000, maxMessageBytes: 101_024 });
    expect(out.length).toBeGreaterThan(t.records.length + 4);
    expect(out.every((r) => recordBytes(r) <= 64_000)).toBe(true);
    const chunks = new ChunkAssembler();
    const whole = out
      .map((r, i): InRecord => ({ topic, partition: 0, offset: BigInt(i), key: r.key, value: r.value, headers: r.headers ?? {}, timestamp: 0 }))
      .map((r) => chunks.push(r))
      .filter((r) => r !== null);
    chunks.assertComplete('the page');
    expect(whole.map((r) => r!.value)).toEqual(t.records.map((r) => r.value));
  });

  it('with chunking off, an event larger than the topic takes is refused naming table, key, column and size', () => {
    const t = records(p);
    const refuse = () => fitRecords(topic, t, p, { chunkBytes: null, maxRecordBytes: 100_000, maxMessageBytes: 101_024 });
    expect(refuse).toThrow(KafkaError);
    const size = recordBytes(t.records[1]).toLocaleString('en-US');
    expect(refuse).toThrow(`cannot publish table public.blobs: key (id=2): its event is ${size} bytes, its largest column "b" holds 300,000 bytes, more than topic p.public.blobs takes (max.message.bytes 101024) and chunking is off`);
    // nothing known of the topic and chunking off: the broker decides
    expect(fitRecords(topic, t, p, { chunkBytes: null, maxRecordBytes: null, maxMessageBytes: null })).toBe(t.records);
  });

  it('describes the largest record of a refused send (strings counted in UTF-8)', () => {
    const q = page([event(1, null, 'a'), event(2, Buffer.alloc(10), 'ü'.repeat(60_000))]);
    expect(describeLargest(records(q), q)).toMatch(/^key \(id=2\): its event is [\d,]+ bytes, its largest column "s" holds 120,000 bytes$/);
  });
});
