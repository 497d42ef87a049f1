// Canonical temporal strings (src/core/model.ts) <-> day and nanosecond counts, without Date:
// Date cannot hold 100 ns, mangles years 0..99 and costs an allocation per value. The calendar
// maths is Howard Hinnant's days_from_civil / civil_from_days (proleptic Gregorian, as both SQL
// Server and PostgreSQL use).

export const NANOS_PER_DAY = 86_400_000_000_000;
/** 0001-01-01 and 9999-12-31 as days since 1970-01-01: the canonical range */
export const MIN_DAYS = -719_162;
export const MAX_DAYS = 2_932_896;

const POW10 = [1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9];
const PAD2: string[] = Array.from({ length: 100 }, (_, i) => (i < 10 ? '0' : '') + i);

export class TemporalFormatError extends Error {}

function bad(s: string, what: string): never {
  throw new TemporalFormatError(`${JSON.stringify(s)} is not a valid ${what}`);
}

function digit(s: string, i: number, what: string): number {
  const d = s.charCodeAt(i) - 48;
  if (d < 0 || d > 9 || Number.isNaN(d)) bad(s, what);
  return d;
}

function two(s: string, i: number, what: string): number {
  return digit(s, i, what) * 10 + digit(s, i + 1, what);
}

function daysInMonth(y: number, m: number): number {
  if (m === 2) return (y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0)) ? 29 : 28;
  return m === 4 || m === 6 || m === 9 || m === 11 ? 30 : 31;
}

export function daysFromCivil(y: number, m: number, d: number): number {
  y -= m <= 2 ? 1 : 0;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/** "YYYY-MM-DD" starting at `i`, as days since 1970-01-01. */
export function parseDate(s: string, i = 0, what = 'date (YYYY-MM-DD)'): number {
  if (s.charCodeAt(i + 4) !== 45 || s.charCodeAt(i + 7) !== 45) bad(s, what);
  const y = two(s, i, what) * 100 + two(s, i + 2, what);
  const m = two(s, i + 5, what);
  const d = two(s, i + 8, what);
  if (y < 1 || m < 1 || m > 12 || d < 1 || d > daysInMonth(y, m)) bad(s, what);
  return daysFromCivil(y, m, d);
}

export function formatDate(days: number): string {
  if (!(days >= MIN_DAYS && days <= MAX_DAYS)) {
    throw new TemporalFormatError(`day ${days} is outside 0001-01-01..9999-12-31`);
  }
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  const y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  return PAD2[Math.floor(y / 100)] + PAD2[y % 100] + '-' + PAD2[m] + '-' + PAD2[d];
}

/**
 * "HH:MM:SS[.fffffffff]" spanning s[i..end) as nanoseconds of the day. Fractional digits beyond
 * `precision` are accepted only when they are zeros: never round. `allow24` admits PostgreSQL's
 * time '24:00:00'.
 */
export function parseTimeOfDay(s: string, i: number, end: number, precision: number, what: string, allow24 = false): number {
  if (s.charCodeAt(i + 2) !== 58 || s.charCodeAt(i + 5) !== 58) bad(s, what);
  const h = two(s, i, what);
  const mi = two(s, i + 3, what);
  const se = two(s, i + 6, what);
  if (mi > 59 || se > 59 || h > 24 || (h === 24 && !(allow24 && mi === 0 && se === 0))) bad(s, what);
  let nanos = 0;
  let p = i + 8;
  if (p < end) {
    if (s.charCodeAt(p) !== 46 || p + 1 === end) bad(s, what);
    p++;
    const digits = end - p;
    for (let k = 0; k < digits; k++) {
      const dg = digit(s, p + k, what);
      if (k < 9) nanos += dg * POW10[8 - k];
      if (k >= precision && dg !== 0) {
        throw new TemporalFormatError(`${JSON.stringify(s)} has more than ${precision} fractional digits (would lose precision)`);
      }
    }
    if (h === 24 && nanos !== 0) bad(s, what);
  } else if (p !== end) bad(s, what);
  return ((h * 60 + mi) * 60 + se) * 1e9 + nanos;
}

/** nanoseconds of the day -> "HH:MM:SS" plus exactly `precision` fractional digits */
export function formatTimeOfDay(nanos: number, precision: number): string {
  const secs = Math.floor(nanos / 1e9);
  const h = Math.floor(secs / 3600);
  const rest = secs - h * 3600;
  const mi = Math.floor(rest / 60);
  let out = PAD2[h] + ':' + PAD2[mi] + ':' + PAD2[rest - mi * 60];
  if (precision > 0) {
    const frac = nanos - secs * 1e9;
    const unit = POW10[9 - precision];
    if (frac % unit !== 0) {
      throw new TemporalFormatError(`time of day has more than ${precision} fractional digits`);
    }
    const f = String(frac / unit);
    out += '.' + '000000000'.slice(0, precision - f.length) + f;
  }
  return out;
}

/**
 * A count of `unitsPerSecond` since 1970-01-01T00:00 -> days + nanos of day. Number counts stay in
 * double arithmetic (exact below 2^53); bigint only for the rare far dates / nanosecond units.
 * Results in the module-level `split` to avoid an allocation per value.
 */
export const split = { days: 0, nanos: 0 };

export function splitCount(count: number | bigint, unitsPerSecond: number): void {
  const perDay = 86400 * unitsPerSecond;
  const nanosPerUnit = 1e9 / unitsPerSecond;
  if (typeof count === 'number') {
    const days = Math.floor(count / perDay);
    split.days = days;
    split.nanos = (count - days * perDay) * nanosPerUnit;
  } else {
    const pd = BigInt(perDay);
    let d = count / pd;
    let r = count % pd;
    if (r < 0n) {
      d -= 1n;
      r += pd;
    }
    split.days = Number(d);
    split.nanos = Number(r) * nanosPerUnit;
  }
}

/** days + nanos of day -> a count in `unitsPerSecond`; nanos must be a multiple of the unit. */
export function joinCount(days: number, nanos: number, unitsPerSecond: number): number | bigint {
  const nanosPerUnit = 1e9 / unitsPerSecond;
  const perDay = 86400 * unitsPerSecond;
  // exact in a double while |days * perDay| stays below 2^52 (always for millis)
  if (unitsPerSecond === 1e3 || Math.abs(days) * perDay < 2 ** 52) {
    return days * perDay + nanos / nanosPerUnit;
  }
  return BigInt(days) * BigInt(perDay) + BigInt(nanos / nanosPerUnit);
}

/** fractional-second digits a unit holds: millis 3, micros 6, 100 ns ticks 7, nanos 9 */
export function fractionDigitsOf(unitsPerSecond: number): number {
  return unitsPerSecond === 1e3 ? 3 : unitsPerSecond === 1e6 ? 6 : unitsPerSecond === 1e7 ? 7 : 9;
}
