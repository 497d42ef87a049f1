// Canonical decimal strings ("-12.3400") <-> unscaled integers <-> Avro two's-complement bytes.
// Precision <= 15 stays in double arithmetic (10^15 < 2^53); larger precisions use BigInt.

export class DecimalRangeError extends Error {}

const NUMBER_PRECISION = 15;

/** Minimal fixed size that holds every unscaled value of `precision` digits (Avro spec rule). */
export function fixedSizeFor(precision: number): number {
  const max = 10n ** BigInt(precision);
  let n = 1;
  while (1n << BigInt(8 * n - 1) < max) n++;
  return n;
}

/** Largest precision a fixed of `size` bytes can hold. */
export function maxPrecisionFor(size: number): number {
  return Math.floor(Math.log10(2) * (8 * size - 1));
}

/**
 * Parses a plain decimal string into its unscaled integer at `scale`. Fewer fractional digits are
 * padded; extra ones must be zeros; more integer digits than precision - scale are rejected: a
 * decimal is never rounded.
 */
export function parseDecimal(s: string, precision: number, scale: number): number | bigint {
  const len = s.length;
  let i = 0;
  let neg = false;
  const c0 = s.charCodeAt(0);
  if (c0 === 45 /* - */) {
    neg = true;
    i = 1;
  } else if (c0 === 43 /* + */) i = 1;
  while (i < len - 1 && s.charCodeAt(i) === 48 && isDigit(s.charCodeAt(i + 1))) i++;
  const intStart = i;
  while (i < len && isDigit(s.charCodeAt(i))) i++;
  const intEnd = i;
  let fracStart = i;
  let fracEnd = i;
  if (i < len) {
    if (s.charCodeAt(i) !== 46 /* . */) throw notDecimal(s);
    fracStart = ++i;
    while (i < len && isDigit(s.charCodeAt(i))) i++;
    fracEnd = i;
    if (i !== len) throw notDecimal(s);
  }
  if (intEnd === intStart && fracEnd === fracStart) throw notDecimal(s);
  // "0.5": the lone leading zero is not a significant digit
  const intDigits = intEnd - intStart === 1 && s.charCodeAt(intStart) === 48 ? 0 : intEnd - intStart;
  if (intDigits > precision - scale) {
    throw new DecimalRangeError(`${JSON.stringify(s)} does not fit decimal(${precision},${scale})`);
  }
  let fracUsed = fracEnd - fracStart;
  if (fracUsed > scale) {
    for (let k = fracStart + scale; k < fracEnd; k++) {
      if (s.charCodeAt(k) !== 48) {
        throw new DecimalRangeError(`${JSON.stringify(s)} has more than ${scale} fractional digits for decimal(${precision},${scale}) (would round)`);
      }
    }
    fracUsed = scale;
  }
  if (precision <= NUMBER_PRECISION) {
    let n = 0;
    for (let k = intEnd - intDigits; k < intEnd; k++) n = n * 10 + (s.charCodeAt(k) - 48);
    for (let k = fracStart; k < fracStart + fracUsed; k++) n = n * 10 + (s.charCodeAt(k) - 48);
    for (let k = fracUsed; k < scale; k++) n *= 10;
    return neg ? -n : n;
  }
  const digits = s.slice(intEnd - intDigits, intEnd) + s.slice(fracStart, fracStart + fracUsed) + '0'.repeat(scale - fracUsed);
  if (digits.length === 0) return 0n;
  const v = BigInt(digits);
  return neg ? -v : v;
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

function notDecimal(s: string): DecimalRangeError {
  return new DecimalRangeError(`${JSON.stringify(s)} is not a plain decimal number`);
}

export function formatDecimal(unscaled: number | bigint, scale: number): string {
  const neg = unscaled < 0;
  let digits = String(neg ? -unscaled : unscaled);
  if (scale === 0) return neg ? '-' + digits : digits;
  if (digits.length <= scale) digits = '0'.repeat(scale - digits.length + 1) + digits;
  const cut = digits.length - scale;
  return (neg ? '-' : '') + digits.slice(0, cut) + '.' + digits.slice(cut);
}

/** Writes `v` as `size` bytes of big-endian two's complement at buf[pos..]. */
export function writeTwosComplement(v: number | bigint, buf: Buffer, pos: number, size: number): void {
  if (typeof v === 'number') {
    const neg = v < 0;
    let m = neg ? -v - 1 : v;
    for (let k = pos + size - 1; k >= pos; k--) {
      const b = m % 256;
      m = (m - b) / 256;
      buf[k] = neg ? 255 - b : b;
    }
    return;
  }
  const neg = v < 0n;
  const hex = (neg ? -v - 1n : v).toString(16);
  if (hex.length > size * 2) throw new DecimalRangeError(`${v} does not fit ${size} bytes`);
  buf.fill(0, pos, pos + size);
  buf.write(hex.length % 2 ? '0' + hex : hex, pos + size - Math.ceil(hex.length / 2), 'hex');
  if (neg) for (let k = pos; k < pos + size; k++) buf[k] = 255 - buf[k];
}

export function readTwosComplement(buf: Buffer, pos: number, size: number, asNumber: boolean): number | bigint {
  if (size === 0) return asNumber ? 0 : 0n;
  if (asNumber && size <= 6) return buf.readIntBE(pos, size);
  if (asNumber && size === 7) return buf.readInt8(pos) * 2 ** 48 + buf.readUIntBE(pos + 1, 6);
  let v = BigInt('0x' + buf.toString('hex', pos, pos + size));
  if (buf[pos] & 0x80) v -= 1n << BigInt(8 * size);
  return asNumber ? Number(v) : v;
}

/** Minimal-length two's complement, for decimals on `bytes` (schemas written by other tools). */
export function toMinimalTwosComplement(v: number | bigint): Buffer {
  const b = BigInt(v);
  let size = 1;
  while (b >= 1n << BigInt(8 * size - 1) || b < -(1n << BigInt(8 * size - 1))) size++;
  const buf = Buffer.alloc(size);
  writeTwosComplement(b, buf, 0, size);
  return buf;
}

export function usesNumber(precision: number): boolean {
  return precision <= NUMBER_PRECISION;
}
