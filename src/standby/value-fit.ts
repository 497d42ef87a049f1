// Values a standby column would change without an error. The engines round or cut some values
// silently: PostgreSQL rounds a numeric to the column's scale and cuts trailing spaces beyond a
// varchar/char length, MariaDB does both with only a note, SQL Server's CAST rounds decimals and
// fractional seconds and cuts strings. ensureTable makes each standby column exactly the type of
// its ColumnType, so a value that conforms to its ColumnType fits; this checks that it conforms,
// before anything is sent, and names table, column and key when it does not.
import { StandbyError } from '../core/errors.ts';
import type { ColumnMeta, ColumnType, Row, TableMeta, Value } from '../core/model.ts';
import { describeKey, tableName } from './messages.ts';

type Check = (v: Value) => string | null;

/** Digits after the point of a canonical decimal string, and before it. */
function decimalDigits(s: string): { int: number; frac: number } {
  const dot = s.indexOf('.');
  const sign = s.startsWith('-') || s.startsWith('+') ? 1 : 0;
  const intPart = (dot < 0 ? s.slice(sign) : s.slice(sign, dot)).replace(/^0+/, '');
  return { int: intPart.length, frac: dot < 0 ? 0 : s.length - dot - 1 };
}

/** Fractional-second digits of a canonical temporal string (time, timestamp, ...Z, ...+hh:mm). */
function fractionDigits(s: string): number {
  const m = /\d\d:\d\d:\d\d\.(\d+)/.exec(s);
  return m ? m[1].length : 0;
}

/** Characters (code points) of `s`, counted only when its UTF-16 length could exceed `max`. */
function tooLong(s: string, max: number): number | null {
  if (s.length <= max) return null;
  let n = 0;
  for (const _ of s) n++;
  return n > max ? n : null;
}

/**
 * How an engine counts a string's length: in characters (code points: PostgreSQL, MariaDB), or in
 * UTF-16 code units (SQL Server's nvarchar(n) holds n of them: a character outside the BMP takes two).
 */
export type LengthUnit = 'characters' | 'utf16';

/** The check of one column type, or null when every value of its kind fits as it is. */
export function fitCheck(t: ColumnType, unit: LengthUnit = 'characters'): Check | null {
  switch (t.kind) {
    case 'decimal': {
      if (!(t.precision > 0)) return null; // unconstrained
      const intMax = t.precision - t.scale;
      return (v) => {
        if (typeof v !== 'string') return null;
        const d = decimalDigits(v);
        if (d.frac > t.scale) return `${v} has ${d.frac} digits after the point, the column's type decimal(${t.precision},${t.scale}) keeps ${t.scale}: the standby would round it`;
        if (d.int > intMax) return `${v} has ${d.int} digits before the point, decimal(${t.precision},${t.scale}) holds ${intMax}`;
        return null;
      };
    }
    case 'string': {
      const max = t.maxLength;
      if (!max || max <= 0) return null;
      return (v) => {
        if (typeof v !== 'string') return null;
        const n = unit === 'utf16' ? (v.length > max ? v.length : null) : tooLong(v, max);
        return n === null ? null : `a string of ${n} ${unit === 'utf16' ? 'UTF-16 code units' : 'characters'} does not fit the column's length ${max}: the standby would cut it or refuse it`;
      };
    }
    case 'bytes': {
      const max = t.maxLength;
      if (!max || max <= 0) return null;
      return (v) => (Buffer.isBuffer(v) && v.length > max ? `${v.length} bytes do not fit the column's length ${max}: the standby would cut them or refuse them` : null);
    }
    case 'float32':
      return (v) =>
        typeof v === 'number' && Number.isFinite(v) && Math.fround(v) !== v
          ? `${v} is not a float32 value: the standby's float32 column would round it`
          : null;
    case 'time':
    case 'timestamp':
    case 'timestamptz':
    case 'datetimeoffset': {
      const p = t.precision;
      return (v) => {
        if (typeof v !== 'string') return null;
        const n = fractionDigits(v);
        return n > p ? `${v} has ${n} fractional-second digits, the column keeps ${p}: the standby would round it` : null;
      };
    }
    default:
      return null;
  }
}

const checks: Record<LengthUnit, WeakMap<TableMeta, [ColumnMeta, Check][]>> = { characters: new WeakMap(), utf16: new WeakMap() };

function checksOf(table: TableMeta, unit: LengthUnit): [ColumnMeta, Check][] {
  let c = checks[unit].get(table);
  if (!c) {
    c = [];
    for (const col of table.columns) {
      const f = fitCheck(col.type, unit);
      if (f) c.push([col, f]);
    }
    checks[unit].set(table, c);
  }
  return c;
}

/**
 * Throws a StandbyError naming table, column, key and the reason for the first value of `rows`
 * its column's type cannot hold as it is (`engine` names the standby in the message).
 */
export function checkRowsFit(table: TableMeta, rows: readonly Row[], engine: string, unit: LengthUnit = 'characters'): void {
  const cs = checksOf(table, unit);
  if (cs.length === 0) return;
  for (const row of rows) {
    for (const [col, check] of cs) {
      const v = row[col.name];
      if (v === null || v === undefined) continue;
      const why = check(v);
      if (why !== null) {
        throw new StandbyError(
          `${engine} standby: cannot write column ${col.name} (${col.sourceType || col.type.kind}) of table ${tableName(table)} at key (${describeKey(table, row)}): ${why}`,
        );
      }
    }
  }
}
