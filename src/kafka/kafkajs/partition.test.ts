import { describe, expect, it } from 'vitest';
import type { WrittenRange } from '../port.ts';
import { addRange, chunk, murmur2, partitionForKey, type Placed } from './partition.ts';

describe('murmur2', () => {
  // Vectors from Kafka's own UtilsTest.testMurmur2, so keys land where Java producers put them.
  it.each([
    ['21', -973932308],
    ['foobar', -790332482],
    ['a-little-bit-long-string', -985981536],
    ['a-little-bit-longer-string', -1486304829],
    ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
    ['abc', 479470107],
  ])('%s', (s, expected) => {
    expect(murmur2(Buffer.from(s))).toBe(expected);
  });

  it('maps to a non-negative partition', () => {
    for (let i = 0; i < 1000; i++) {
      const p = partitionForKey(Buffer.from(`k${i}`), 7);
      expect(p).toBeGreaterThanOrEqual(0);
      expect(p).toBeLessThan(7);
    }
  });
});

describe('chunk', () => {
  const rec = (n: number): Placed => ({ partition: n % 2, record: { key: null, value: Buffer.alloc(100) } });

  it('keeps order and respects the byte budget', () => {
    const placed = Array.from({ length: 1000 }, (_, i) => rec(i));
    const chunks = chunk(placed, 10_000, 1_000_000);
    expect(chunks.length).toBeGreaterThan(10);
    expect(chunks.flat()).toEqual(placed);
    for (const c of chunks) expect(c.length * 164).toBeLessThanOrEqual(10_000);
  });

  it('puts an oversized record alone rather than dropping it', () => {
    const big: Placed = { partition: 0, record: { key: null, value: Buffer.alloc(50_000) } };
    expect(chunk([rec(0), big, rec(1)], 10_000, 100)).toEqual([[rec(0)], [big], [rec(1)]]);
  });
});

describe('addRange', () => {
  const r = (partition: number, first: bigint, count: number): WrittenRange => ({
    topic: 't',
    partition,
    first,
    last: first + BigInt(count - 1),
    count,
  });

  it('merges adjacent ranges of a partition and keeps gaps apart', () => {
    const out: WrittenRange[] = [];
    addRange(out, r(0, 0n, 10));
    addRange(out, r(1, 0n, 5));
    addRange(out, r(0, 10n, 10));
    addRange(out, r(1, 7n, 5));
    expect(out).toEqual([r(0, 0n, 20), r(1, 0n, 5), r(1, 7n, 5)]);
  });
});
