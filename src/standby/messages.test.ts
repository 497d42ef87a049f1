import { describe, expect, it } from 'vitest';
import type { TableMeta } from '../core/model.ts';
import { describeKey, driverMessage } from './messages.ts';

const t1: TableMeta = { schema: 's', table: 't', key: ['id'], columns: [] };
const t2: TableMeta = { schema: 's', table: 't', key: ['a', 'b'], columns: [] };

describe('describeKey', () => {
  it('names each key column, shortening long values', () => {
    expect(describeKey(t2, { a: 'x'.repeat(100), b: null })).toMatch(/^a='x{77}\.\.\.', b=NULL$/);
    expect(describeKey(t1, { id: -9223372036854775808n })).toBe('id=-9223372036854775808');
    expect(describeKey(t1, { id: Buffer.from([0, 255]) })).toBe('id=0x00ff');
  });
});

describe('driverMessage', () => {
  it('keeps the driver detail and code an operator searches for', () => {
    const err = Object.assign(new Error('value too long for type character varying(5)'), { code: '22001', detail: 'Key (id)=(7)' });
    expect(driverMessage(err)).toBe('value too long for type character varying(5) (Key (id)=(7)) [22001]');
    expect(driverMessage('plain')).toBe('plain');
  });
});
