import { describe, expect, it } from 'vitest';
import type { ColumnType } from '../../core/model.ts';
import { canonicalDecimal, fromDriver, toParam, ValueConversionError } from './values.ts';

const dec = (precision: number, scale: number): ColumnType => ({ kind: 'decimal', precision, scale });

describe('decimals (selected as CONVERT(varchar(50), col))', () => {
  it.each([
    ['12.30', 2, '12.30'],
    ['12.3', 2, '12.30'],
    ['12', 2, '12.00'],
    ['-0.50', 2, '-0.50'],
    ['-.5', 2, '-0.50'],
    ['.5', 1, '0.5'],
    ['0.00', 2, '0.00'],
    ['-0.00', 2, '0.00'],
    ['0', 0, '0'],
    ['007.10', 2, '7.10'],
    ['12.3000', 2, '12.30'],
    ['99999999999999999999999999999999999999', 0, '99999999999999999999999999999999999999'],
    ['-99999999999999999999999999999999999999', 0, '-99999999999999999999999999999999999999'],
    ['9999999999999999999999999999.9999999999', 10, '9999999999999999999999999999.9999999999'],
    ['-0.00000000000000000000000000000000000001', 38, '-0.00000000000000000000000000000000000001'],
    ['922337203685477.5807', 4, '922337203685477.5807'],
    ['-922337203685477.5808', 4, '-922337203685477.5808'],
  ])('%s at scale %i -> %s', (text, scale, expected) => {
    expect(fromDriver(dec(38, scale), text)).toBe(expected);
  });
  it('refuses to drop significant digits, exponents, numbers', () => {
    expect(() => canonicalDecimal('1.235', 2)).toThrow(ValueConversionError);
    expect(() => canonicalDecimal('1E+5', 0)).toThrow(ValueConversionError);
    expect(() => canonicalDecimal('', 0)).toThrow(ValueConversionError);
    expect(() => canonicalDecimal('.', 0)).toThrow(ValueConversionError);
    expect(() => fromDriver(dec(10, 2), 12.3)).toThrow(/strings/);
  });
});

describe('integers, floats, bits', () => {
  it('bigint strings at the int64 limits', () => {
    expect(fromDriver({ kind: 'int64' }, '9223372036854775807')).toBe(9223372036854775807n);
    expect(fromDriver({ kind: 'int64' }, '-9223372036854775808')).toBe(-9223372036854775808n);
    expect(fromDriver({ kind: 'int64' }, '-9223372036854775807')).toBe(-9223372036854775807n);
    expect(fromDriver({ kind: 'int64' }, '0')).toBe(0n);
    expect(() => fromDriver({ kind: 'int64' }, 9007199254740993)).toThrow();
    expect(() => fromDriver({ kind: 'int64' }, '1.5')).toThrow();
  });
  it('small integers', () => {
    expect(fromDriver({ kind: 'int16' }, 255)).toBe(255);
    expect(fromDriver({ kind: 'int16' }, -32768)).toBe(-32768);
    expect(fromDriver({ kind: 'int32' }, 2147483647)).toBe(2147483647);
    expect(() => fromDriver({ kind: 'int32' }, 1.5)).toThrow();
  });
  it('floats pass as numbers', () => {
    expect(fromDriver({ kind: 'float64' }, 0.1)).toBe(0.1);
    expect(fromDriver({ kind: 'float32' }, 3.4028234663852886e38)).toBe(3.4028234663852886e38);
  });
  it('bits', () => {
    expect(fromDriver({ kind: 'boolean' }, true)).toBe(true);
    expect(fromDriver({ kind: 'boolean' }, false)).toBe(false);
    expect(fromDriver({ kind: 'boolean' }, 1)).toBe(true);
    expect(() => fromDriver({ kind: 'boolean' }, 'true')).toThrow();
  });
});

describe('strings, bytes, uuids, NULL', () => {
  it('NULL is null and "" stays ""', () => {
    expect(fromDriver({ kind: 'string' }, null)).toBeNull();
    expect(fromDriver({ kind: 'string' }, undefined)).toBeNull();
    expect(fromDriver({ kind: 'string' }, '')).toBe('');
    expect(fromDriver({ kind: 'bytes' }, Buffer.alloc(0))).toEqual(Buffer.alloc(0));
  });
  it('unicode passes unchanged', () => {
    expect(fromDriver({ kind: 'string' }, 'Grüße 注文 😀')).toBe('Grüße 注文 😀');
    expect(fromDriver({ kind: 'xml' }, '<a b="ü"/>')).toBe('<a b="ü"/>');
  });
  it('binary Buffers pass unchanged', () => {
    const b = Buffer.from([0, 1, 0xfe, 0xff]);
    expect(fromDriver({ kind: 'bytes' }, b)).toBe(b);
    expect(() => fromDriver({ kind: 'bytes' }, 'AAEC')).toThrow();
  });
  it('uniqueidentifier becomes lower case', () => {
    expect(fromDriver({ kind: 'uuid' }, '6F9619FF-8B86-D011-B42D-00C04FC964FF')).toBe('6f9619ff-8b86-d011-b42d-00c04fc964ff');
    expect(() => fromDriver({ kind: 'uuid' }, 'not-a-uuid')).toThrow();
  });
});

describe('dates and times (selected with CONVERT style 121 / 23)', () => {
  it('date', () => {
    expect(fromDriver({ kind: 'date' }, '0001-01-01')).toBe('0001-01-01');
    expect(fromDriver({ kind: 'date' }, '9999-12-31')).toBe('9999-12-31');
    expect(() => fromDriver({ kind: 'date' }, new Date(0))).toThrow();
  });
  it('time(7) keeps 100 ns', () => {
    expect(fromDriver({ kind: 'time', precision: 7 }, '23:59:59.9999999')).toBe('23:59:59.9999999');
    expect(fromDriver({ kind: 'time', precision: 7 }, '00:00:00.0000001')).toBe('00:00:00.0000001');
    expect(fromDriver({ kind: 'time', precision: 7 }, '12:00:00')).toBe('12:00:00.0000000');
    expect(fromDriver({ kind: 'time', precision: 0 }, '12:00:00')).toBe('12:00:00');
    expect(fromDriver({ kind: 'time', precision: 3 }, '12:00:00.120')).toBe('12:00:00.120');
  });
  it('datetime2(7) keeps 100 ns and uses T', () => {
    expect(fromDriver({ kind: 'timestamp', precision: 7 }, '2024-02-29 13:45:01.1234567')).toBe('2024-02-29T13:45:01.1234567');
    expect(fromDriver({ kind: 'timestamp', precision: 7 }, '2024-02-29 13:45:01.0000001')).toBe('2024-02-29T13:45:01.0000001');
    expect(fromDriver({ kind: 'timestamp', precision: 7 }, '2024-02-29T13:45:01')).toBe('2024-02-29T13:45:01.0000000');
    expect(fromDriver({ kind: 'timestamp', precision: 2 }, '2024-02-29 13:45:01.12')).toBe('2024-02-29T13:45:01.12');
  });
  it('datetime keeps its 1/300 s rounding; smalldatetime drops the zero fraction style 121 prints', () => {
    expect(fromDriver({ kind: 'timestamp', precision: 3 }, '2024-01-01 23:59:59.997')).toBe('2024-01-01T23:59:59.997');
    expect(fromDriver({ kind: 'timestamp', precision: 0 }, '2024-01-01 10:30:00.000')).toBe('2024-01-01T10:30:00');
  });
  it('refuses to drop non-zero fractional digits', () => {
    expect(() => fromDriver({ kind: 'timestamp', precision: 3 }, '2024-01-01 00:00:00.1234567')).toThrow(/fractional/);
    expect(() => fromDriver({ kind: 'time', precision: 0 }, '00:00:00.5')).toThrow(/fractional/);
  });
  it('datetimeoffset keeps a non-zero offset and 100 ns', () => {
    expect(fromDriver({ kind: 'datetimeoffset', precision: 7 }, '2024-03-10 08:15:30.1234567 +05:45')).toBe('2024-03-10T08:15:30.1234567+05:45');
    expect(fromDriver({ kind: 'datetimeoffset', precision: 7 }, '2024-03-10 08:15:30.0000000 -08:00')).toBe('2024-03-10T08:15:30.0000000-08:00');
    expect(fromDriver({ kind: 'datetimeoffset', precision: 0 }, '0001-01-01 00:00:00 +14:00')).toBe('0001-01-01T00:00:00+14:00');
    expect(fromDriver({ kind: 'datetimeoffset', precision: 3 }, '2024-03-10T08:15:30.123Z')).toBe('2024-03-10T08:15:30.123+00:00');
    expect(() => fromDriver({ kind: 'datetimeoffset', precision: 7 }, '2024-03-10 08:15:30.1234567')).toThrow();
  });
  it('timestamptz (standby datetimeoffset read back) converts to UTC Z', () => {
    expect(fromDriver({ kind: 'timestamptz', precision: 6 }, '2024-03-10 08:15:30.123456 +00:00')).toBe('2024-03-10T08:15:30.123456Z');
    expect(fromDriver({ kind: 'timestamptz', precision: 6 }, '2024-03-10 01:00:00.000001 +05:45')).toBe('2024-03-09T19:15:00.000001Z');
    expect(fromDriver({ kind: 'timestamptz', precision: 0 }, '0001-01-01 12:00:00 -02:00')).toBe('0001-01-01T14:00:00Z');
  });
});

describe('toParam', () => {
  it('chooses exact parameter types', () => {
    expect(toParam({ kind: 'int64' }, 9223372036854775807n)).toEqual({ sqlType: 'bigint', value: 9223372036854775807n });
    expect(toParam({ kind: 'decimal', precision: 38, scale: 2 }, '-0.50')).toEqual({ sqlType: 'nvarchar', value: '-0.50' });
    expect(toParam({ kind: 'int16' }, 255)).toEqual({ sqlType: 'int', value: 255 });
    expect(toParam({ kind: 'boolean' }, null)).toEqual({ sqlType: 'bit', value: null });
    expect(toParam({ kind: 'bytes' }, Buffer.from('ab'))).toEqual({ sqlType: 'varbinary', value: Buffer.from('ab') });
    expect(toParam({ kind: 'datetimeoffset', precision: 7 }, '2024-03-10T08:15:30.1234567+05:45')).toEqual({ sqlType: 'nvarchar', value: '2024-03-10T08:15:30.1234567+05:45' });
  });
  it('rejects non-canonical values', () => {
    expect(() => toParam({ kind: 'int64' }, 5)).toThrow();
    expect(() => toParam({ kind: 'decimal', precision: 5, scale: 2 }, 1.5)).toThrow();
    expect(() => toParam({ kind: 'float64' }, Number.NaN)).toThrow(/NaN/);
  });
});
