// PostgreSQL catalog types -> ColumnType, and PostgreSQL text output -> canonical values.
// The source reads every column as ::text (with DateStyle ISO, TimeZone UTC, bytea_output hex,
// extra_float_digits 3 on the session), so one exact textual form per type reaches us and no
// driver-side parsing can lose precision.
import type { ColumnType, Value } from '../../core/model.ts';

/** pg_type.typname + atttypmod -> ColumnType, or null when unsupported. */
export function pgColumnType(typname: string, typmod: number): ColumnType | null {
  const frac = (def: number) => (typmod >= 0 ? typmod : def);
  switch (typname) {
    case 'bool':
      return { kind: 'boolean' };
    case 'int2':
      return { kind: 'int16' };
    case 'int4':
      return { kind: 'int32' };
    case 'int8':
      return { kind: 'int64' };
    case 'float4':
      return { kind: 'float32' };
    case 'float8':
      return { kind: 'float64' };
    case 'numeric': {
      // unconstrained numeric has no precision an Avro decimal could carry: refuse rather than guess
      if (typmod < 4) return null;
      const precision = ((typmod - 4) >> 16) & 0xffff;
      const scale = (typmod - 4) & 0xffff;
      return { kind: 'decimal', precision, scale };
    }
    case 'text':
    case 'citext':
      return { kind: 'string' };
    case 'varchar':
      return typmod > 4 ? { kind: 'string', maxLength: typmod - 4 } : { kind: 'string' };
    case 'bpchar':
      return { kind: 'string', maxLength: typmod > 4 ? typmod - 4 : 1, fixedLength: true };
    case 'bytea':
      return { kind: 'bytes' };
    case 'uuid':
      return { kind: 'uuid' };
    case 'json':
    case 'jsonb':
      return { kind: 'json' };
    case 'xml':
      return { kind: 'xml' };
    case 'date':
      return { kind: 'date' };
    case 'time':
      // PostgreSQL's time admits 24:00:00 (the end of the day): its own wire form (see src/avro/type-mapping.ts)
      return { kind: 'time', precision: frac(6), endOfDay: true };
    case 'timestamp':
      return { kind: 'timestamp', precision: frac(6) };
    case 'timestamptz':
      return { kind: 'timestamptz', precision: frac(6) };
    default:
      return null;
  }
}

export type TextConverter = (text: string) => Value;

function padFraction(frac: string, precision: number): string {
  if (precision === 0) return '';
  return '.' + (frac.length >= precision ? frac.slice(0, precision) : frac + '0'.repeat(precision - frac.length));
}

/** splits "HH:MM:SS[.ffffff]" into whole seconds part and fraction digits */
function splitFraction(s: string): [string, string] {
  const dot = s.indexOf('.');
  return dot < 0 ? [s, ''] : [s.slice(0, dot), s.slice(dot + 1)];
}

/** A converter per column type, built once per table so the hot loop does no type dispatch. */
export function textConverter(t: ColumnType): TextConverter {
  switch (t.kind) {
    case 'boolean':
      return (s) => s === 't' || s === 'true';
    case 'int16':
    case 'int32':
      return (s) => Number(s);
    case 'int64':
      return (s) => BigInt(s);
    case 'float32':
      // PostgreSQL prints the shortest text that reads back as the same float4 ("0.1"); the
      // canonical value is that float4 itself, as every consumer decodes it from Avro `float`
      return (s) => Math.fround(s === 'NaN' ? NaN : s === 'Infinity' ? Infinity : s === '-Infinity' ? -Infinity : Number(s));
    case 'float64':
      return (s) => (s === 'NaN' ? NaN : s === 'Infinity' ? Infinity : s === '-Infinity' ? -Infinity : Number(s));
    case 'decimal':
      return (s) => s;
    case 'bytes':
      return (s) => Buffer.from(s.slice(2), 'hex');
    case 'uuid':
    case 'string':
    case 'json':
    case 'xml':
      return (s) => s;
    case 'date':
      return (s) => s;
    case 'time': {
      const p = t.precision;
      return (s) => {
        const [whole, frac] = splitFraction(s);
        return whole + padFraction(frac, p);
      };
    }
    case 'timestamp': {
      const p = t.precision;
      return (s) => {
        const [whole, frac] = splitFraction(s);
        return whole.replace(' ', 'T') + padFraction(frac, p);
      };
    }
    case 'timestamptz': {
      const p = t.precision;
      // TimeZone is UTC on our sessions, so the text ends in "+00"
      return (s) => {
        const [whole, frac] = splitFraction(s.slice(0, s.lastIndexOf('+')));
        return whole.replace(' ', 'T') + padFraction(frac, p) + 'Z';
      };
    }
    case 'datetimeoffset':
      throw new Error('PostgreSQL has no datetimeoffset type');
  }
}

/** Canonical value -> text a PostgreSQL cast accepts (for key parameters). */
export function toPgText(t: ColumnType, v: Value): string | null {
  if (v === null) return null;
  if (Buffer.isBuffer(v)) return '\\x' + v.toString('hex');
  if (t.kind === 'timestamptz' && typeof v === 'string') return v.replace(/Z$/, '+00');
  return String(v);
}
