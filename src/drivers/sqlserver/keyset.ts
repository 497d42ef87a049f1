// Keyset paging in key order on SQL Server: the strictly-after predicate over a composite key (SQL
// Server has no row-value comparison) and the page statement the source's snapshots and the
// standby's scans both read with.
import type { ColumnMeta, Row, TableMeta } from '../../core/model.ts';
import type { Statement } from './params.ts';
import { objectName, quoteIdent } from './quote.ts';
import { castTypeOf, readExpression } from './reads.ts';
import { toParam, type ParamValue } from './values.ts';

/**
 * Strictly-after predicate over a lexicographic tuple: (a, b, c) > (pa, pb, pc) expanded into the
 * OR/AND chain, which SQL Server (no row-value comparison) needs and which still allows a seek.
 */
export function afterPredicate(exprs: string[], params: string[]): string {
  if (exprs.length === 0 || exprs.length !== params.length) throw new Error('afterPredicate needs one parameter per expression');
  // every level is parenthesised: AND binds tighter than OR, so `a = p AND b > q OR (...)` would be wrong
  const chain = (i: number): string =>
    i === exprs.length - 1 ? `${exprs[i]} > ${params[i]}` : `(${exprs[i]} > ${params[i]} OR (${exprs[i]} = ${params[i]} AND ${chain(i + 1)}))`;
  return exprs.length === 1 ? `(${chain(0)})` : chain(0);
}

function columnsByName(table: TableMeta): Map<string, ColumnMeta> {
  return new Map(table.columns.map((c) => [c.name, c]));
}

export function keyColumns(table: TableMeta): ColumnMeta[] {
  const byName = columnsByName(table);
  return table.key.map((k) => {
    const c = byName.get(k);
    if (!c) throw new Error(`key column ${k} of ${table.schema}.${table.table} is not among its columns`);
    return c;
  });
}

/** `CAST(@after_k0 AS int)` etc. and the parameter values, for a key position. */
export function keyParams(table: TableMeta, key: Row): { exprs: string[]; params: Record<string, ParamValue> } {
  const exprs: string[] = [];
  const params: Record<string, ParamValue> = {};
  keyColumns(table).forEach((c, i) => {
    if (!(c.name in key)) throw new Error(`key position lacks column ${c.name}`);
    params[`after_k${i}`] = toParam(c.type, key[c.name]);
    exprs.push(`CAST(@after_k${i} AS ${castTypeOf(c)})`);
  });
  return { exprs, params };
}

/** Up to `limit` rows in key order, keys strictly after `afterKey`; columns aliased [c0], [c1], ... */
export function keysetPageStatement(table: TableMeta, afterKey: Row | null, limit: number): Statement {
  const keys = keyColumns(table);
  const params: Record<string, ParamValue> = { limit: { sqlType: 'int', value: limit } };
  let where = '';
  if (afterKey) {
    const kp = keyParams(table, afterKey);
    Object.assign(params, kp.params);
    where = `\nWHERE ${afterPredicate(keys.map((c) => `t.${quoteIdent(c.name)}`), kp.exprs)}`;
  }
  const select = table.columns.map((c, i) => `${readExpression(`t.${quoteIdent(c.name)}`, c)} AS [c${i}]`);
  const sql = `SELECT TOP (@limit) ${select.join(',\n  ')}
FROM ${objectName(table)} AS t${where}
ORDER BY ${keys.map((c) => `t.${quoteIdent(c.name)}`).join(', ')};`;
  return { sql, params };
}
