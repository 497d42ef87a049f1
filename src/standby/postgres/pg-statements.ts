// The SQL text and parameters of the set-based statements. Every row set is passed as one array
// literal per column and expanded by unnest(), so a statement has one parameter per column
// whatever the row count.
import type { Row, TableMeta, TableRef } from '../../core/model.ts';
import { columnOf, keyColumns, qualifiedWith } from '../table-shape.ts';
import { quoteIdent } from '../../drivers/postgres/quote.ts';
import { columnLiteral, elementType } from './pg-types.ts';

export function qualified(t: TableRef): string {
  return qualifiedWith(quoteIdent, t);
}

/** `target` defaults to the table itself; the bad-row probe points it at a temporary copy. */
export function upsertStatement(table: TableMeta, target = qualified(table)): string {
  const cols = table.columns;
  const nonKey = cols.filter((c) => !table.key.includes(c.name));
  const onConflict =
    nonKey.length === 0
      ? 'DO NOTHING'
      : `DO UPDATE SET ${nonKey.map((c) => `${quoteIdent(c.name)} = EXCLUDED.${quoteIdent(c.name)}`).join(', ')}`;
  return (
    `INSERT INTO ${target} (${cols.map((c) => quoteIdent(c.name)).join(', ')})` +
    ` SELECT * FROM unnest(${cols.map((c, i) => `$${i + 1}::${elementType(c.type)}[]`).join(', ')})` +
    ` ON CONFLICT (${table.key.map(quoteIdent).join(', ')}) ${onConflict}`
  );
}

export function deleteStatement(table: TableMeta): string {
  const keyCols = keyColumns(table);
  return (
    `DELETE FROM ${qualified(table)} AS t USING unnest(${keyCols.map((c, i) => `$${i + 1}::${elementType(c.type)}[]`).join(', ')})` +
    ` AS k(${keyCols.map((_, i) => `k${i}`).join(', ')})` +
    ` WHERE ${keyCols.map((c, i) => `t.${quoteIdent(c.name)} = k.k${i}`).join(' AND ')}`
  );
}

/** Keyset page in key order; parameters: the key values (when `after`), then the limit. */
export function scanStatement(table: TableMeta, after: boolean): string {
  const keyCols = keyColumns(table);
  const keyList = keyCols.map((k) => quoteIdent(k.name)).join(', ');
  const where = after
    ? ` WHERE (${keyList}) > (${keyCols.map((col, i) => `$${i + 1}::${elementType(col.type)}`).join(', ')})`
    : '';
  return (
    `SELECT ${table.columns.map((col) => quoteIdent(col.name)).join(', ')} FROM ${qualified(table)}${where}` +
    ` ORDER BY ${keyList} LIMIT $${after ? keyCols.length + 1 : 1}::bigint`
  );
}

/** One array literal per named column, holding that column's value of every row. */
export function columnArrays(table: TableMeta, names: string[], rows: Row[]): string[] {
  return names.map((name) => columnLiteral(columnOf(table, name), rows));
}
