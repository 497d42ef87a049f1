// Rows compared by primary key: the exact identity of a key's value, and the de-duplication a
// set-based statement needs (it cannot touch one row twice).
import type { Row, TableMeta, Value } from '../core/model.ts';

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
