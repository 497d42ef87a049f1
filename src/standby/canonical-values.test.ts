import { describe, expect, it } from 'vitest';
import type { TableMeta } from '../core/model.ts';
import { dedupeLastByKey, describeKey, fixFraction } from './canonical-values.ts';

const t1: TableMeta = { schema: 's', table: 't', key: ['id'], columns: [] };
const t2: TableMeta = { schema: 's', table: 't', key: ['a', 'b'], columns: [] };

describe('fixFraction', () => {
  it('pads the fraction to the precision the column declares', () => {
    expect(fixFraction('10:00:00.1', 3)).toBe('10:00:00.100');
    expect(fixFraction('10:00:00', 3)).toBe('10:00:00.000');
    expect(fixFraction('2024-01-02T03:04:05.123456', 6)).toBe('2024-01-02T03:04:05.123456');
    expect(fixFraction('2024-01-02T03:04:05', 0)).toBe('2024-01-02T03:04:05');
  });
  it('never rounds or invents: more digits than the precision, or odd forms, pass unchanged', () => {
    expect(fixFraction('10:00:00.1234', 3)).toBe('10:00:00.1234');
    expect(fixFraction('infinity', 3)).toBe('infinity');
  });
});

describe('dedupeLastByKey', () => {
  it('keeps the last image of each key in first-seen order', () => {
    const rows = [{ id: 1n, v: 'a' }, { id: 2n, v: 'b' }, { id: 1n, v: 'c' }];
    expect(dedupeLastByKey(t1, rows)).toEqual([{ id: 1n, v: 'c' }, { id: 2n, v: 'b' }]);
  });
  it('compares composite and binary keys by value, and keeps values of different types apart', () => {
    const rows = [
      { a: Buffer.from([1]), b: 1, v: 1 },
      { a: Buffer.from([1]), b: 1, v: 2 },
      { a: Buffer.from([1]), b: '1', v: 3 },
    ];
    expect(dedupeLastByKey(t2, rows).map((r) => r.v)).toEqual([2, 3]);
    expect(dedupeLastByKey(t1, [{ id: 1 }, { id: '1' }])).toHaveLength(2);
  });
});

describe('describeKey', () => {
  it('names each key column, shortening long values', () => {
    expect(describeKey(t2, { a: 'x'.repeat(100), b: null })).toMatch(/^a='x{77}\.\.\.', b=NULL$/);
    expect(describeKey(t1, { id: -9223372036854775808n })).toBe('id=-9223372036854775808');
  });
});
