// Shared table fixtures for the SQL Server unit tests.
import type { TableMeta } from '../../core/model.ts';
import { castTypeOf } from '../../drivers/sqlserver/reads.ts';

export const orders: TableMeta = {
  schema: 'dbo',
  table: 'orders',
  key: ['id'],
  columns: [
    { name: 'id', type: { kind: 'int32' }, nullable: false, sourceType: 'int' },
    { name: 'amount', type: { kind: 'decimal', precision: 10, scale: 2 }, nullable: true, sourceType: 'decimal(10,2)' },
    { name: 'note', type: { kind: 'string', maxLength: 100 }, nullable: true, sourceType: 'nvarchar(100)' },
  ],
};

/** composite key (tenant, day, line) in key order different from column order, hostile names */
export const lines: TableMeta = {
  schema: 'sales data',
  table: 'order]lines',
  key: ['tenant', 'day', 'line no'],
  columns: [
    { name: 'line no', type: { kind: 'int16' }, nullable: false, sourceType: 'smallint' },
    { name: 'tenant', type: { kind: 'uuid' }, nullable: false, sourceType: 'uniqueidentifier' },
    { name: 'day', type: { kind: 'date' }, nullable: false, sourceType: 'date' },
    { name: 'at', type: { kind: 'datetimeoffset', precision: 7 }, nullable: true, sourceType: 'datetimeoffset(7)' },
    { name: 'price', type: { kind: 'decimal', precision: 19, scale: 4 }, nullable: true, sourceType: 'money' },
  ],
};

/** A key of `lines` in canonical values, as a paging position. */
export const linesKey = { tenant: '0b9e1b4c-5a53-4d9e-9a4e-2f3c4d5e6f70', day: '2024-02-29', 'line no': 7 };

/** `CAST(@after_k<i> AS <column type>)` for each key column, in key order. */
export function keyCasts(table: TableMeta): string[] {
  return table.key.map((k, i) => `CAST(@after_k${i} AS ${castTypeOf(table.columns.find((c) => c.name === k)!)})`);
}

/**
 * A sys.columns record as COLUMNS_SQL returns it (defaults: a nullable, non-key int column);
 * catalog.test.ts checks that its fields are exactly the columns COLUMNS_SQL selects.
 */
export function catalogRecord(column_id: number, name: string, type_name: string, over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    column_id, name, type_name, base_type_name: type_name, is_user_defined: false, is_assembly_type: false,
    max_length: 4, precision: 10, scale: 0, is_nullable: true, is_computed: false, is_identity: false, collation_name: null, has_default: false, key_ordinal: null,
    ...over,
  };
}

/**
 * The result column names of a statement's first SELECT: each item's alias (`AS x` / `AS [x]`),
 * else its last name part. Splits at top-level commas only, skipping parentheses, [identifiers]
 * (with `]]` inside) and 'literals'.
 */
export function selectedNames(statement: string): string[] {
  const start = /\bSELECT\s+(TOP\s*\([^)]*\)\s*)?/i.exec(statement);
  if (!start) throw new Error('no SELECT');
  const items: string[] = [];
  let depth = 0;
  let item = '';
  for (let i = start.index + start[0].length; i < statement.length; i++) {
    const ch = statement[i];
    if (ch === '[' || ch === "'") {
      const close = ch === '[' ? ']' : "'";
      let j = i + 1;
      while (j < statement.length && !(statement[j] === close && statement[j + 1] !== close)) j += statement[j] === close ? 2 : 1;
      item += statement.slice(i, j + 1);
      i = j;
      continue;
    }
    if (depth === 0 && /\s/.test(ch) && /^FROM\b/i.test(statement.slice(i + 1))) break;
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      items.push(item);
      item = '';
    } else item += ch;
  }
  items.push(item);
  return items.map((x) => {
    const t = x.trim();
    const name = /\bAS\s+(\[(?:[^\]]|\]\])*\]|\w+)$/i.exec(t)?.[1] ?? t.split('.').pop()!;
    return name.startsWith('[') ? name.slice(1, -1).replaceAll(']]', ']') : name;
  });
}
