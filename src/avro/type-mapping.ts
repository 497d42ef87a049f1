// ColumnType -> Avro schema, lossless, with the standard logical types where Avro has them.
import type { ColumnType } from '../core/model.ts';
import { fixedSizeFor } from './decimal.ts';
import { PRECISION_ATTR } from './logical-types.ts';

export type AvroSchema = string | Record<string, unknown> | AvroSchema[];

/** Namespace of ctrelay's shared named types (decimal fixeds). */
export const DECIMAL_NAMESPACE = 'ctrelay.decimal';

/**
 * Named types may be defined once per schema; later uses must be a reference by full name.
 * One instance per schema being generated (the envelope's key and row share it).
 */
export class NamedTypes {
  private readonly defined = new Set<string>();

  /** the definition the first time, the full name after that */
  use(fullName: string, definition: () => Record<string, unknown>): AvroSchema {
    if (this.defined.has(fullName)) return fullName;
    this.defined.add(fullName);
    return definition();
  }
}

/** Thrown for a ColumnType this mapping cannot represent losslessly; the caller names the column. */
export class UnsupportedTypeError extends Error {}

function checkPrecision(t: { kind: string; precision: number }, max: number): number {
  const p = t.precision;
  if (!Number.isInteger(p) || p < 0 || p > max) throw new UnsupportedTypeError(`${t.kind} precision ${p} (0..${max} supported)`);
  return p;
}

function temporal(type: 'int' | 'long', logicalType: string, precision: number): Record<string, unknown> {
  return { type, logicalType, [PRECISION_ATTR]: precision };
}

/**
 * The Avro schema of a (non-null) column value. Canonical values (see src/core/model.ts) map as:
 * - decimal(p,s): logicalType decimal on a `fixed` named `ctrelay.decimal.p<p>s<s>`, NOT on bytes.
 *   The single-object fingerprint hashes the Parsing Canonical Form, which drops logicalType,
 *   precision and scale; on `bytes`, two schemas differing only in a column's scale would share a
 *   fingerprint and old events would be decoded with the new scale (wrong values, silently). A
 *   fixed's name and size are part of the canonical form, so the scale is in the fingerprint.
 * - date: the standard `date` (int, days since 1970-01-01).
 * - time(p): p<=3 time-millis (int), p<=6 time-micros (long), p>6 time-nanos (long; not in the Avro
 *   spec, readers without it still get the exact long count). These never carry 24:00:00: Avro's
 *   time-* end at 23:59:59.999..., and Apache Avro Java's conversions refuse anything later.
 * - time(p) of a source that admits 24:00:00 (`endOfDay`, PostgreSQL's time): "time24-micros"
 *   (p<=6) / "time24-nanos" (p>6), ctrelay's own logical types on long: a count of microseconds
 *   (nanoseconds) since midnight from 0 to 86,400,000,000 INCLUSIVE, 86400000000 being 24:00:00.
 *   Readers that do not know them (Avro Java, Python, ...) ignore an unknown logicalType and read
 *   the plain long, which is exact; a standard time-micros would make Avro Java's
 *   TimeMicrosConversion refuse the whole event at 24:00:00.
 * - timestamp(p) / timestamptz(p): local-timestamp-* / timestamp-* by precision: p<=3 millis,
 *   p<=6 micros, p=7 (datetime2(7), the SQL Server default) "ticks": a long count of 100 ns ticks
 *   since 1970-01-01T00:00:00 (not in the Avro spec; readers without it get the plain long). Ticks
 *   span +-29,000 years, so 0001-01-01 and 9999-12-31T23:59:59.9999999 fit; nanoseconds would
 *   span 1677-09-21..2262-04-11 only. p 8..9 (no supported source has them) use -nanos, whose
 *   out-of-range values are rejected at encode time, never clamped.
 * - datetimeoffset: string, logicalType "datetimeoffset", ISO-8601 keeping its offset: Avro has no
 *   type with an offset (Debezium makes the same choice).
 * Temporal types carry `ctrelay.precision` so the decoded string has the column's exact digits.
 *
 * The fingerprint and column types: the Parsing Canonical Form keeps neither logicalType,
 * ctrelay.precision nor ctrelay.type, and many column types share an Avro type (int16 and int32
 * are `int`; a varchar(20), a varchar(200), a char(5), json, xml and uuid are `string`; millis,
 * micros, ticks and nanos are all `long`). So timestamp(3) -> timestamp(6) or smallint -> integer
 * alone would not change the fingerprint, the compacted schemas topic would keep one of the two
 * JSONs, and old events would be decoded with the new type (off by 1000x, or with a length the
 * standby was never widened to). Named types are the only part of a schema the canonical form
 * keeps by name, so the row and key records are placed in a namespace that names the types of
 * such columns: `<table namespace>.enc_<16 hex>` (see encodingNamespace in row-schema.ts). Any
 * change of a column's type, length, precision or unit changes the record's full name and so the
 * fingerprint; the values stay plain Avro under the standard logical types. Schema resolution
 * matches records by unqualified name (Row, Key), so readers of another version still resolve.
 */
export function avroTypeFor(t: ColumnType, named: NamedTypes): AvroSchema {
  switch (t.kind) {
    case 'boolean':
      return 'boolean';
    case 'int16':
    case 'int32':
      return 'int';
    case 'int64':
      return 'long';
    case 'float32':
      return 'float';
    case 'float64':
      return 'double';
    case 'decimal': {
      const { precision: p, scale: s } = t;
      if (!Number.isInteger(p) || p < 1 || p > 1000 || !Number.isInteger(s) || s < 0 || s > p) {
        throw new UnsupportedTypeError(`decimal(${p},${s}) (need 1 <= precision <= 1000, 0 <= scale <= precision)`);
      }
      const name = `${DECIMAL_NAMESPACE}.p${p}s${s}`;
      return named.use(name, () => ({ type: 'fixed', name, size: fixedSizeFor(p), logicalType: 'decimal', precision: p, scale: s }));
    }
    case 'string':
    case 'json':
    case 'xml':
      return 'string';
    case 'bytes':
      return 'bytes';
    case 'uuid':
      return { type: 'string', logicalType: 'uuid' };
    case 'date':
      return { type: 'int', logicalType: 'date' };
    case 'time': {
      const p = checkPrecision(t, 9);
      if (t.endOfDay) {
        const unit = p <= 6 ? 'micros' : 'nanos';
        return {
          ...temporal('long', `time24-${unit}`, p),
          doc: `long count of ${unit === 'micros' ? 'microseconds' : 'nanoseconds'} since midnight, 0..${unit === 'micros' ? '86400000000' : '86400000000000'} inclusive (the maximum is 24:00:00)`,
        };
      }
      if (p <= 3) return temporal('int', 'time-millis', p);
      return temporal('long', p <= 6 ? 'time-micros' : 'time-nanos', p);
    }
    case 'timestamp':
    case 'timestamptz': {
      const p = checkPrecision(t, 9);
      const unit = p <= 3 ? 'millis' : p <= 6 ? 'micros' : p === 7 ? 'ticks' : 'nanos';
      const schema = temporal('long', `${t.kind === 'timestamp' ? 'local-timestamp' : 'timestamp'}-${unit}`, p);
      if (p === 7) {
        // the unit is not standard Avro: say it where a reader of the schema will look
        schema.doc = `long count of 100-nanosecond ticks since 1970-01-01T00:00:00${t.kind === 'timestamp' ? ' (wall clock, no time zone)' : ' UTC'}`;
      }
      return schema;
    }
    case 'datetimeoffset': {
      const p = checkPrecision(t, 9);
      return { type: 'string', logicalType: 'datetimeoffset', [PRECISION_ATTR]: p };
    }
    default: {
      const never: never = t;
      throw new UnsupportedTypeError(`column type ${JSON.stringify(never)}`);
    }
  }
}
