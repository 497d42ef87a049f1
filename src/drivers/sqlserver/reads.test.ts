import { describe, expect, it } from 'vitest';
import { castTypeOf, readExpression } from './reads.ts';

describe('readExpression', () => {
  const e = 't.[c]';
  it.each([
    [{ kind: 'decimal', precision: 38, scale: 6 }, 'decimal(38,6)', 'CONVERT(varchar(50), t.[c])'],
    [{ kind: 'decimal', precision: 19, scale: 4 }, 'money', 'CONVERT(varchar(50), CONVERT(decimal(19,4), t.[c]))'],
    [{ kind: 'decimal', precision: 10, scale: 4 }, 'smallmoney', 'CONVERT(varchar(50), CONVERT(decimal(10,4), t.[c]))'],
    [{ kind: 'timestamp', precision: 7 }, 'datetime2(7)', 'CONVERT(varchar(40), t.[c], 121)'],
    [{ kind: 'timestamp', precision: 3 }, 'datetime', 'CONVERT(varchar(40), t.[c], 121)'],
    [{ kind: 'timestamp', precision: 0 }, 'smalldatetime', 'CONVERT(varchar(40), t.[c], 121)'],
    [{ kind: 'time', precision: 7 }, 'time(7)', 'CONVERT(varchar(40), t.[c], 121)'],
    [{ kind: 'datetimeoffset', precision: 7 }, 'datetimeoffset(7)', 'CONVERT(varchar(40), t.[c], 121)'],
    [{ kind: 'date' }, 'date', 'CONVERT(varchar(10), t.[c], 23)'],
    [{ kind: 'bytes', maxLength: 8, fixedLength: true }, 'rowversion', 'CONVERT(binary(8), t.[c])'],
    [{ kind: 'xml' }, 'xml', 'CONVERT(nvarchar(max), t.[c])'],
    [{ kind: 'json' }, 'json', 'CONVERT(nvarchar(max), t.[c])'],
    [{ kind: 'string', maxLength: 4000 }, 'hierarchyid', 'CONVERT(nvarchar(4000), t.[c])'],
    [{ kind: 'int64' }, 'bigint', 't.[c]'],
    [{ kind: 'uuid' }, 'uniqueidentifier', 't.[c]'],
    [{ kind: 'bytes' }, 'varbinary(max)', 't.[c]'],
    [{ kind: 'string' }, 'nvarchar(max)', 't.[c]'],
  ] as const)('%j %s', (type, sourceType, expected) => {
    expect(readExpression(e, { type, sourceType })).toBe(expected);
  });
});

describe('castTypeOf', () => {
  it('casts key parameters to the column type', () => {
    expect(castTypeOf({ sourceType: 'decimal(10,2)' })).toBe('decimal(10,2)');
    expect(castTypeOf({ sourceType: 'rowversion' })).toBe('binary(8)');
    expect(castTypeOf({ sourceType: 'varchar(50)' })).toBe('varchar(50)');
  });
});
