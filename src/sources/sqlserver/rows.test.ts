import { describe, expect, it } from 'vitest';
import { SourceError } from '../../core/errors.ts';
import { lines, orders } from './fixtures.test-util.ts';
import { commitTimeToIso, decodeChangeRow, decodeRow, versionOrNull } from './rows.ts';

const info = { columnIds: new Map([['amount', 2], ['note', 3]]), computed: new Set<string>() };

describe('decodeChangeRow', () => {
  it('update with a column mask', () => {
    const r = decodeChangeRow(orders, info, {
      ct_version: '9223372036854775807',
      ct_operation: 'U',
      ct_columns: Buffer.from([1]),
      ct_commit_time: '2024-05-01 10:00:00.000',
      k0: 3,
      row_found: true,
      c0: 3,
      c1: '12.30',
      c2: '',
      m1: true,
      m2: false,
    });
    expect(r).toEqual({
      op: 'U',
      version: 9223372036854775807n,
      key: { id: 3 },
      row: { id: 3, amount: '12.30', note: '' },
      changedColumns: ['amount'],
      commitTs: '2024-05-01T10:00:00.000Z',
    });
  });
  it('SYS_CHANGE_COLUMNS NULL (all columns or untracked) gives changedColumns null', () => {
    const r = decodeChangeRow(orders, info, { ct_version: '5', ct_operation: 'U', ct_columns: null, ct_commit_time: null, k0: 1, row_found: true, c0: 1, c1: null, c2: null, m1: null, m2: null });
    expect(r.changedColumns).toBeNull();
    expect(r.commitTs).toBeNull();
    expect(r.row).toEqual({ id: 1, amount: null, note: null });
  });
  it('computed columns count as possibly changed', () => {
    const r = decodeChangeRow(orders, { columnIds: new Map([['amount', 2]]), computed: new Set(['note']) }, {
      ct_version: '5', ct_operation: 'U', ct_columns: Buffer.from([1]), ct_commit_time: null, k0: 1, row_found: true, c0: 1, c1: '1.00', c2: 'x', m1: false,
    });
    expect(r.changedColumns).toEqual(['note']);
  });
  it('delete carries the key only', () => {
    const r = decodeChangeRow(lines, { columnIds: null, computed: new Set() }, {
      ct_version: '7', ct_operation: 'D', ct_columns: null, ct_commit_time: null,
      k0: '6F9619FF-8B86-D011-B42D-00C04FC964FF', k1: '2024-02-29', k2: 4, row_found: false,
      c0: null, c1: null, c2: null, c3: null, c4: null,
    });
    expect(r).toEqual({ op: 'D', version: 7n, key: { tenant: '6f9619ff-8b86-d011-b42d-00c04fc964ff', day: '2024-02-29', 'line no': 4 }, row: null, changedColumns: null, commitTs: null });
  });
  it('an insert whose row is gone (non-snapshot race) becomes a delete', () => {
    const r = decodeChangeRow(orders, info, { ct_version: '8', ct_operation: 'I', ct_columns: null, ct_commit_time: null, k0: 2, row_found: false, c0: null, c1: null, c2: null });
    expect(r.op).toBe('D');
    expect(r.row).toBeNull();
  });
  it('bad values are SourceErrors naming table and column', () => {
    expect(() => decodeRow(orders, { c0: 1, c1: 12.3, c2: null })).toThrow(SourceError);
    expect(() => decodeRow(orders, { c0: 1, c1: 12.3, c2: null })).toThrow(/dbo\.orders column amount/);
    expect(() => decodeChangeRow(orders, info, { ct_version: '1', ct_operation: 'X', k0: 1 })).toThrow(/SYS_CHANGE_OPERATION/);
  });
});

describe('helpers', () => {
  it('versions: 0 is a real version, NULL is null', () => {
    expect(versionOrNull('0', 'v')).toBe(0n);
    expect(versionOrNull(null, 'v')).toBeNull();
    expect(versionOrNull('123456789012345678', 'v')).toBe(123456789012345678n);
  });
  it('commit times', () => {
    expect(commitTimeToIso('2024-05-01 10:00:00')).toBe('2024-05-01T10:00:00.000Z');
    expect(commitTimeToIso('2024-05-01 10:00:00.123')).toBe('2024-05-01T10:00:00.123Z');
    expect(() => commitTimeToIso('May  1 2024 10:00AM')).toThrow(SourceError);
  });
});
