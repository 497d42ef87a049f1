// The SQL text and parameters of the set-based statements. Every row set is passed as one array
// literal per column and expanded by unnest(), so a statement has one parameter per column
// whatever the row count.
import type { Row, TableMeta, TableRef } from '../../core/model.ts';
import { columnOf, keyColumns, qualifiedWith } from '../table-shape.ts';
import { quoteIdent } from '../../drivers/postgres/quote.ts';
import { columnLiteral, elementType } from './pg-types.ts';
import type { WriteShape } from '../write-shape.ts';

export function qualified(t: TableRef): string {
  return qualifiedWith(quoteIdent, t);
}

/**
 * The upsert of `shape`'s written columns by name (the standby's column order and its standby-only
 * columns do not matter); `OVERRIDING SYSTEM VALUE` when one of them is a GENERATED ALWAYS identity,
 * so the standby takes the source's values. `target` defaults to the table itself; the bad-row probe
 * points it at a temporary copy (whose columns are plain: OVERRIDING is then a no-op).
 */
export function upsertStatement(table: TableMeta, shape: WriteShape, target = qualified(table)): string {
  const cols = shape.written;
  const onConflict =
    shape.updated.length === 0
      ? 'DO NOTHING'
      : `DO UPDATE SET ${shape.updated.map((c) => `${quoteIdent(c.name)} = EXCLUDED.${quoteIdent(c.name)}`).join(', ')}`;
  return (
    `INSERT INTO ${target} (${cols.map((c) => quoteIdent(c.name)).join(', ')})` +
    (shape.overridden.length > 0 ? ' OVERRIDING SYSTEM VALUE' : '') +
    ` SELECT * FROM unnest(${cols.map((c, i) => `$${i + 1}::${elementType(c.type)}[]`).join(', ')})` +
    ` ON CONFLICT (${table.key.map(quoteIdent).join(', ')}) ${onConflict}`
  );
}

/**
 * Reads back the key and the checked columns (write-shape.ts) of the rows whose keys are the
 * parameters (one array per key column, as deleteStatement), in the same transaction as the upsert.
 */
export function readBackStatement(table: TableMeta, shape: WriteShape): string {
  const keyCols = keyColumns(table);
  const select = [...keyCols, ...shape.checked.map((c) => c.column)].map((c) => `t.${quoteIdent(c.name)}`);
  return (
    `SELECT ${select.join(', ')} FROM ${qualified(table)} AS t JOIN unnest(${keyCols.map((c, i) => `$${i + 1}::${elementType(c.type)}[]`).join(', ')})` +
    ` AS k(${keyCols.map((_, i) => `k${i}`).join(', ')})` +
    ` ON ${keyCols.map((c, i) => `t.${quoteIdent(c.name)} = k.k${i}`).join(' AND ')}`
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
