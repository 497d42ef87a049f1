// SQL text for the set-based statements. Values are inlined as escaped literals rather than `?`
// placeholders: one text-protocol round trip per chunk, no 65535-placeholder limit, and mysql2
// never has to guess a type (bigint, decimal and binary go exactly as written).
import type { ColumnMeta, Row, TableMeta, TableRef } from '../../core/model.ts';
import { StandbyError } from '../../core/errors.ts';
import { describeKey, tableName } from '../messages.ts';
import { columnOf, keyColumns, qualifiedWith } from '../table-shape.ts';
import { quoteIdent, toLiteral, UnstorableFloatError } from './mariadb-types.ts';
import type { WriteShape } from '../write-shape.ts';

export function qualified(t: TableRef): string {
  return qualifiedWith(quoteIdent, t);
}

function literal(table: TableMeta, col: ColumnMeta, row: Row): string {
  try {
    return toLiteral(col, row[col.name]);
  } catch (err) {
    const way =
      err instanceof UnstorableFloatError
        ? `. Give this standby a standby.tables entry for the table with the column under textColumns (it then holds the exact value as text: NaN, Infinity, -Infinity, -0) or under excludeColumns (this standby then leaves the column out)`
        : '';
    throw new StandbyError(
      `MariaDB standby: cannot write column ${col.name} (${col.sourceType || col.type.kind}) of table ${tableName(table)} at key (${describeKey(table, row)}): ${(err as Error).message}${way}`,
    );
  }
}

export function rowTuple(table: TableMeta, cols: ColumnMeta[], row: Row): string {
  let s = '(';
  for (let i = 0; i < cols.length; i++) s += (i ? ',' : '') + literal(table, cols[i], row);
  return s + ')';
}

/**
 * Statement head and tail of the upsert of `shape`'s written columns by name (the standby's column
 * order, its standby-only and generated columns do not matter); the caller puts comma-separated row
 * tuples (rowTuple of shape.written) between them.
 */
export function upsertParts(table: TableMeta, shape: WriteShape): { head: string; tail: string } {
  // With only key columns there is nothing to update; assigning a key to itself keeps the
  // statement an upsert without INSERT IGNORE, which would also swallow real errors.
  const updates = (shape.updated.length > 0 ? shape.updated : [columnOf(table, table.key[0])])
    .map((c) => `${quoteIdent(c.name)} = VALUES(${quoteIdent(c.name)})`)
    .join(', ');
  return {
    head: `INSERT INTO ${qualified(table)} (${shape.written.map((c) => quoteIdent(c.name)).join(', ')}) VALUES `,
    tail: ` ON DUPLICATE KEY UPDATE ${updates}`,
  };
}

/** `WHERE`-condition matching the rows of `keys` by primary key. */
function keyCondition(table: TableMeta, keys: Row[]): string {
  const keyCols = keyColumns(table);
  if (keyCols.length === 1) {
    const c = keyCols[0];
    return `${quoteIdent(c.name)} IN (${keys.map((k) => literal(table, c, k)).join(',')})`;
  }
  return `(${keyCols.map((c) => quoteIdent(c.name)).join(', ')}) IN (${keys.map((k) => rowTuple(table, keyCols, k)).join(',')})`;
}

export function deleteStatement(table: TableMeta, keys: Row[]): string {
  return `DELETE FROM ${qualified(table)} WHERE ${keyCondition(table, keys)}`;
}

/**
 * A column as reads select it: a FLOAT prints with 6 significant digits, as a DOUBLE its exact value.
 * A DOUBLE is read as its text: mysql2 parses a DOUBLE of up to 17 characters digit by digit, which
 * can be off in the last place (90.66666666666667 came back as 90.66666666666669); fromMaria's
 * Number() of the text is exact.
 */
function readExpression(c: ColumnMeta): string {
  if (c.type.kind === 'float32') return `CAST(${quoteIdent(c.name)} AS DOUBLE)`;
  return c.type.kind === 'float64' ? `CAST(${quoteIdent(c.name)} AS CHAR)` : quoteIdent(c.name);
}

/** The key and the checked columns (write-shape.ts) of the rows of `keys`, in that column order. */
export function readBackStatement(table: TableMeta, shape: WriteShape, keys: Row[]): string {
  const cols = [...keyColumns(table), ...shape.checked.map((c) => c.column)];
  return `SELECT ${cols.map(readExpression).join(', ')} FROM ${qualified(table)} WHERE ${keyCondition(table, keys)}`;
}

export function scanStatement(table: TableMeta, afterKey: Row | null, limit: number): string {
  const keyCols = keyColumns(table);
  const keyList = keyCols.map((k) => quoteIdent(k.name)).join(', ');
  let where = '';
  if (afterKey) {
    // Spelled out as k1 > a OR (k1 = a AND k2 > b) ...: MariaDB turns that into primary-key
    // ranges, while a row-constructor comparison would scan.
    const lits = keyCols.map((c) => literal(table, c, afterKey));
    const terms = keyCols.map((_, i) =>
      keyCols
        .slice(0, i + 1)
        .map((c, j) => `${quoteIdent(c.name)} ${j === i ? '>' : '='} ${lits[j]}`)
        .join(' AND '),
    );
    where = ` WHERE ${terms.map((t) => `(${t})`).join(' OR ')}`;
  }
  const select = table.columns.map(readExpression);
  return (
    `SELECT ${select.join(', ')} FROM ${qualified(table)}${where}` +
    ` ORDER BY ${keyList} LIMIT ${Math.max(0, Math.floor(limit))}`
  );
}
