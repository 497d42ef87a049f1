// What every SQL dialect needs to know about a TableMeta before it writes SQL: its key columns, and
// its qualified name in the dialect's quoting. Problems are StandbyErrors naming the table.
import { StandbyError } from '../core/errors.ts';
import type { ColumnMeta, ColumnType, Row, TableMeta, TableRef, Value } from '../core/model.ts';
import { tableName } from './messages.ts';

export function columnOf(table: TableMeta, name: string): ColumnMeta {
  const col = table.columns.find((c) => c.name === name);
  if (!col) throw new StandbyError(`table ${tableName(table)}: key column ${name} is not among its columns`);
  return col;
}

/** The key columns in key order; throws when the table has no primary key or names a missing column. */
export function keyColumns(table: TableMeta): ColumnMeta[] {
  if (table.key.length === 0) throw new StandbyError(`table ${tableName(table)} has no primary key; ctrelay needs one`);
  return table.key.map((k) => columnOf(table, k));
}

/** `schema.table`, each part through the dialect's identifier quoting. */
export function qualifiedWith(quoteIdent: (name: string) => string, t: TableRef): string {
  return `${quoteIdent(t.schema)}.${quoteIdent(t.table)}`;
}

/** The row of `table` whose column values, in column order, are `values`, each read back by `read`. */
export function rowFrom(table: TableMeta, values: readonly unknown[], read: (type: ColumnType, value: unknown) => Value): Row {
  const row: Row = {};
  table.columns.forEach((col, i) => {
    row[col.name] = read(col.type, values[i]);
  });
  return row;
}
