// Helpers every standby dialect shares: the canonical temporal forms of src/core/model.ts, batch
// de-duplication by primary key, and how rows and keys are named in error messages.
import type { Row, TableMeta, Value } from '../core/model.ts';
import { qualifiedName } from '../core/model.ts';

/** What a dialect may log through; pino's logger fits. */
export interface DialectLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export const silentLogger: DialectLogger = { info() {}, warn() {} };

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

/** A string identifying a key's value exactly (type-aware, so 1n and "1" differ). */
export function keyString(table: TableMeta, row: Row): string {
  let s = '';
  for (const k of table.key) s += valueString(row[k]) + '\u0001';
  return s;
}

function valueString(v: Value | undefined): string {
  if (v === null || v === undefined) return 'n';
  if (Buffer.isBuffer(v)) return 'x' + v.toString('hex');
  return typeof v === 'string' ? 's' + v : typeof v + ':' + String(v);
}

/**
 * Keeps the LAST row for each key, in first-seen order. A set-based upsert cannot touch one row
 * twice (PostgreSQL refuses; MariaDB would apply both), and the last image is the net change.
 */
export function dedupeLastByKey(table: TableMeta, rows: Row[]): Row[] {
  if (rows.length < 2) return rows;
  // One key column: its primitive value is the Map key (Map compares bigints and strings by value),
  // which saves building a string per row on the hot path.
  const single = table.key.length === 1 ? table.key[0] : null;
  const byKey = new Map<unknown, number>();
  const out: Row[] = [];
  for (const row of rows) {
    const v = single === null ? undefined : row[single];
    const k = single === null || Buffer.isBuffer(v) ? keyString(table, row) : v;
    const at = byKey.get(k);
    if (at === undefined) {
      byKey.set(k, out.length);
      out.push(row);
    } else {
      out[at] = row;
    }
  }
  return out;
}

/** `id=42, region='eu'` for error messages; long values are shortened, binary shown as hex. */
export function describeKey(table: TableMeta, row: Row): string {
  return table.key.map((k) => `${k}=${describeValue(row[k])}`).join(', ');
}

function describeValue(v: Value | undefined): string {
  if (v === null || v === undefined) return 'NULL';
  if (Buffer.isBuffer(v)) return `0x${shorten(v.toString('hex'))}`;
  if (typeof v === 'string') return `'${shorten(v)}'`;
  return String(v);
}

function shorten(s: string): string {
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

export function tableName(table: { schema: string; table: string }): string {
  return qualifiedName(table);
}

/** The driver's message plus its code, for wrapping into a StandbyError. */
export function driverMessage(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const e = err as Error & { code?: unknown; detail?: unknown };
  const code = typeof e.code === 'string' && e.code !== '' ? ` [${e.code}]` : '';
  const detail = typeof e.detail === 'string' && e.detail !== '' ? ` (${e.detail})` : '';
  return `${e.message}${detail}${code}`;
}
