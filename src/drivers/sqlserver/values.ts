// Conversion between what tedious returns (after the casts of types.ts readExpression) and ctrelay's
// canonical values (src/core/model.ts), and from canonical values to driver parameters. Pure, so the
// unit tests pin every edge: decimal(38,x), bigint at +-(2^63-1), 100 ns, offsets, NULL vs "".
import type { ColumnType, Value } from '../../core/model.ts';

export class ValueConversionError extends Error {}

function fail(type: ColumnType, raw: unknown, why: string): never {
  const shown = Buffer.isBuffer(raw) ? `<${raw.length} bytes>` : typeof raw === 'bigint' ? `${raw}n` : JSON.stringify(raw);
  throw new ValueConversionError(`cannot read ${type.kind} value ${shown}: ${why}`);
}

const DECIMAL = /^([+-])?(\d*)(?:\.(\d*))?$/;

/** A decimal string at exactly `scale` fractional digits, no exponent, no leading zeros, no "-0". */
export function canonicalDecimal(text: string, scale: number): string {
  const m = DECIMAL.exec(text.trim());
  if (!m || (m[2] === '' && (m[3] ?? '') === '')) throw new ValueConversionError(`not a plain decimal: ${JSON.stringify(text)}`);
  const sign = m[1] === '-' ? '-' : '';
  const intPart = m[2].replace(/^0+(?=\d)/, '') || '0';
  let frac = m[3] ?? '';
  if (frac.length > scale) {
    if (/[^0]/.test(frac.slice(scale))) throw new ValueConversionError(`${JSON.stringify(text)} has more than ${scale} significant fractional digits`);
    frac = frac.slice(0, scale);
  }
  frac = frac.padEnd(scale, '0');
  const body = scale > 0 ? `${intPart}.${frac}` : intPart;
  return /^[0.]*$/.test(body) ? body : sign + body;
}

/** Fractional seconds at exactly `precision` digits ("" when 0); refuses to drop non-zero digits. */
function fraction(digits: string | undefined, precision: number, text: string): string {
  let f = digits ?? '';
  if (f.length > precision) {
    if (/[^0]/.test(f.slice(precision))) throw new ValueConversionError(`${JSON.stringify(text)} has more than ${precision} fractional-second digits`);
    f = f.slice(0, precision);
  }
  f = f.padEnd(precision, '0');
  return precision > 0 ? `.${f}` : '';
}

const DATE = /^(\d{4}-\d{2}-\d{2})$/;
const TIME = /^(\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?$/;
// style 121 prints "YYYY-MM-DD hh:mm:ss.fffffff"; ISO "T" is accepted too
const TIMESTAMP = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?$/;
// style 121 on datetimeoffset prints "YYYY-MM-DD hh:mm:ss.fffffff +hh:mm"
const OFFSET_TS = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))? ?(Z|[+-]\d{2}:\d{2})$/;

function parseOffsetMinutes(offset: string): number {
  if (offset === 'Z') return 0;
  const sign = offset[0] === '-' ? -1 : 1;
  return sign * (Number(offset.slice(1, 3)) * 60 + Number(offset.slice(4, 6)));
}

/** Moves a wall-clock "YYYY-MM-DD", "hh:mm:ss" by -offset minutes (to UTC), whole seconds only. */
function toUtc(date: string, time: string, offsetMinutes: number): { date: string; time: string } {
  if (offsetMinutes === 0) return { date, time };
  const d = new Date(0);
  d.setUTCFullYear(Number(date.slice(0, 4)), Number(date.slice(5, 7)) - 1, Number(date.slice(8, 10)));
  d.setUTCHours(Number(time.slice(0, 2)), Number(time.slice(3, 5)) - offsetMinutes, Number(time.slice(6, 8)), 0);
  const iso = d.toISOString(); // years 0001..9999 print as YYYY
  return { date: iso.slice(0, 10), time: iso.slice(11, 19) };
}

/** What tedious returned for one column (cast per readExpression) -> canonical value. */
export function fromDriver(type: ColumnType, raw: unknown): Value {
  if (raw === null || raw === undefined) return null;
  switch (type.kind) {
    case 'boolean':
      if (typeof raw === 'boolean') return raw;
      if (raw === 0 || raw === 1) return raw === 1;
      return fail(type, raw, 'expected a bit');
    case 'int16':
    case 'int32':
      if (typeof raw === 'number' && Number.isInteger(raw)) return raw;
      return fail(type, raw, 'expected an integer');
    case 'int64':
      // tedious returns bigint as a decimal string exactly because a JS number cannot hold it
      if (typeof raw === 'bigint') return raw;
      if (typeof raw === 'string' && /^-?\d+$/.test(raw)) return BigInt(raw);
      if (typeof raw === 'number' && Number.isSafeInteger(raw)) return BigInt(raw);
      return fail(type, raw, 'expected a bigint string');
    case 'float32':
    case 'float64':
      if (typeof raw === 'number') return raw;
      return fail(type, raw, 'expected a number');
    case 'decimal':
      if (typeof raw !== 'string') return fail(type, raw, 'decimals must be selected as strings (a JS number loses digits)');
      return canonicalDecimal(raw, type.scale);
    case 'string':
    case 'json':
    case 'xml':
      if (typeof raw === 'string') return raw;
      return fail(type, raw, 'expected a string');
    case 'bytes':
      if (Buffer.isBuffer(raw)) return raw;
      return fail(type, raw, 'expected a Buffer');
    case 'uuid':
      if (typeof raw === 'string' && /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/.test(raw)) return raw.toLowerCase();
      return fail(type, raw, 'expected a uniqueidentifier string');
    case 'date': {
      const m = typeof raw === 'string' ? DATE.exec(raw) : null;
      return m ? m[1] : fail(type, raw, 'expected YYYY-MM-DD');
    }
    case 'time': {
      const m = typeof raw === 'string' ? TIME.exec(raw) : null;
      return m ? m[1] + fraction(m[2], type.precision, raw as string) : fail(type, raw, 'expected hh:mm:ss[.fffffff] (select with CONVERT style 121)');
    }
    case 'timestamp': {
      const m = typeof raw === 'string' ? TIMESTAMP.exec(raw) : null;
      return m ? `${m[1]}T${m[2]}${fraction(m[3], type.precision, raw as string)}` : fail(type, raw, 'expected YYYY-MM-DD hh:mm:ss[.fffffff] (select with CONVERT style 121)');
    }
    case 'datetimeoffset': {
      const m = typeof raw === 'string' ? OFFSET_TS.exec(raw) : null;
      if (!m) return fail(type, raw, 'expected YYYY-MM-DD hh:mm:ss[.fffffff] +hh:mm (select with CONVERT style 121)');
      return `${m[1]}T${m[2]}${fraction(m[3], type.precision, raw as string)}${m[4] === 'Z' ? '+00:00' : m[4]}`;
    }
    case 'timestamptz': {
      const m = typeof raw === 'string' ? OFFSET_TS.exec(raw) : null;
      if (!m) return fail(type, raw, 'expected YYYY-MM-DD hh:mm:ss[.fffffff] +hh:mm');
      const utc = toUtc(m[1], m[2], parseOffsetMinutes(m[4]));
      return `${utc.date}T${utc.time}${fraction(m[3], type.precision, raw as string)}Z`;
    }
  }
}

/** How a canonical value travels as a parameter; the statement CASTs string forms to the column type. */
export type ParamValue =
  | { sqlType: 'bit'; value: boolean | null }
  | { sqlType: 'int'; value: number | null }
  | { sqlType: 'bigint'; value: bigint | null }
  | { sqlType: 'float'; value: number | null }
  | { sqlType: 'nvarchar'; value: string | null }
  | { sqlType: 'varbinary'; value: Buffer | null };

export function toParam(type: ColumnType, v: Value): ParamValue {
  const bad = (): never => fail(type, v, 'not the canonical form of this type');
  switch (type.kind) {
    case 'boolean':
      return v === null ? { sqlType: 'bit', value: null } : typeof v === 'boolean' ? { sqlType: 'bit', value: v } : bad();
    case 'int16':
    case 'int32':
      return v === null ? { sqlType: 'int', value: null } : typeof v === 'number' && Number.isInteger(v) ? { sqlType: 'int', value: v } : bad();
    case 'int64':
      return v === null ? { sqlType: 'bigint', value: null } : typeof v === 'bigint' ? { sqlType: 'bigint', value: v } : bad();
    case 'float32':
    case 'float64':
      if (v === null) return { sqlType: 'float', value: null };
      if (typeof v !== 'number') return bad();
      if (!Number.isFinite(v)) return fail(type, v, 'SQL Server float cannot store NaN or Infinity');
      return { sqlType: 'float', value: v };
    case 'bytes':
      return v === null ? { sqlType: 'varbinary', value: null } : Buffer.isBuffer(v) ? { sqlType: 'varbinary', value: v } : bad();
    default:
      return v === null ? { sqlType: 'nvarchar', value: null } : typeof v === 'string' ? { sqlType: 'nvarchar', value: v } : bad();
  }
}
