import { describe, expect, it } from 'vitest';
import type { ColumnMeta, ColumnType } from '../../core/model.ts';
import { quoteIdent } from '../../drivers/postgres/quote.ts';
import { columnLiteral, ddlType, fromPgText } from './pg-types.ts';

const col = (name: string, type: ColumnType): ColumnMeta => ({ name, type, nullable: true, sourceType: type.kind });

describe('PostgreSQL type mapping', () => {
  it('keeps precision 7 and offsets as canonical text, everything else native', () => {
    expect(ddlType({ kind: 'time', precision: 7 })).toBe('varchar(16)');
    expect(ddlType({ kind: 'timestamp', precision: 7 })).toBe('varchar(27)');
    expect(ddlType({ kind: 'timestamptz', precision: 7 })).toBe('varchar(28)');
    expect(ddlType({ kind: 'datetimeoffset', precision: 7 })).toBe('varchar(33)');
    expect(ddlType({ kind: 'datetimeoffset', precision: 0 })).toBe('varchar(25)');
    expect(ddlType({ kind: 'timestamp', precision: 6 })).toBe('timestamp(6)');
    expect(ddlType({ kind: 'decimal', precision: 38, scale: 10 })).toBe('numeric(38,10)');
    expect(ddlType({ kind: 'float32' })).toBe('double precision');
    expect(ddlType({ kind: 'json' })).toBe('json');
    expect(ddlType({ kind: 'string', maxLength: 10, fixedLength: true })).toBe('varchar(10)');
    expect(ddlType({ kind: 'string' })).toBe('text');
  });

  it('quotes identifiers, doubling quotes', () => {
    expect(quoteIdent('a "b"')).toBe('"a ""b"""');
  });

  it('reads server text back to canonical values', () => {
    expect(fromPgText({ kind: 'timestamp', precision: 3 }, '2024-01-02 03:04:05.1')).toBe('2024-01-02T03:04:05.100');
    expect(fromPgText({ kind: 'timestamptz', precision: 0 }, '2024-01-02 03:04:05+00')).toBe('2024-01-02T03:04:05Z');
    expect(fromPgText({ kind: 'time', precision: 6 }, '23:59:59')).toBe('23:59:59.000000');
    expect(fromPgText({ kind: 'int64' }, '-9223372036854775808')).toBe(-9223372036854775808n);
    expect(fromPgText({ kind: 'bytes' }, '\\x00ff00')).toEqual(Buffer.from([0, 255, 0]));
    expect(fromPgText({ kind: 'boolean' }, 'f')).toBe(false);
    expect(Object.is(fromPgText({ kind: 'float64' }, '-0'), -0)).toBe(true);
  });

  it('builds array literals no value can break out of', () => {
    const rows = [{ v: 'a,"b"}\\' }, { v: null }, { v: 'NULL' }, { v: '' }];
    expect(columnLiteral(col('v', { kind: 'string' }), rows)).toBe('{"a,\\"b\\"}\\\\",NULL,"NULL",""}');
    expect(columnLiteral(col('n', { kind: 'int64' }), [{ n: 1n }, { n: -0 }, { n: true }])).toBe('{1,-0,t}');
    expect(columnLiteral(col('b', { kind: 'bytes' }), [{ b: Buffer.from([0, 1]) }])).toBe('{"\\\\x0001"}');
  });
});
