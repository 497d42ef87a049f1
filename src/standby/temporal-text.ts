// The canonical temporal text forms (src/core/model.ts) as the standby dialects read and store them:
// fractions padded to the declared precision, and which temporal columns an engine keeps as their
// canonical string because it cannot hold them natively (sub-microsecond precision, offsets).
import type { ColumnType } from '../core/model.ts';

/**
 * Rewrites the fractional seconds at the end of `hh:mm:ss[.f...]` to exactly `precision` digits.
 * Databases print trailing zeros away ("10:00:00.1" for time(3)); the canonical form keeps them.
 * Never rounds: extra digits would mean the column holds more than its declared precision.
 */
export function fixFraction(text: string, precision: number): string {
  const m = /^(.*\d\d:\d\d:\d\d)(?:\.(\d+))?$/.exec(text);
  if (!m) return text; // infinity, BC dates and other forms the canonical model does not cover
  const frac = m[2] ?? '';
  if (precision <= 0) return frac === '' || /^0+$/.test(frac) ? m[1] : text;
  if (frac.length > precision) return text;
  return `${m[1]}.${frac.padEnd(precision, '0')}`;
}

/**
 * Width of the canonical string of a temporal column an engine whose native types keep at most
 * `nativePrecision` fractional digits and no offset must store as text; null when the native type
 * holds it. The fixed-width form sorts in time order, so such columns still work as keys and in
 * range scans.
 */
export function temporalTextWidth(t: ColumnType, nativePrecision = 6): number | null {
  switch (t.kind) {
    case 'time':
      return t.precision > nativePrecision ? 9 + t.precision : null; // hh:mm:ss.f
    case 'timestamp':
      return t.precision > nativePrecision ? 20 + t.precision : null; // date T time .f
    case 'timestamptz':
      return t.precision > nativePrecision ? 21 + t.precision : null; // ... Z
    case 'datetimeoffset':
      return 25 + (t.precision > 0 ? t.precision + 1 : 0); // date, time, fraction, "+HH:MM"
    default:
      return null;
  }
}
