// Avro `long` as JS bigint, and the zig-zag varint routines the logical types share.
//
// avsc reads longs into JS numbers and refuses values beyond 2^53; CT versions, int64 columns and
// microsecond timestamps far from 1970 need the full -2^63..2^63-1. The varint code below works on
// avsc's Tap (`buf`, `pos`) directly: numbers while the value is exact in a double, BigInt only past
// that, so the common small values never allocate a BigInt on the hot path.
import avro from 'avsc';

/** avsc's internal cursor; writes past the end are dropped and avsc re-runs with a bigger buffer. */
export interface Tap {
  buf: Buffer;
  pos: number;
}

const MIN_LONG = -(2n ** 63n);
const MAX_LONG = 2n ** 63n - 1n;
/** |n| <= 2^52 keeps 2|n| exact in a double */
const NUM_LIMIT = 2 ** 52;

export function writeLongNumber(tap: Tap, n: number): void {
  const buf = tap.buf;
  let pos = tap.pos;
  let z = n >= 0 ? n * 2 : -n * 2 - 1;
  if (z < 0x80000000) {
    while (z > 0x7f) {
      buf[pos++] = (z & 0x7f) | 0x80;
      z >>>= 7;
    }
  } else {
    while (z > 0x7f) {
      buf[pos++] = (z % 128) | 0x80;
      z = Math.floor(z / 128);
    }
  }
  buf[pos++] = z;
  tap.pos = pos;
}

export function writeLongBig(tap: Tap, n: bigint): void {
  if (n > -2097152n && n < 2097152n) {
    writeLongNumber(tap, Number(n));
    return;
  }
  if (n < MIN_LONG || n > MAX_LONG) throw new RangeError(`${n} is outside the Avro long range`);
  const buf = tap.buf;
  let pos = tap.pos;
  let z = n >= 0n ? n << 1n : ((-n) << 1n) - 1n;
  while (z > 0x7fn) {
    buf[pos++] = Number(z & 0x7fn) | 0x80;
    z >>= 7n;
  }
  buf[pos++] = Number(z);
  tap.pos = pos;
}

const B28 = 2 ** 28;

/**
 * Writes the long `days * perDay + units` (0 <= units < perDay) without BigInt, for temporal counts
 * that pass 2^52 (100 ns ticks do beyond 1998; micros beyond ~2112). The value is kept as two
 * exact doubles, hi * 2^28 + lo, through the zig-zag step; the low 28 bits are exactly 4 varint
 * groups. Needs |days| < 2^22 and perDay < 2^47 (any day of 0001..9999 in millis..nanos, plus
 * the caller's own check that the result fits 64 bits: below 2^62 for units up to 100 ns ticks).
 */
export function writeLongDays(tap: Tap, days: number, units: number, perDay: number): void {
  const v = days * perDay + units;
  // exact: every intermediate is an integer below 2^53 when the result is within 2^52
  if (v >= -NUM_LIMIT && v <= NUM_LIMIT) {
    writeLongNumber(tap, v);
    return;
  }
  const pH = Math.floor(perDay / B28);
  const uH = Math.floor(units / B28);
  const lo0 = days * (perDay - pH * B28) + (units - uH * B28); // |.| < 2^50
  const carry = Math.floor(lo0 / B28);
  const lo = lo0 - carry * B28; // 0 <= lo < 2^28
  const hi = days * pH + uH + carry;
  // zig-zag, z = zh * 2^28 + zl
  let zh: number;
  let zl: number;
  if (hi >= 0) {
    zh = hi * 2;
    zl = lo * 2;
    if (zl >= B28) {
      zl -= B28;
      zh += 1;
    }
  } else {
    zh = -hi * 2;
    zl = -lo * 2 - 1;
    while (zl < 0) {
      zl += B28;
      zh -= 1;
    }
  }
  const buf = tap.buf;
  let pos = tap.pos;
  // |v| > 2^52 so zh > 0: the 4 low groups all carry the continuation bit
  for (let k = 0; k < 4; k++) {
    buf[pos++] = (zl & 0x7f) | 0x80;
    zl >>>= 7;
  }
  while (zh > 0x7f) {
    buf[pos++] = (zh % 128) | 0x80;
    zh = Math.floor(zh / 128);
  }
  buf[pos++] = zh;
  tap.pos = pos;
}

/** Writes a number (safe integer) or bigint. */
export function writeLongAny(tap: Tap, n: number | bigint): void {
  if (typeof n === 'number' && n >= -NUM_LIMIT && n <= NUM_LIMIT) writeLongNumber(tap, n);
  else writeLongBig(tap, BigInt(n));
}

/**
 * Reads a zig-zag varint: a number when |value| <= 2^52 (the usual case), else a bigint.
 * A truncated buffer leaves tap.pos past the end, which avsc reports as a truncated buffer.
 */
export function readLongHybrid(tap: Tap): number | bigint {
  const buf = tap.buf;
  let pos = tap.pos;
  let b = buf[pos++];
  let z = b & 0x7f;
  let mul = 128;
  // 7 groups = 49 bits stay exact in a double; an 8th group may reach 2^56 so it goes BigInt
  let groups = 1;
  while (b & 0x80 && groups < 7) {
    b = buf[pos++];
    z += (b & 0x7f) * mul;
    mul *= 128;
    groups++;
  }
  if (b & 0x80) {
    let big = BigInt(z);
    let shift = 49n;
    do {
      b = buf[pos++];
      big |= BigInt(b & 0x7f) << shift;
      shift += 7n;
    } while (b & 0x80 && shift < 70n);
    tap.pos = pos;
    if (pos > buf.length) return 0;
    const v = (big >> 1n) ^ -(big & 1n);
    return v >= -BigInt(NUM_LIMIT) && v <= BigInt(NUM_LIMIT) ? Number(v) : v;
  }
  tap.pos = pos;
  if (pos > buf.length) return 0;
  return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
}

export function readLongBig(tap: Tap): bigint {
  const v = readLongHybrid(tap);
  return typeof v === 'bigint' ? v : BigInt(v);
}

function isLong(v: unknown): boolean {
  if (typeof v === 'bigint') return v >= MIN_LONG && v <= MAX_LONG;
  return typeof v === 'number' && Number.isSafeInteger(v);
}

const base = avro.types.LongType.__with({
  fromBuffer: (buf: Buffer) => buf.readBigInt64LE(0),
  toBuffer: (n: bigint | number) => {
    const buf = Buffer.alloc(8);
    buf.writeBigInt64LE(BigInt(n));
    return buf;
  },
  // JSON has no 64-bit integers: defaults and clone go through strings beyond 2^53
  fromJSON: (v: unknown) => BigInt(v as string | number | bigint),
  toJSON: (n: bigint | number) => {
    const b = BigInt(n);
    return b >= -BigInt(NUM_LIMIT) && b <= BigInt(NUM_LIMIT) ? Number(b) : b.toString();
  },
  isValid: isLong,
  compare: (a: bigint | number, b: bigint | number) => (a < b ? -1 : a > b ? 1 : 0),
});

/**
 * The `long` type ctrelay uses everywhere: decodes to bigint, encodes bigint or safe-integer numbers.
 * Derived from avsc's abstract long so resolution (int -> long, long -> float/double) still works;
 * read/write are replaced to skip the 8-byte buffer avsc's generic path allocates per value.
 */
export const BIG_LONG: avro.types.LongType = Object.create(base, {
  _read: { value: (tap: Tap) => readLongBig(tap) },
  _write: {
    value: (tap: Tap, v: bigint | number) => {
      if (!isLong(v)) throw new TypeError(`invalid "long": ${typeof v === 'bigint' ? v.toString() : JSON.stringify(v)}`);
      writeLongAny(tap, v);
    },
  },
});
