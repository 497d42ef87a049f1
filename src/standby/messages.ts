// How the standby dialects name things in error messages: tables, the key of a refused row, and
// the driver's own error. Messages name the table and key an operator must look at; secrets are
// removed where the text leaves the dialect (driver-errors.ts).
import type { Row, TableMeta, Value } from '../core/model.ts';
import { qualifiedName } from '../core/model.ts';

/** `id=42, region='eu'` for error messages; long values are shortened, binary shown as hex. */
export function describeKey(table: TableMeta, row: Row): string {
  return table.key.map((k) => `${k}=${describeValue(row[k])}`).join(', ');
}

/** A value for error messages: strings quoted and shortened, binary as hex, NULL as NULL. */
export function describeValue(v: Value | undefined): string {
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
