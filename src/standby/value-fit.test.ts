import { describe, expect, it } from 'vitest';
import { StandbyError } from '../core/errors.ts';
import type { ColumnType, TableMeta } from '../core/model.ts';
import { canonicalText } from './canonical-text.ts';
import { checkRowsFit, fitCheck } from './value-fit.ts';

const t: TableMeta = {
  schema: 's',
  table: 't',
  key: ['id'],
  columns: [
    { name: 'id', type: { kind: 'int32' }, nullable: false, sourceType: 'integer' },
    { name: 'price', type: { kind: 'decimal', precision: 12, scale: 2 }, nullable: true, sourceType: 'numeric(12,2)' },
    { name: 'code', type: { kind: 'string', maxLength: 5, fixedLength: true }, nullable: true, sourceType: 'character(5)' },
  ],
};

describe('values a standby would change silently', () => {
  it.each<[ColumnType, unknown, boolean]>([
    [{ kind: 'decimal', precision: 12, scale: 2 }, '1.23', true],
    [{ kind: 'decimal', precision: 12, scale: 2 }, '-9999999999.99', true],
    [{ kind: 'decimal', precision: 12, scale: 2 }, '0.00', true],
    [{ kind: 'decimal', precision: 12, scale: 2 }, '1.234', false], // PostgreSQL and MariaDB would round it
    [{ kind: 'decimal', precision: 12, scale: 2 }, '12345678901.00', false],
    [{ kind: 'string', maxLength: 5 }, 'ab   ', true],
    [{ kind: 'string', maxLength: 5 }, '😀😀😀😀😀', true], // characters, not UTF-16 units
    [{ kind: 'string', maxLength: 5 }, 'ab    ', false], // PostgreSQL would cut the spaces without an error
    [{ kind: 'float32' }, 0.10000000149011612, true],
    [{ kind: 'float32' }, Number.NaN, true],
    [{ kind: 'float32' }, 0.1, false], // not a float32: a real column would round it
    [{ kind: 'timestamp', precision: 3 }, '2024-01-02T03:04:05.123', true],
    [{ kind: 'timestamp', precision: 3 }, '2024-01-02T03:04:05.123456', false],
    [{ kind: 'datetimeoffset', precision: 0 }, '2024-01-02T03:04:05+05:45', true],
    [{ kind: 'time', precision: 0 }, '03:04:05.5', false],
  ])('%j %j fits: %s', (type, v, fits) => {
    const check = fitCheck(type)!;
    expect(check(v as never) === null).toBe(fits);
  });

  it('counts what the engine counts: characters, or UTF-16 code units for SQL Server', () => {
    const t: ColumnType = { kind: 'string', maxLength: 5 };
    expect(fitCheck(t)!('😀😀😀')).toBeNull();
    expect(fitCheck(t, 'utf16')!('😀😀😀')).toMatch(/6 UTF-16 code units/);
    expect(fitCheck(t, 'utf16')!('abcde')).toBeNull();
  });

  it('needs no check for kinds every value of which fits', () => {
    expect(fitCheck({ kind: 'int64' })).toBeNull();
    expect(fitCheck({ kind: 'string' })).toBeNull();
    expect(fitCheck({ kind: 'decimal', precision: 0, scale: 0 })).toBeNull();
  });

  it('names engine, table, column, key and the reason', () => {
    expect(() => checkRowsFit(t, [{ id: 1, price: '1.00', code: 'ab   ' }, { id: 7, price: '1.005', code: null }], 'PostgreSQL')).toThrow(StandbyError);
    expect(() => checkRowsFit(t, [{ id: 7, price: '1.005', code: null }], 'PostgreSQL')).toThrow(
      /^PostgreSQL standby: cannot write column price \(numeric\(12,2\)\) of table s\.t at key \(id=7\): 1\.005 has 3 digits after the point.*would round it/,
    );
    expect(() => checkRowsFit(t, [{ id: 1, price: null, code: 'abcdef' }], 'MariaDB')).toThrow(/column code .*6 characters does not fit the column's length 5/);
    expect(() => checkRowsFit(t, [{ id: 1, price: '5.10', code: 'ab   ' }], 'MariaDB')).not.toThrow();
  });
});

describe('canonical text of a text column', () => {
  it('keeps every float exactly, and other kinds as their canonical string', () => {
    const f: ColumnType = { kind: 'float64' };
    expect([Number.NaN, Infinity, -Infinity, -0, 0, 1e308, 5e-324, 0.1, 2 ** 53 + 2].map((v) => canonicalText(f, v))).toEqual([
      'NaN', 'Infinity', '-Infinity', '-0', '0', '1e+308', '5e-324', '0.1', '9007199254740994',
    ]);
    for (const v of [1e308, 5e-324, 0.1, 1 / 3, -123.456e-200]) expect(Number(canonicalText(f, v))).toBe(v);
    expect(canonicalText({ kind: 'int64' }, -9223372036854775808n)).toBe('-9223372036854775808');
    expect(canonicalText({ kind: 'boolean' }, false)).toBe('false');
    expect(canonicalText({ kind: 'bytes' }, Buffer.from([0, 255]))).toBe('00ff');
    expect(canonicalText({ kind: 'decimal', precision: 5, scale: 2 }, '-1.50')).toBe('-1.50');
    expect(canonicalText({ kind: 'timestamp', precision: 3 }, '2024-01-02T03:04:05.100')).toBe('2024-01-02T03:04:05.100');
    expect(canonicalText({ kind: 'float64' }, null)).toBeNull();
  });
});
