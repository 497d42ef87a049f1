import { describe, expect, it } from 'vitest';
import type { TableMeta } from '../core/model.ts';
import { dedupeLastByKey } from './row-keys.ts';

const t1: TableMeta = { schema: 's', table: 't', key: ['id'], columns: [] };
const t2: TableMeta = { schema: 's', table: 't', key: ['a', 'b'], columns: [] };

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
