// avsc logical types that turn Avro values into ctrelay's canonical values (src/core/model.ts) and
// back, and `parseType`, the one way ctrelay builds avsc Types so every schema gets them.
//
// Hot paths (`_read`/`_write`) work on avsc's Tap directly: no intermediate Buffer per decimal, no
// BigInt per timestamp unless the value needs one. `_check` is deliberately shallow (a typeof):
// avsc calls it to pick the branch of ["null", T] unions, so a full parse there would parse every
// value twice; full validation happens on write, which throws.
import avro from 'avsc';
import {
  DecimalRangeError, fixedSizeFor, formatDecimal, parseDecimal, readTwosComplement,
  toMinimalTwosComplement, usesNumber, writeTwosComplement,
} from './decimal.ts';
import { BIG_LONG, type Tap } from './long.ts';
import { formatDate, parseDate, parseTimeOfDay, TemporalFormatError } from './temporal.ts';
import { PRECISION_ATTR, TEMPORAL_LOGICAL_TYPES, TemporalType } from './temporal-type.ts';

export { PRECISION_ATTR, TemporalType };

type AnySchema = Record<string, any>;

function isType(t: unknown, ...kinds: string[]): boolean {
  return avro.Type.isType(t, ...kinds);
}

/** decimal(p,s) on `fixed` (what ctrelay writes) or `bytes` (what other tools may write). */
export class DecimalType extends avro.types.LogicalType {
  readonly precision: number;
  readonly scale: number;
  /** fixed size, or 0 for bytes */
  readonly size: number;
  private readonly asNumber: boolean;

  constructor(schema: AnySchema, opts?: unknown) {
    super(schema as avro.Schema, opts);
    const p = schema.precision;
    const s = schema.scale ?? 0;
    if (!Number.isInteger(p) || p < 1 || !Number.isInteger(s) || s < 0 || s > p) {
      throw new Error(`invalid decimal precision/scale: ${JSON.stringify([p, s])}`);
    }
    const u = this.underlyingType as any;
    this.size = isType(u, 'fixed') ? u.size : 0;
    if (this.size > 0 && fixedSizeFor(p) > this.size) {
      throw new Error(`fixed of size ${this.size} cannot hold decimal(${p},${s})`);
    }
    this.precision = p;
    this.scale = s;
    this.asNumber = usesNumber(p);
  }

  protected override _fromValue(buf: Buffer): string {
    return formatDecimal(readTwosComplement(buf, 0, buf.length, this.asNumber && buf.length <= 7), this.scale);
  }

  protected override _toValue(v: unknown): Buffer {
    if (typeof v !== 'string') throw new DecimalRangeError(`decimal value must be a string, got ${typeof v}`);
    const u = parseDecimal(v, this.precision, this.scale);
    if (this.size === 0) return toMinimalTwosComplement(u);
    const buf = Buffer.alloc(this.size);
    writeTwosComplement(u, buf, 0, this.size);
    return buf;
  }

  _read(tap: Tap): string | undefined {
    if (this.size === 0) {
      const b = (this.underlyingType as any)._read(tap) as Buffer | undefined;
      return b === undefined ? undefined : this._fromValue(b);
    }
    const pos = tap.pos;
    tap.pos += this.size;
    if (tap.pos > tap.buf.length) return undefined;
    return formatDecimal(readTwosComplement(tap.buf, pos, this.size, this.asNumber), this.scale);
  }

  _write(tap: Tap, v: unknown): void {
    if (this.size === 0 || typeof v !== 'string') {
      (this.underlyingType as any)._write(tap, this._toValue(v));
      return;
    }
    const u = parseDecimal(v, this.precision, this.scale);
    const pos = tap.pos;
    tap.pos += this.size;
    if (tap.pos <= tap.buf.length) writeTwosComplement(u, tap.buf, pos, this.size);
  }

  _check(v: unknown): boolean {
    return typeof v === 'string';
  }

  protected override _resolve(writer: avro.Type): ((v: any) => string) | undefined {
    if (writer instanceof DecimalType) {
      if (writer.scale === this.scale && writer.precision <= this.precision) return (v: string) => v;
      // different scale or narrower precision: re-validate, never round
      return (v: string) => formatDecimal(parseDecimal(v, this.precision, this.scale), this.scale);
    }
    return undefined;
  }

  protected override _export(schema: any): void {
    schema.precision = this.precision;
    schema.scale = this.scale;
  }
}

/** date on int: "YYYY-MM-DD" <-> days since 1970-01-01 */
export class DateType extends avro.types.LogicalType {
  protected override _fromValue(days: number): string {
    return formatDate(days);
  }

  protected override _toValue(v: unknown): number {
    if (typeof v !== 'string' || v.length !== 10) throw new TemporalFormatError(`${JSON.stringify(v)} is not a valid date (YYYY-MM-DD)`);
    return parseDate(v);
  }

  _check(v: unknown): boolean {
    return typeof v === 'string';
  }

  protected override _resolve(writer: avro.Type): ((v: any) => string) | undefined {
    if (writer instanceof DateType) return (v: string) => v;
    if (isType(writer, 'int')) return (v: number) => this._fromValue(v);
    return undefined;
  }
}

/** datetimeoffset on string: ISO-8601 with the offset it was written with, e.g. "...+05:45". */
export class DateTimeOffsetType extends avro.types.LogicalType {
  readonly precision: number;

  constructor(schema: AnySchema, opts?: unknown) {
    super(schema as avro.Schema, opts);
    const p = schema[PRECISION_ATTR];
    this.precision = Number.isInteger(p) && p >= 0 && p <= 9 ? p : 9;
  }

  protected override _toValue(v: unknown): string {
    const what = 'datetimeoffset (YYYY-MM-DDTHH:MM:SS[.f]+HH:MM)';
    if (typeof v !== 'string' || v.length < 25 || v.charCodeAt(10) !== 84) throw new TemporalFormatError(`${JSON.stringify(v)} is not a valid ${what}`);
    const o = v.length - 6;
    const sign = v.charCodeAt(o);
    if ((sign !== 43 && sign !== 45) || v.charCodeAt(o + 3) !== 58) throw new TemporalFormatError(`${JSON.stringify(v)} is not a valid ${what}`);
    parseDate(v, 0, what);
    parseTimeOfDay(v, 11, o, this.precision, what);
    const oh = (v.charCodeAt(o + 1) - 48) * 10 + (v.charCodeAt(o + 2) - 48);
    const om = (v.charCodeAt(o + 4) - 48) * 10 + (v.charCodeAt(o + 5) - 48);
    if (!(oh >= 0 && oh <= 14 && om >= 0 && om <= 59)) throw new TemporalFormatError(`${JSON.stringify(v)} has an invalid offset`);
    return v;
  }

  protected override _fromValue(v: string): string {
    return v;
  }

  _check(v: unknown): boolean {
    return typeof v === 'string';
  }

  protected override _resolve(writer: avro.Type): ((v: any) => string) | undefined {
    return writer instanceof DateTimeOffsetType || isType(writer, 'string') ? (v: string) => v : undefined;
  }

  protected override _export(schema: any): void {
    if (this.precision !== 9) schema[PRECISION_ATTR] = this.precision;
  }
}

/** uuid on string; canonical form is lower case, so upper-case input is folded (uuids ignore case). */
export class UuidType extends avro.types.LogicalType {
  protected override _toValue(v: unknown): string {
    if (typeof v !== 'string' || v.length !== 36) throw new TypeError(`${JSON.stringify(v)} is not a uuid`);
    let upper = false;
    for (let i = 0; i < 36; i++) {
      const c = v.charCodeAt(i);
      if (i === 8 || i === 13 || i === 18 || i === 23) {
        if (c !== 45) throw new TypeError(`${JSON.stringify(v)} is not a uuid`);
      } else if (c >= 65 && c <= 70) upper = true;
      else if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102))) throw new TypeError(`${JSON.stringify(v)} is not a uuid`);
    }
    return upper ? v.toLowerCase() : v;
  }

  protected override _fromValue(v: string): string {
    return v;
  }

  _check(v: unknown): boolean {
    return typeof v === 'string';
  }

  protected override _resolve(writer: avro.Type): ((v: any) => string) | undefined {
    return writer instanceof UuidType || isType(writer, 'string') ? (v: string) => v : undefined;
  }
}

type LogicalCtor = new (schema: any, opts?: any) => avro.types.LogicalType;
export const LOGICAL_TYPES: Record<string, LogicalCtor> = {
  decimal: DecimalType as LogicalCtor,
  date: DateType,
  uuid: UuidType,
  datetimeoffset: DateTimeOffsetType as LogicalCtor,
  ...Object.fromEntries(TEMPORAL_LOGICAL_TYPES.map((k) => [k, TemporalType as LogicalCtor])),
};

/** Every plain `long` (and longs with a logical type we do not know) becomes the bigint long. */
function typeHook(schema: unknown): avro.Type | undefined {
  if (schema === 'long') return BIG_LONG;
  if (typeof schema === 'object' && schema !== null && !Array.isArray(schema)) {
    const s = schema as AnySchema;
    if (s.type === 'long' && (s.logicalType === undefined || !(s.logicalType in LOGICAL_TYPES))) return BIG_LONG;
  }
  return undefined;
}

/** Builds an avsc Type with ctrelay's logical types and bigint longs. */
export function parseType(schema: unknown): avro.Type {
  return avro.Type.forSchema(schema as avro.Schema, {
    logicalTypes: LOGICAL_TYPES,
    typeHook: typeHook as any,
    wrapUnions: 'auto',
    // decoded records are plain data, like the canonical rows they came from
    omitRecordMethods: true,
  });
}
