import avro from 'avsc';
import { describe, expect, it } from 'vitest';
import type { ColumnType } from '../core/model.ts';
import { fixedSizeFor } from './decimal.ts';
import { TableSchemas } from './envelope.ts';
import { SingleObjectTableEncoder } from './table-encoder.ts';
import { AvroSchemaError, AvroValueError } from './errors.ts';
import { parseType } from './logical-types.ts';
import { envelope, eventRoundTrip, keyRoundTrip, roundTrip, table } from './test-support.ts';
import { avroTypeFor, NamedTypes } from './type-mapping.ts';

const dec = (precision: number, scale: number): ColumnType => ({ kind: 'decimal', precision, scale });
const NINES38 = '99999999999999999999999999999999999999';

function withPoint(digits: string, scale: number): string {
  return scale === 0 ? digits : digits.slice(0, digits.length - scale) + '.' + digits.slice(digits.length - scale);
}

describe('type mapping: schemas', () => {
  it('maps every kind to the agreed Avro type', () => {
    const m = (t: ColumnType) => avroTypeFor(t, new NamedTypes());
    expect(m({ kind: 'boolean' })).toBe('boolean');
    expect(m({ kind: 'int16' })).toBe('int');
    expect(m({ kind: 'int32' })).toBe('int');
    expect(m({ kind: 'int64' })).toBe('long');
    expect(m({ kind: 'float32' })).toBe('float');
    expect(m({ kind: 'float64' })).toBe('double');
    expect(m({ kind: 'string' })).toBe('string');
    expect(m({ kind: 'json' })).toBe('string');
    expect(m({ kind: 'xml' })).toBe('string');
    expect(m({ kind: 'bytes' })).toBe('bytes');
    expect(m({ kind: 'uuid' })).toEqual({ type: 'string', logicalType: 'uuid' });
    expect(m({ kind: 'date' })).toEqual({ type: 'int', logicalType: 'date' });
    expect(m(dec(38, 4))).toEqual({ type: 'fixed', name: 'ctrelay.decimal.p38s4', size: 16, logicalType: 'decimal', precision: 38, scale: 4 });
    expect(m({ kind: 'time', precision: 3 })).toMatchObject({ type: 'int', logicalType: 'time-millis' });
    expect(m({ kind: 'time', precision: 6 })).toMatchObject({ type: 'long', logicalType: 'time-micros' });
    expect(m({ kind: 'time', precision: 7 })).toMatchObject({ type: 'long', logicalType: 'time-nanos' });
    expect(m({ kind: 'timestamp', precision: 0 })).toMatchObject({ type: 'long', logicalType: 'local-timestamp-millis' });
    expect(m({ kind: 'timestamp', precision: 6 })).toMatchObject({ type: 'long', logicalType: 'local-timestamp-micros' });
    expect(m({ kind: 'timestamp', precision: 7 })).toMatchObject({ type: 'long', logicalType: 'local-timestamp-ticks', 'ctrelay.precision': 7, doc: expect.stringContaining('100-nanosecond ticks since 1970-01-01T00:00:00') });
    expect(m({ kind: 'timestamptz', precision: 7 })).toMatchObject({ type: 'long', logicalType: 'timestamp-ticks', 'ctrelay.precision': 7, doc: expect.stringContaining('100-nanosecond ticks') });
    expect(m({ kind: 'timestamp', precision: 9 })).toMatchObject({ type: 'long', logicalType: 'local-timestamp-nanos' });
    expect(m({ kind: 'timestamptz', precision: 3 })).toMatchObject({ type: 'long', logicalType: 'timestamp-millis' });
    expect(m({ kind: 'timestamptz', precision: 6 })).toMatchObject({ type: 'long', logicalType: 'timestamp-micros' });
    expect(m({ kind: 'datetimeoffset', precision: 7 })).toMatchObject({ type: 'string', logicalType: 'datetimeoffset' });
  });

  it('sizes decimal fixeds minimally and defines each named fixed once per schema', () => {
    expect(fixedSizeFor(1)).toBe(1);
    expect(fixedSizeFor(2)).toBe(1);
    expect(fixedSizeFor(3)).toBe(2);
    expect(fixedSizeFor(9)).toBe(4);
    expect(fixedSizeFor(18)).toBe(8);
    expect(fixedSizeFor(19)).toBe(9);
    expect(fixedSizeFor(38)).toBe(16);
    const named = new NamedTypes();
    expect(typeof avroTypeFor(dec(10, 2), named)).toBe('object');
    expect(avroTypeFor(dec(10, 2), named)).toBe('ctrelay.decimal.p10s2');
    const meta = table([
      { name: 'id', type: dec(10, 2) },
      { name: 'a', type: dec(10, 2) },
      { name: 'b', type: dec(10, 2), nullable: true },
    ], ['id']);
    const env = envelope({ id: '1.00', a: '-2.50', b: '3.25' }, { id: '1.00' });
    expect(eventRoundTrip(meta, env).after).toEqual({ id: '1.00', a: '-2.50', b: '3.25' });
    expect(keyRoundTrip(meta, { id: '99999999.99' })).toEqual({ id: '99999999.99' });
  });

  it('puts the scale into the fingerprinted canonical form (fixed name), and keeps precision/scale on export', () => {
    const a = parseType(new TableSchemas(table([{ name: 'id', type: dec(10, 2) }]), 'p').valueSchema);
    const b = parseType(new TableSchemas(table([{ name: 'id', type: dec(10, 3) }]), 'p').valueSchema);
    expect(JSON.stringify(a.schema())).not.toBe(JSON.stringify(b.schema()));
    expect(JSON.stringify(a.schema({ exportAttrs: true }))).toContain('"logicalType":"decimal","precision":10,"scale":2');
  });

  it('rejects an unsupported type at schema time, naming table and column', () => {
    const bad = table([{ name: 'id', type: { kind: 'int32' } }, { name: 'weird', type: { kind: 'time', precision: 12 }, sourceType: 'time(12)' }]);
    expect(() => new SingleObjectTableEncoder(bad, 'p')).toThrow(AvroSchemaError);
    expect(() => new SingleObjectTableEncoder(bad, 'p')).toThrow(/dbo\.things column "weird" \(time\(12\)\)/);
    expect(() => new SingleObjectTableEncoder({ ...bad, key: [] }, 'p')).toThrow(/no primary key/);
  });
});

describe('type mapping: values round-trip exactly', () => {
  it('booleans, ints, floats', () => {
    expect(roundTrip({ kind: 'boolean' }, true)).toBe(true);
    expect(roundTrip({ kind: 'boolean' }, false)).toBe(false);
    expect(roundTrip({ kind: 'int16' }, -32768)).toBe(-32768);
    expect(roundTrip({ kind: 'int32' }, 2147483647)).toBe(2147483647);
    expect(roundTrip({ kind: 'int32' }, -2147483648)).toBe(-2147483648);
    expect(roundTrip({ kind: 'float32' }, 1.5)).toBe(1.5);
    // Avro float holds exactly the float32 value; a double that is not one is rounded to float32
    expect(roundTrip({ kind: 'float32' }, Math.fround(0.1))).toBe(Math.fround(0.1));
    expect(roundTrip({ kind: 'float32' }, 3.4028234663852886e38)).toBe(3.4028234663852886e38);
    expect(roundTrip({ kind: 'float64' }, 0.1 + 0.2)).toBe(0.1 + 0.2);
    expect(roundTrip({ kind: 'float64' }, -Number.MAX_VALUE)).toBe(-Number.MAX_VALUE);
  });

  it('int64 over the full range', () => {
    for (const v of [0n, 1n, -1n, 2n ** 52n, -(2n ** 52n), 2n ** 53n + 1n, 2n ** 63n - 1n, -(2n ** 63n - 1n), -(2n ** 63n)]) {
      expect(roundTrip({ kind: 'int64' }, v)).toBe(v);
    }
    expect(() => roundTrip({ kind: 'int64' }, 2n ** 63n)).toThrow(AvroValueError);
  });

  it('writes int64 bytes identical to the reference zig-zag encoding', () => {
    const type = parseType('long');
    const ref = (n: bigint) => {
      let z = BigInt.asUintN(64, (n << 1n) ^ (n >> 63n));
      const out: number[] = [];
      while (z > 0x7fn) { out.push(Number(z & 0x7fn) | 0x80); z >>= 7n; }
      out.push(Number(z));
      return Buffer.from(out);
    };
    for (const v of [0n, -1n, 63n, -64n, 64n, 2n ** 31n, -(2n ** 31n), 2n ** 49n - 1n, 2n ** 52n, 2n ** 56n, 2n ** 63n - 1n, -(2n ** 63n)]) {
      expect(type.toBuffer(v)).toEqual(ref(v));
      expect(type.fromBuffer(ref(v))).toBe(v);
    }
  });

  it('decimal(38, s) at its maximum and minimum for every scale', () => {
    for (const scale of [0, 1, 4, 10, 18, 37, 38]) {
      const max = withPoint(NINES38, scale).replace(/^\./, '0.');
      expect(roundTrip(dec(38, scale), max)).toBe(max);
      expect(roundTrip(dec(38, scale), '-' + max)).toBe('-' + max);
    }
  });

  it('decimal zero and negatives keep their scale', () => {
    expect(roundTrip(dec(38, 4), '0.0000')).toBe('0.0000');
    expect(roundTrip(dec(10, 4), '0.0000')).toBe('0.0000');
    expect(roundTrip(dec(2, 1), '-0.5')).toBe('-0.5');
    expect(roundTrip(dec(38, 1), '-0.5')).toBe('-0.5');
    expect(roundTrip(dec(10, 4), '-12.3400')).toBe('-12.3400');
    expect(roundTrip(dec(19, 0), '-9223372036854775809')).toBe('-9223372036854775809');
    expect(roundTrip(dec(15, 2), '-9999999999999.99')).toBe('-9999999999999.99');
    expect(roundTrip(dec(16, 2), '99999999999999.99')).toBe('99999999999999.99');
    expect(roundTrip(dec(5, 0), '-1')).toBe('-1');
    expect(roundTrip(dec(3, 3), '0.001')).toBe('0.001');
    // fewer digits and trailing zeros beyond the scale are lossless, so accepted and normalised
    expect(roundTrip(dec(10, 4), '12.5')).toBe('12.5000');
    expect(roundTrip(dec(10, 2), '7.500000')).toBe('7.50');
  });

  it('rejects decimals that do not fit, naming the column; never rounds', () => {
    const codec = new SingleObjectTableEncoder(table([{ name: 'id', type: { kind: 'int32' } }, { name: 'amount', type: dec(5, 2), sourceType: 'numeric(5,2)' }]), 'p');
    for (const v of ['1000.00', '-1000.00', '1.005', '12.345', '1e3', 'abc', '', '1.2.3']) {
      expect(() => codec.encodeEvent(envelope({ id: 1, amount: v }, { id: 1 }))).toThrow(AvroValueError);
    }
    expect(() => codec.encodeEvent(envelope({ id: 1, amount: '1000.00' }, { id: 1 }))).toThrow(/column "amount" \(numeric\(5,2\)\).*does not fit decimal\(5,2\)/);
    expect(() => roundTrip(dec(38, 0), '1' + NINES38)).toThrow(/does not fit decimal\(38,0\)/);
    expect(() => roundTrip(dec(38, 4), '0.00001')).toThrow(/would round/);
  });

  it('decimals on bytes (schemas written by other tools) decode and encode', () => {
    const t = parseType({ type: 'bytes', logicalType: 'decimal', precision: 20, scale: 3 });
    for (const v of ['0.000', '-1.500', '12345678901234567.890', '-99999999999999999.999']) expect(t.fromBuffer(t.toBuffer(v))).toBe(v);
    // -1.500 = unscaled -1500 = 0xfa24 (minimal two's complement)
    expect(t.toBuffer('-1.500')).toEqual(Buffer.from([4, 0xfa, 0x24]));
  });

  it('dates at the edges of 0001-01-01..9999-12-31', () => {
    for (const d of ['0001-01-01', '9999-12-31', '1970-01-01', '1969-12-31', '2000-02-29', '1900-03-01', '0099-12-31']) {
      expect(roundTrip({ kind: 'date' }, d)).toBe(d);
    }
    const t = parseType({ type: 'int', logicalType: 'date' });
    expect(t.toBuffer('1970-01-02')).toEqual(Buffer.from([2]));
    expect(t.toBuffer('0001-01-01')).toEqual(parseType('int').toBuffer(-719162));
    for (const bad of ['1900-02-29', '2023-13-01', '0000-01-01', '2023-1-01', '20230101']) {
      expect(() => roundTrip({ kind: 'date' }, bad)).toThrow(AvroValueError);
    }
  });

  it('time at every precision, incl. 100 ns', () => {
    expect(roundTrip({ kind: 'time', precision: 0 }, '23:59:59')).toBe('23:59:59');
    expect(roundTrip({ kind: 'time', precision: 3 }, '12:34:56.789')).toBe('12:34:56.789');
    expect(roundTrip({ kind: 'time', precision: 6 }, '00:00:00.000001')).toBe('00:00:00.000001');
    expect(roundTrip({ kind: 'time', precision: 7 }, '23:59:59.9999999')).toBe('23:59:59.9999999');
    expect(roundTrip({ kind: 'time', precision: 7 }, '00:00:00.0000001')).toBe('00:00:00.0000001');
    expect(roundTrip({ kind: 'time', precision: 2 }, '01:02:03.45')).toBe('01:02:03.45');
    const t = parseType({ type: 'long', logicalType: 'time-nanos', 'ctrelay.precision': 7 });
    expect(parseType('long').fromBuffer(t.toBuffer('00:00:01.0000001'))).toBe(1_000_000_100n);
    expect(() => roundTrip({ kind: 'time', precision: 3 }, '12:00:00.1234')).toThrow(/more than 3 fractional digits/);
    expect(() => roundTrip({ kind: 'time', precision: 3 }, '25:00:00.000')).toThrow(AvroValueError);
  });

  it('24:00:00 only where the source admits it, as time24-micros, which standard readers see as the plain long', () => {
    // a standard time-* never carries 24:00:00 (Avro Java's TimeMicrosConversion refuses it)
    for (const p of [0, 3, 6, 7]) {
      expect(() => roundTrip({ kind: 'time', precision: p }, p === 0 ? '24:00:00' : '24:00:00.' + '0'.repeat(p))).toThrow(/before 24:00:00/);
    }
    for (const p of [0, 1, 3, 6]) {
      const end = p === 0 ? '24:00:00' : '24:00:00.' + '0'.repeat(p);
      expect(roundTrip({ kind: 'time', precision: p, endOfDay: true }, end)).toBe(end);
      expect(roundTrip({ kind: 'time', precision: p, endOfDay: true }, p === 0 ? '00:00:00' : '00:00:00.' + '0'.repeat(p))).toBe(p === 0 ? '00:00:00' : '00:00:00.' + '0'.repeat(p));
      expect(roundTrip({ kind: 'time', precision: p, endOfDay: true }, null)).toBe(null);
    }
    expect(roundTrip({ kind: 'time', precision: 6, endOfDay: true }, '23:59:59.999999')).toBe('23:59:59.999999');
    expect(roundTrip({ kind: 'time', precision: 7, endOfDay: true }, '24:00:00.0000000')).toBe('24:00:00.0000000');
    expect(() => roundTrip({ kind: 'time', precision: 6, endOfDay: true }, '24:00:00.000001')).toThrow(AvroValueError);
    expect(() => roundTrip({ kind: 'time', precision: 6, endOfDay: true }, '24:00:01.000000')).toThrow(AvroValueError);
    const schema = avroTypeFor({ kind: 'time', precision: 3, endOfDay: true }, new NamedTypes());
    expect(schema).toMatchObject({ type: 'long', logicalType: 'time24-micros', 'ctrelay.precision': 3 });
    const t = parseType(schema);
    expect(parseType('long').fromBuffer(t.toBuffer('24:00:00.000'))).toBe(86_400_000_000n);
    expect(parseType('long').fromBuffer(t.toBuffer('12:00:00.001'))).toBe(43_200_001_000n);
    expect(t.fromBuffer(parseType('long').toBuffer(86_400_000_000n))).toBe('24:00:00.000');
    expect(() => t.fromBuffer(parseType('long').toBuffer(86_400_000_001n))).toThrow(/not a time of day/);
    // events written before time24 existed (time-micros holding 24:00:00) still read exactly
    const old = parseType({ type: 'long', logicalType: 'time-micros', 'ctrelay.precision': 6 });
    expect(old.fromBuffer(parseType('long').toBuffer(86_400_000_000n))).toBe('24:00:00.000000');
  });

  it('timestamps (no zone) with 100 ns precision and at the calendar edges', () => {
    expect(roundTrip({ kind: 'timestamp', precision: 7 }, '2024-02-29T23:59:59.1234567')).toBe('2024-02-29T23:59:59.1234567');
    expect(roundTrip({ kind: 'timestamp', precision: 7 }, '1970-01-01T00:00:00.0000001')).toBe('1970-01-01T00:00:00.0000001');
    expect(roundTrip({ kind: 'timestamp', precision: 7 }, '1969-12-31T23:59:59.9999999')).toBe('1969-12-31T23:59:59.9999999');
    expect(roundTrip({ kind: 'timestamp', precision: 0 }, '0001-01-01T00:00:00')).toBe('0001-01-01T00:00:00');
    expect(roundTrip({ kind: 'timestamp', precision: 3 }, '9999-12-31T23:59:59.997')).toBe('9999-12-31T23:59:59.997');
    expect(roundTrip({ kind: 'timestamp', precision: 6 }, '9999-12-31T23:59:59.999999')).toBe('9999-12-31T23:59:59.999999');
    expect(roundTrip({ kind: 'timestamp', precision: 6 }, '0001-01-01T00:00:00.000001')).toBe('0001-01-01T00:00:00.000001');
    expect(roundTrip({ kind: 'timestamp', precision: 4 }, '2024-01-01T00:00:00.1234')).toBe('2024-01-01T00:00:00.1234');
    // the encoded long is the standard count since the epoch
    const t = parseType({ type: 'long', logicalType: 'local-timestamp-micros', 'ctrelay.precision': 6 });
    expect(parseType('long').fromBuffer(t.toBuffer('1970-01-01T00:00:01.000002'))).toBe(1_000_002n);
    expect(parseType('long').fromBuffer(t.toBuffer('9999-12-31T23:59:59.999999'))).toBe(253402300799999999n);
  });

  it('rejects nanosecond timestamps (p 8..9) a 64-bit long cannot hold, instead of wrapping', () => {
    expect(roundTrip({ kind: 'timestamp', precision: 9 }, '2262-04-11T23:47:16.854775807')).toBe('2262-04-11T23:47:16.854775807');
    expect(roundTrip({ kind: 'timestamp', precision: 9 }, '1677-09-21T00:12:43.145224192')).toBe('1677-09-21T00:12:43.145224192');
    expect(() => roundTrip({ kind: 'timestamp', precision: 9 }, '9999-12-31T23:59:59.999999999')).toThrow(/outside the range of local-timestamp-nanos/);
    expect(() => roundTrip({ kind: 'timestamp', precision: 8 }, '2262-04-11T23:47:16.85477581')).toThrow(/outside the range of local-timestamp-nanos/);
  });

  it('timestamp(7) / timestamptz(7) cover 0001-01-01..9999-12-31T23:59:59.9999999 as 100 ns ticks', () => {
    for (const v of ['9999-12-31T23:59:59.9999999', '0001-01-01T00:00:00.0000000', '0001-01-01T00:00:00.0000001', '2262-04-11T23:47:16.8547758',
      '2262-04-11T23:47:16.8547759', '1677-09-21T00:12:43.1452241', '2024-02-29T23:59:59.1234567', '1969-12-31T23:59:59.9999999', '1970-01-01T00:00:00.0000000']) {
      expect(roundTrip({ kind: 'timestamp', precision: 7 }, v)).toBe(v);
      expect(roundTrip({ kind: 'timestamptz', precision: 7 }, v + 'Z')).toBe(v + 'Z');
    }
    // the long is the count of ticks since the epoch, readable by any Avro reader
    const local = parseType({ type: 'long', logicalType: 'local-timestamp-ticks', 'ctrelay.precision': 7 });
    const utc = parseType({ type: 'long', logicalType: 'timestamp-ticks', 'ctrelay.precision': 7 });
    const long = parseType('long');
    expect(long.fromBuffer(local.toBuffer('9999-12-31T23:59:59.9999999'))).toBe(2_534_023_007_999_999_999n);
    expect(long.fromBuffer(utc.toBuffer('0001-01-01T00:00:00.0000000Z'))).toBe(-621_355_968_000_000_000n);
    expect(long.fromBuffer(local.toBuffer('1970-01-01T00:00:01.0000001'))).toBe(10_000_001n);
    expect(long.fromBuffer(local.toBuffer('1969-12-31T23:59:59.9999999'))).toBe(-1n);
    expect(local.fromBuffer(long.toBuffer(2_534_023_007_999_999_999n))).toBe('9999-12-31T23:59:59.9999999');
    expect(utc.fromBuffer(long.toBuffer(-621_355_968_000_000_000n))).toBe('0001-01-01T00:00:00.0000000Z');
    // outside the canonical calendar on decode: refused, not wrapped
    expect(() => local.fromBuffer(long.toBuffer(2_534_023_008_000_000_000n))).toThrow(/outside 0001-01-01\.\.9999-12-31/);
    expect(() => roundTrip({ kind: 'timestamp', precision: 7 }, '2024-01-01T00:00:00.12345678')).toThrow(/more than 7 fractional digits/);
  });

  it('writes tick and micro counts byte-identical to the reference zig-zag encoding', () => {
    const long = parseType('long');
    const DAY = 86_400_000_000_000n; // ns
    let seed = 12345;
    const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const MIN = -719_162n * DAY;
    const SPAN = (2_932_897n + 719_162n) * DAY;
    const samples: bigint[] = [MIN, MIN + SPAN - 1n, 0n, -1n, -100n, 100n, 2n ** 52n * 100n, -(2n ** 52n) * 100n, (2n ** 52n + 1n) * 100n];
    for (let i = 0; i < 2000; i++) samples.push(MIN + (BigInt(Math.floor(rnd() * 2 ** 31)) * SPAN) / 2n ** 31n);
    const iso = (ns: bigint) => {
      const days = ns >= 0n ? ns / DAY : -((-ns + DAY - 1n) / DAY);
      const rest = ns - days * DAY;
      const d = new Date(Number(days) * 86_400_000);
      const ymd = String(d.getUTCFullYear()).padStart(4, '0') + '-' + String(d.getUTCMonth() + 1).padStart(2, '0') + '-' + String(d.getUTCDate()).padStart(2, '0');
      const s = rest / 1_000_000_000n;
      const hms = [s / 3600n, (s / 60n) % 60n, s % 60n].map((x) => String(x).padStart(2, '0')).join(':');
      return `${ymd}T${hms}.${String(rest % 1_000_000_000n).padStart(9, '0')}`;
    };
    for (const [logicalType, p, nsPerUnit] of [['local-timestamp-ticks', 7, 100n], ['local-timestamp-micros', 6, 1000n], ['local-timestamp-millis', 3, 1_000_000n]] as const) {
      const t = parseType({ type: 'long', logicalType, 'ctrelay.precision': p });
      for (const ns0 of samples) {
        const ns = ns0 - (((ns0 % nsPerUnit) + nsPerUnit) % nsPerUnit);
        const s = iso(ns).slice(0, 20 + p);
        const buf = t.toBuffer(s);
        expect(buf).toEqual(long.toBuffer(ns / nsPerUnit));
        expect(t.fromBuffer(buf)).toBe(s);
      }
    }
  });

  it('every timestamp precision and date at 0001-01-01 and 9999-12-31, both directions', () => {
    for (const p of [0, 3, 6, 7]) {
      const lo = '0001-01-01T00:00:00' + (p ? '.' + '0'.repeat(p) : '');
      const hi = '9999-12-31T23:59:59' + (p ? '.' + '9'.repeat(p) : '');
      for (const v of [lo, hi]) {
        expect(roundTrip({ kind: 'timestamp', precision: p }, v)).toBe(v);
        expect(roundTrip({ kind: 'timestamptz', precision: p }, v + 'Z')).toBe(v + 'Z');
      }
    }
    expect(roundTrip({ kind: 'date' }, '0001-01-01')).toBe('0001-01-01');
    expect(roundTrip({ kind: 'date' }, '9999-12-31')).toBe('9999-12-31');
  });

  it('timestamptz in UTC at every unit', () => {
    expect(roundTrip({ kind: 'timestamptz', precision: 6 }, '2024-06-30T12:00:00.000001Z')).toBe('2024-06-30T12:00:00.000001Z');
    expect(roundTrip({ kind: 'timestamptz', precision: 3 }, '1900-01-01T00:00:00.001Z')).toBe('1900-01-01T00:00:00.001Z');
    expect(roundTrip({ kind: 'timestamptz', precision: 7 }, '2024-02-29T23:59:59.1234567Z')).toBe('2024-02-29T23:59:59.1234567Z');
    expect(() => roundTrip({ kind: 'timestamptz', precision: 6 }, '2024-06-30T12:00:00.000001')).toThrow(AvroValueError);
    expect(() => roundTrip({ kind: 'timestamptz', precision: 6 }, '2024-06-30T12:00:00.000001+02:00')).toThrow(AvroValueError);
  });

  it('datetimeoffset keeps non-zero offsets', () => {
    for (const v of ['2024-02-29T23:59:59.1234567+05:45', '2024-01-01T00:00:00.0000000-08:00', '0001-01-01T00:00:00.0000000+14:00', '9999-12-31T23:59:59.9999999-12:00', '9999-12-31T23:59:59.9999999-14:00']) {
      expect(roundTrip({ kind: 'datetimeoffset', precision: 7 }, v)).toBe(v);
    }
    expect(() => roundTrip({ kind: 'datetimeoffset', precision: 7 }, '2024-01-01T00:00:00.0000000Z')).toThrow(AvroValueError);
    expect(() => roundTrip({ kind: 'datetimeoffset', precision: 3 }, '2024-01-01T00:00:00.1234+01:00')).toThrow(AvroValueError);
  });

  it('NULL and the empty string stay distinct; unicode incl. the astral plane survives', () => {
    expect(roundTrip({ kind: 'string' }, null)).toBeNull();
    expect(roundTrip({ kind: 'string' }, '', true)).toBe('');
    expect(roundTrip({ kind: 'string' }, 'ñandú 🦜 𝄞 中文 \u0000 end', true)).toBe('ñandú 🦜 𝄞 中文 \u0000 end');
    expect(roundTrip({ kind: 'json' }, '{"a":[1,2,{"b":null}]}')).toBe('{"a":[1,2,{"b":null}]}');
    expect(roundTrip({ kind: 'xml' }, '<a x="1">é</a>')).toBe('<a x="1">é</a>');
    for (const t of [{ kind: 'decimal', precision: 5, scale: 2 }, { kind: 'date' }, { kind: 'timestamp', precision: 7 }, { kind: 'int64' }, { kind: 'bytes' }, { kind: 'uuid' }] as ColumnType[]) {
      expect(roundTrip(t, null)).toBeNull();
    }
  });

  it('binary with zero bytes, and empty binary', () => {
    const b = Buffer.from([0, 0, 1, 0, 255, 0]);
    expect(roundTrip({ kind: 'bytes' }, b)).toEqual(b);
    expect(roundTrip({ kind: 'bytes' }, Buffer.alloc(0), true)).toEqual(Buffer.alloc(0));
    expect(roundTrip({ kind: 'bytes' }, null)).toBeNull();
  });

  it('uuid: lower case kept, upper case folded, garbage rejected', () => {
    expect(roundTrip({ kind: 'uuid' }, '123e4567-e89b-12d3-a456-426614174000')).toBe('123e4567-e89b-12d3-a456-426614174000');
    expect(roundTrip({ kind: 'uuid' }, '123E4567-E89B-12D3-A456-426614174000')).toBe('123e4567-e89b-12d3-a456-426614174000');
    expect(() => roundTrip({ kind: 'uuid' }, 'not-a-uuid')).toThrow(AvroValueError);
  });

  it('a non-nullable column refuses NULL, naming it', () => {
    const codec = new SingleObjectTableEncoder(table([{ name: 'id', type: { kind: 'int32' } }, { name: 'name', type: { kind: 'string' }, sourceType: 'nvarchar(10)' }]), 'p');
    expect(() => codec.encodeEvent(envelope({ id: 1, name: null }, { id: 1 }))).toThrow(/column "name" \(nvarchar\(10\)\).*NULL/);
  });

  it('our logical types read back what a generic Avro writer produced', () => {
    // the plain avsc view of the same schema (no logical types) writes raw counts and bytes
    const schema = { type: 'record', name: 'R', fields: [
      { name: 'd', type: { type: 'int', logicalType: 'date' } },
      { name: 't', type: { type: 'long', logicalType: 'timestamp-micros', 'ctrelay.precision': 6 } },
      { name: 'n', type: { type: 'fixed', name: 'F', size: 3, logicalType: 'decimal', precision: 6, scale: 2 } },
    ] };
    const plain = avro.Type.forSchema(schema as avro.Schema);
    const buf = plain.toBuffer({ d: 19723, t: 1_704_067_200_000_001, n: Buffer.from([0xff, 0xff, 0x85]) });
    expect(parseType(schema).fromBuffer(buf)).toEqual({ d: '2024-01-01', t: '2024-01-01T00:00:00.000001Z', n: '-1.23' });
  });
});
