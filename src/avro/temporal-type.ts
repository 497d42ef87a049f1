// time-* and (local-)timestamp-* logical types: canonical time/timestamp strings <-> Avro counts.
import avro from 'avsc';
import { readLongHybrid, writeLongAny, writeLongDays, type Tap } from './long.ts';
import {
  formatDate, formatTimeOfDay, fractionDigitsOf, joinCount, MAX_DAYS, MIN_DAYS, parseDate,
  parseTimeOfDay, split, splitCount, TemporalFormatError,
} from './temporal.ts';

/** Schema attribute holding a temporal column's fractional-second digits (0..9). */
export const PRECISION_ATTR = 'ctrelay.precision';

type AnySchema = Record<string, any>;
type Resolver = { _read?: (tap: Tap) => unknown };

const LONG_MIN = -(2n ** 63n);
const LONG_MAX = 2n ** 63n - 1n;
/** parseTimestamp's result, reused to avoid an allocation per value */
const parsed = { days: 0, nanos: 0 };

const UNITS: Record<string, { perSecond: number; family: 'time' | 'instant' | 'local'; endOfDay?: true }> = {
  'time-millis': { perSecond: 1e3, family: 'time' },
  'time-micros': { perSecond: 1e6, family: 'time' },
  'time-nanos': { perSecond: 1e9, family: 'time' },
  'time24-micros': { perSecond: 1e6, family: 'time', endOfDay: true },
  'time24-nanos': { perSecond: 1e9, family: 'time', endOfDay: true },
  'timestamp-millis': { perSecond: 1e3, family: 'instant' },
  'timestamp-micros': { perSecond: 1e6, family: 'instant' },
  'timestamp-ticks': { perSecond: 1e7, family: 'instant' },
  'timestamp-nanos': { perSecond: 1e9, family: 'instant' },
  'local-timestamp-millis': { perSecond: 1e3, family: 'local' },
  'local-timestamp-micros': { perSecond: 1e6, family: 'local' },
  'local-timestamp-ticks': { perSecond: 1e7, family: 'local' },
  'local-timestamp-nanos': { perSecond: 1e9, family: 'local' },
};

/**
 * time-* and (local-)timestamp-* as canonical strings when the schema carries `ctrelay.precision`
 * (every column ctrelay writes). Without it (envelope metadata such as ts_ms, or schemas from other
 * tools) the value is the raw count: a number for millis, a bigint for micros/nanos.
 *
 * time-nanos is not in the Avro spec (1.12 has timestamp-nanos but no time-nanos); a reader without
 * it falls back to the plain long, which still is an exact count of nanoseconds since midnight.
 *
 * time24-micros / time24-nanos are ctrelay's own, for sources whose time of day admits 24:00:00
 * (PostgreSQL): the count runs from 0 to 86400 s INCLUSIVE. The standard time-* types never write
 * 24:00:00 (Avro Java's conversions refuse it, which would make the whole event unreadable to a
 * standard consumer); they still read it, exactly, from events written before time24 existed.
 *
 * (local-)timestamp-ticks are ctrelay's own, for precision 7 (SQL Server datetime2(7) and friends):
 * a long count of 100-nanosecond ticks since 1970-01-01T00:00:00 (UTC for timestamp-ticks, wall
 * clock for local-timestamp-ticks). A 64-bit count of ticks spans about +-29,000 years, so all of
 * 0001-01-01..9999-12-31 fits, which nanoseconds (1677-09-21..2262-04-11 only) cannot. A reader
 * without these logical types still decodes the plain long. The nanos types remain for p 8..9.
 */
export class TemporalType extends avro.types.LogicalType {
  readonly unitsPerSecond: number;
  readonly family: 'time' | 'instant' | 'local';
  /** time24-*: 24:00:00 is a value (written and read); other time types only read it */
  readonly endOfDay: boolean;
  /** fractional digits of the canonical string, or -1 for raw counts */
  readonly precision: number;
  private readonly nanosPerUnit: number;
  private readonly unitsPerDay: number;

  constructor(schema: AnySchema, opts?: unknown) {
    super(schema as avro.Schema, opts);
    const unit = UNITS[schema.logicalType];
    const expected = unit.perSecond === 1e3 && unit.family === 'time' ? 'int' : 'long';
    if (schema.type !== expected) throw new Error(`${schema.logicalType} must annotate ${expected}`);
    const p = schema[PRECISION_ATTR];
    const digits = fractionDigitsOf(unit.perSecond);
    if (p !== undefined && (!Number.isInteger(p) || p < 0 || p > digits)) {
      throw new Error(`${PRECISION_ATTR} ${JSON.stringify(p)} does not fit ${schema.logicalType}`);
    }
    this.unitsPerSecond = unit.perSecond;
    this.family = unit.family;
    this.endOfDay = unit.endOfDay === true;
    this.precision = p ?? -1;
    this.nanosPerUnit = 1e9 / unit.perSecond;
    this.unitsPerDay = 86400 * unit.perSecond;
  }

  get logicalTypeName(): string {
    return (this as any)._logicalTypeName;
  }

  /** canonical string (or raw count) -> count in this type's unit */
  protected override _toValue(v: unknown): number | bigint {
    if (this.precision < 0) {
      if (typeof v === 'number' && Number.isSafeInteger(v)) return v;
      if (typeof v === 'bigint') return v;
      throw new TemporalFormatError(`${this.logicalTypeName} value must be an integer count, got ${String(v)}`);
    }
    if (typeof v !== 'string') throw new TemporalFormatError(`${this.logicalTypeName} value must be a string, got ${typeof v}`);
    if (this.family === 'time') {
      const nanos = parseTimeOfDay(v, 0, v.length, this.precision, this.endOfDay ? 'time (HH:MM:SS[.f], up to 24:00:00)' : 'time (HH:MM:SS[.f], before 24:00:00)', this.endOfDay);
      return nanos / (1e9 / this.unitsPerSecond);
    }
    this.parseTimestamp(v);
    const count = joinCount(parsed.days, parsed.nanos, this.unitsPerSecond);
    if (typeof count === 'bigint' && (count < LONG_MIN || count > LONG_MAX)) {
      throw new TemporalFormatError(`${JSON.stringify(v)} is outside the range of ${this.logicalTypeName} (a 64-bit count of nanoseconds spans 1677-09-21..2262-04-11)`);
    }
    return count;
  }

  /** canonical timestamp string -> `parsed` (days since 1970-01-01, nanos of the day) */
  private parseTimestamp(v: unknown): void {
    if (typeof v !== 'string') throw new TemporalFormatError(`${this.logicalTypeName} value must be a string, got ${typeof v}`);
    const instant = this.family === 'instant';
    const end = instant ? v.length - 1 : v.length;
    const what = instant ? 'UTC timestamp (YYYY-MM-DDTHH:MM:SS[.f]Z)' : 'timestamp (YYYY-MM-DDTHH:MM:SS[.f])';
    if (v.length < 19 || v.charCodeAt(10) !== 84 /* T */ || (instant && v.charCodeAt(end) !== 90 /* Z */)) {
      throw new TemporalFormatError(`${JSON.stringify(v)} is not a valid ${what}`);
    }
    parsed.days = parseDate(v, 0, what);
    parsed.nanos = parseTimeOfDay(v, 11, end, this.precision, what);
  }

  /** count -> canonical string (or the raw count) */
  protected override _fromValue(count: number | bigint): string | number | bigint {
    if (this.precision < 0) return this.unitsPerSecond === 1e3 ? Number(count) : BigInt(count);
    if (this.family === 'time') {
      const nanos = Number(count) * (1e9 / this.unitsPerSecond);
      if (!(nanos >= 0 && nanos <= 86_400e9)) throw new TemporalFormatError(`${count} is not a time of day`);
      return formatTimeOfDay(nanos, this.precision);
    }
    splitCount(count, this.unitsPerSecond);
    if (split.days < MIN_DAYS || split.days > MAX_DAYS) {
      throw new TemporalFormatError(`${this.logicalTypeName} ${count} is outside 0001-01-01..9999-12-31`);
    }
    const s = formatDate(split.days) + 'T' + formatTimeOfDay(split.nanos, this.precision);
    return this.family === 'instant' ? s + 'Z' : s;
  }

  _read(tap: Tap): string | number | bigint | undefined {
    const count = readLongHybrid(tap);
    if (tap.pos > tap.buf.length) return undefined;
    return this._fromValue(count);
  }

  _write(tap: Tap, v: unknown): void {
    // timestamps below nanoseconds: days + units of the day straight to the varint, no BigInt
    if (this.precision >= 0 && this.family !== 'time' && this.unitsPerSecond !== 1e9) {
      this.parseTimestamp(v);
      writeLongDays(tap, parsed.days, parsed.nanos / this.nanosPerUnit, this.unitsPerDay);
      return;
    }
    writeLongAny(tap, this._toValue(v));
  }

  _check(v: unknown): boolean {
    return this.precision < 0 ? typeof v === 'number' || typeof v === 'bigint' : typeof v === 'string';
  }

  _skip(tap: Tap): void {
    readLongHybrid(tap);
  }

  /**
   * Same family (time / UTC instant / local timestamp) in any unit, or a plain int/long taken as a
   * count in this type's unit. Finer counts that do not fit this unit exactly fail at read time
   * rather than being truncated.
   */
  _update(resolver: Resolver, writer: avro.Type): void {
    let writerUnits: number;
    if (writer instanceof TemporalType && writer.family === this.family) writerUnits = writer.unitsPerSecond;
    else if (avro.Type.isType(writer, 'int', 'long', 'abstract:long')) writerUnits = this.unitsPerSecond;
    else return;
    const factor = this.unitsPerSecond / writerUnits;
    resolver._read = (tap: Tap) => {
      const raw = readLongHybrid(tap);
      if (factor === 1) return this._fromValue(raw);
      if (factor > 1) return this._fromValue(typeof raw === 'number' && Math.abs(raw * factor) <= 2 ** 52 ? raw * factor : BigInt(raw) * BigInt(factor));
      const div = BigInt(writerUnits / this.unitsPerSecond);
      const b = BigInt(raw);
      if (b % div !== 0n) throw new TemporalFormatError(`${writer.typeName} ${raw} cannot be read as ${this.logicalTypeName} without losing precision`);
      return this._fromValue(b / div);
    };
  }

  protected override _export(schema: any): void {
    if (this.precision >= 0) schema[PRECISION_ATTR] = this.precision;
  }
}

export const TEMPORAL_LOGICAL_TYPES = Object.keys(UNITS);
