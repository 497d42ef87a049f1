import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DecodeError } from '../core/errors.ts';
import {
  CHUNK_HEADER, CHUNK_ID_HEADER, CHUNK_SIZE_HEADER, ChunkAssembler, DEFAULT_CHUNK_BYTES, recordBytes, recordLimitOf, splitRecord, topicConfigForChunks,
} from './chunks.ts';
import type { InRecord, OutRecord } from './port.ts';

/** Records as a read_committed reader returns them: consecutive offsets from `from`. */
function asRead(records: OutRecord[], from = 0n, topic = 't', partition = 0): InRecord[] {
  return records.map((r, i) => ({ topic, partition, offset: from + BigInt(i), key: r.key, value: r.value, headers: { ...r.headers }, timestamp: 1 }));
}

function assemble(records: InRecord[], a = new ChunkAssembler()): InRecord[] {
  const out: InRecord[] = [];
  for (const r of records) {
    const whole = a.push(r);
    if (whole) out.push(whole);
  }
  return out;
}

const key = Buffer.from('key-1');

describe('splitRecord', () => {
  it('leaves a record that fits as it is (no headers added)', () => {
    const r: OutRecord = { key, value: Buffer.alloc(100) };
    expect(splitRecord(r, 105)).toEqual([r]);
    expect(splitRecord({ key, value: null }, 1)).toEqual([{ key, value: null }]);
  });

  it('splits a larger value into chunks that each fit, with the contract headers', () => {
    const value = randomBytes(10_000);
    const chunks = splitRecord({ key, value }, 2_000, 'ab'.repeat(16));
    expect(chunks.length).toBeGreaterThan(5);
    const n = chunks.length;
    chunks.forEach((c, i) => {
      expect(recordBytes(c)).toBeLessThanOrEqual(2_000);
      expect(c.key).toBe(key);
      expect(c.partition).toBeUndefined();
      expect(c.headers).toEqual({ [CHUNK_HEADER]: `${i + 1}/${n}`, [CHUNK_ID_HEADER]: 'ab'.repeat(16), [CHUNK_SIZE_HEADER]: '10000' });
    });
    const slice = chunks[0].value!.length;
    expect(chunks.slice(0, -1).every((c) => c.value!.length === slice)).toBe(true);
    expect((n - 1) * slice).toBeLessThan(10_000);
    expect(Buffer.concat(chunks.map((c) => c.value!)).equals(value)).toBe(true);
  });

  it('keeps an explicit partition and other headers on every chunk', () => {
    const chunks = splitRecord({ key, value: randomBytes(5_000), partition: 2, headers: { h: 'v' } }, 1_500);
    expect(chunks.every((c) => c.partition === 2 && c.headers!.h === 'v')).toBe(true);
  });

  it('refuses a key that leaves no room for a value', () => {
    expect(() => splitRecord({ key: Buffer.alloc(1_900), value: Buffer.alloc(10_000) }, 2_000)).toThrow(RangeError);
  });

  it('sizes topics for the chunk size, and the default fits topics made with the broker default', () => {
    expect(topicConfigForChunks(DEFAULT_CHUNK_BYTES)).toEqual({ 'max.message.bytes': String(1 << 20) });
    expect(topicConfigForChunks(0)).toEqual({});
    expect(DEFAULT_CHUNK_BYTES).toBeLessThanOrEqual(recordLimitOf(1_048_588));
  });
});

describe('ChunkAssembler', () => {
  it('puts a chunked event back together at its first chunk offset, without chunk headers', () => {
    const value = randomBytes(50_000);
    const chunks = splitRecord({ key, value, headers: { h: 'v' } }, 4_096);
    const read = asRead([{ key: Buffer.from('small'), value: Buffer.from('x') }, ...chunks, { key, value: null }], 10n);
    const out = assemble(read);
    expect(out.map((r) => r.offset)).toEqual([10n, 11n, 11n + BigInt(chunks.length)]);
    expect(out[1].value!.equals(value)).toBe(true);
    expect(out[1].key!.equals(key)).toBe(true);
    expect(out[1].headers).toEqual({ h: 'v' });
    expect(out[2].value).toBeNull();
  });

  it('groups by id: events of other partitions or producers may lie between chunks', () => {
    const a = randomBytes(9_000);
    const b = randomBytes(7_000);
    const ca = asRead(splitRecord({ key, value: a }, 2_048), 0n, 't', 0);
    const cb = asRead(splitRecord({ key, value: b }, 2_048), 0n, 't', 1);
    const foreign = asRead(splitRecord({ key, value: b }, 2_048), 100n, 't', 0);
    const mixed: InRecord[] = [];
    for (let i = 0; i < Math.max(ca.length, cb.length, foreign.length); i++) for (const l of [ca, cb, foreign]) if (l[i]) mixed.push(l[i]);
    const out = assemble(mixed);
    expect(out).toHaveLength(3);
    expect(out.filter((r) => r.partition === 0).map((r) => r.value!.equals(a) || r.value!.equals(b))).toEqual([true, true]);
    expect(out.find((r) => r.partition === 1)!.value!.equals(b)).toBe(true);
  });

  /** an event in 5 chunks at offsets 40..44 of topic.x[3] */
  const chunked = () => {
    const c = asRead(splitRecord({ key, value: randomBytes(9_000) }, 2_048), 40n, 'topic.x', 3);
    expect(c).toHaveLength(5);
    return c;
  };

  it('an incomplete sequence at the end of a range is a DecodeError naming topic, partition and offset', () => {
    const a = new ChunkAssembler();
    assemble(chunked().slice(0, -1), a);
    expect(a.open()).toMatchObject([{ topic: 'topic.x', partition: 3, offset: 40n, have: 4, of: 5 }]);
    expect(() => a.assertComplete('batch 7')).toThrow(DecodeError);
    expect(() => a.assertComplete('batch 7')).toThrow(/^topic\.x\[3\]@40: incomplete chunk sequence: .* 4 of its 5 chunks at the end of batch 7/);
  });

  it('a chunk without its predecessors, out of order, or of another key or size is a DecodeError naming where', () => {
    const c = chunked();
    expect(() => assemble(c.slice(1))).toThrow(/topic\.x\[3\]@41: chunk 2\/5 .* without its chunk 1/);
    expect(() => assemble([c[0], c[2]])).toThrow(/topic\.x\[3\]@42: chunk 3\/5 .* does not continue .* opened at topic\.x\[3\]@40 \(expected chunk 2\/5/);
    expect(() => assemble([c[0], { ...c[1], key: Buffer.from('other') }])).toThrow(/@41: .* the same key/);
    expect(() => assemble([c[0], { ...c[1], headers: { ...c[1].headers, [CHUNK_SIZE_HEADER]: '10001' } }])).toThrow(/@41: chunk 2\/5 \(size 10001\) does not continue/);
    expect(() => assemble([c[0], c[0]])).toThrow(/@40: chunk 1\/5 .* again/);
    expect(() => assemble([c[0], { ...c[1], value: c[1].value!.subarray(1) }])).toThrow(/@41: chunk 2\/5 .* has \d+ bytes, which does not fit/);
  });

  it('refuses malformed headers and sizes that cannot be', () => {
    const [first] = chunked();
    expect(() => assemble([{ ...first, headers: { ...first.headers, [CHUNK_HEADER]: '0/5' } }])).toThrow(/malformed chunk record/);
    expect(() => assemble([{ ...first, headers: { [CHUNK_HEADER]: '1/5' } }])).toThrow(/malformed chunk record/);
    expect(() => assemble([{ ...first, headers: { ...first.headers, [CHUNK_SIZE_HEADER]: String(10 ** 12) } }])).toThrow(/cannot be the first of 5 chunks/);
  });

  it('skips leading orphans only when asked, and only before any other record of the partition', () => {
    const c = chunked();
    const skipping = new ChunkAssembler({ skipLeadingOrphans: true });
    expect(assemble([...c.slice(2), ...asRead([{ key, value: Buffer.from('next') }], 45n, 'topic.x', 3)], skipping).map((r) => r.offset)).toEqual([45n]);
    expect(skipping.skipped).toBe(3);
    expect(() => assemble([...asRead([{ key, value: Buffer.from('a') }], 39n, 'topic.x', 3), ...c.slice(1)], new ChunkAssembler({ skipLeadingOrphans: true }))).toThrow(/without its chunk 1/);
  });
});
