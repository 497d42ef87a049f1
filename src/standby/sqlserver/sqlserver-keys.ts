// How the SQL Server standby keeps rows apart exactly as the source does.
//
// SQL Server compares strings under the column's collation, and `=` (so primary keys, joins, NOT
// EXISTS, GROUP BY) with PAD semantics: 'a' = 'a ' is true under EVERY collation, binary ones
// included (Microsoft: "How SQL Server compares strings with trailing spaces", after ANSI SQL-92
// 8.2; SQL Server has no NO PAD collation). varbinary compares with trailing 0x00 bytes ignored
// (0x61 = 0x6100). A source (PostgreSQL, MariaDB, a SQL Server column with a binary collation) may
// hold keys that differ only in case, accents or trailing spaces/zero bytes. Three rules:
// - string key columns ctrelay creates get a binary collation (KEY_COLLATION): case and accents
//   count. A pre-created table whose string key column compares otherwise is refused naming it, as
//   the MariaDB dialect refuses a key column that is not `_nopad_bin`.
// - every statement that finds standby rows by key matches EXACTLY (exactKeyMatch: `=` and the same
//   DATALENGTH), so a staged key never updates, deletes or reads back another key's row.
// - before an upsert, a staged key that SQL Server takes for another one (stored, or staged in the
//   same write) is refused naming table, columns and both keys (keyClashStatement): the standby
//   cannot hold both rows; its primary key would refuse the second one (error 2627) without saying why.
import { StandbyError } from '../../core/errors.ts';
import type { ColumnMeta, Row, TableMeta } from '../../core/model.ts';
import type { Statement } from '../../drivers/sqlserver/params.ts';
import { objectName, quoteIdent } from '../../drivers/sqlserver/quote.ts';
import { readExpression } from '../../drivers/sqlserver/reads.ts';
import { fromDriver } from '../../drivers/sqlserver/values.ts';
import { describeKey, tableName } from '../messages.ts';
import { keyColumns } from '../table-shape.ts';
import { sameValue } from '../write-shape.ts';
import { nativeTypeOf, standbyColumns } from './sqlserver-types.ts';

/** The collation of the string key columns ctrelay creates: binary, compares code points (case and accents count). */
export const KEY_COLLATION = 'Latin1_General_100_BIN2';

/** A binary collation (`…_BIN`, `…_BIN2`, `…_BIN2_UTF8`): equal only when the characters are (trailing spaces aside). */
export function isBinaryCollation(name: string): boolean {
  return /^[A-Za-z0-9_]+_BIN2?(?:_UTF8)?$/i.test(name);
}

/** Key columns SQL Server compares padded: strings (trailing spaces) and binary (trailing 0x00). */
export function paddedKeys(table: TableMeta): ColumnMeta[] {
  return keyColumns(table).filter((c) => c.type.kind === 'string' || c.type.kind === 'bytes');
}

/** `a.[k] = b.[k] AND …` over the key, plus equal DATALENGTH for padded columns: only the very same key matches. */
export function exactKeyMatch(table: TableMeta, a = 't', b = 's'): string {
  const eq = table.key.map((k) => `${a}.${quoteIdent(k)} = ${b}.${quoteIdent(k)}`);
  const len = paddedKeys(table).map((c) => `DATALENGTH(${a}.${quoteIdent(c.name)}) = DATALENGTH(${b}.${quoteIdent(c.name)})`);
  return [...eq, ...len].join(' AND ');
}

type CatalogRow = Record<string, unknown>;

/** The catalog rows (existingColumnsStatement) of `table`'s string key columns, by TableMeta name. */
function stringKeyRows(table: TableMeta, rows: readonly CatalogRow[]): Map<string, CatalogRow> {
  const byName = new Map(rows.map((r) => [String(r.name).toLowerCase(), r]));
  const out = new Map<string, CatalogRow>();
  for (const c of keyColumns(table)) {
    const r = byName.get(c.name.toLowerCase());
    if (c.type.kind === 'string' && r && typeof r.collation_name === 'string') out.set(c.name, r);
  }
  return out;
}

/**
 * A StandbyError naming the string key columns of a pre-created table whose collation is not
 * binary (case-, accent- or width-insensitive), and how to fix them; null when there are none.
 */
export function keyCollationError(where: string, table: TableMeta, rows: readonly CatalogRow[]): StandbyError | null {
  const bad = [...stringKeyRows(table, rows)].filter(([, r]) => !isBinaryCollation(String(r.collation_name)));
  if (bad.length === 0) return null;
  const fix = bad.map(([, r]) => `ALTER TABLE ${objectName(table)} ALTER COLUMN ${quoteIdent(String(r.name))} ${nativeTypeOf(r as Parameters<typeof nativeTypeOf>[0])} COLLATE ${KEY_COLLATION} NOT NULL`);
  return new StandbyError(
    `${where}: table ${tableName(table)}: key column(s) ${bad.map(([, r]) => `${String(r.name)} (collation ${String(r.collation_name)})`).join(', ')} ` +
      "compare case- or accent-insensitively, so keys the source keeps apart (say 'a' and 'A') would be one standby row. " +
      `Give them a binary collation (drop the primary key, ${fix.join('; ')}, re-create the primary key: SQL Server cannot alter a key column in place) ` +
      'or drop the table and let ctrelay create it, then restart the applier',
  );
}

/** The collation each string key column of the staging table needs to join the standby's (theirs, else KEY_COLLATION). */
export function stagingCollations(table: TableMeta, rows: readonly CatalogRow[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const [name, r] of stringKeyRows(table, rows)) {
    // only a checked name is ever written into a statement
    if (isBinaryCollation(String(r.collation_name))) out.set(name, String(r.collation_name));
  }
  return out;
}

/**
 * A staged row whose key SQL Server takes for another, different key: one the standby holds
 * (`clash` = 'stored') or one staged in the same write ('staged'). Staged key as [a0], [a1], …,
 * the other as [b0], [b1], … (read as scans read them); no rows: no clash. Null when the key has
 * no string or binary column (then `=` is exact). A batch: it reads the session's staging table.
 */
export function keyClashStatement(table: TableMeta, temp: string): Statement | null {
  const padded = paddedKeys(table);
  if (padded.length === 0) return null;
  const byName = new Map(standbyColumns(table).map((c) => [c.name, c]));
  const keys = table.key.map((k) => byName.get(k)!);
  const select = (clash: string) =>
    [`N'${clash}' AS [clash]`, ...keys.map((c, i) => `${readExpression(`s.${quoteIdent(c.name)}`, c)} AS [a${i}]`), ...keys.map((c, i) => `${readExpression(`t.${quoteIdent(c.name)}`, c)} AS [b${i}]`)].join(', ');
  const on = table.key.map((k) => `t.${quoteIdent(k)} = s.${quoteIdent(k)}`).join(' AND ');
  const differ = padded.map((c) => `DATALENGTH(t.${quoteIdent(c.name)}) <> DATALENGTH(s.${quoteIdent(c.name)})`).join(' OR ');
  return {
    sql: `SELECT TOP (1) * FROM (
  SELECT ${select('stored')} FROM ${temp} AS s INNER JOIN ${objectName(table)} AS t ON ${on} WHERE ${differ}
  UNION ALL
  SELECT ${select('staged')} FROM ${temp} AS s INNER JOIN ${temp} AS t ON ${on} WHERE ${differ}
) AS c;`,
    params: {},
  };
}

/** The StandbyError for a row of keyClashStatement, naming table, columns and both keys. */
export function keyClashError(where: string, table: TableMeta, rec: CatalogRow): StandbyError {
  const staged: Row = {};
  const other: Row = {};
  const byName = new Map(standbyColumns(table).map((c) => [c.name, c]));
  table.key.forEach((k, i) => {
    staged[k] = fromDriver(byName.get(k)!.type, rec[`a${i}`]);
    other[k] = fromDriver(byName.get(k)!.type, rec[`b${i}`]);
  });
  const columns = paddedKeys(table).filter((c) => !sameValue(staged[c.name], other[c.name])).map((c) => c.name);
  const holder = rec.clash === 'stored' ? 'the standby holds a row with key' : 'the same write also has a row with key';
  return new StandbyError(
    `${where}: table ${tableName(table)}: cannot write the row with key (${describeKey(table, staged)}): ${holder} (${describeKey(table, other)}), ` +
      `which SQL Server takes for the same key: it compares column(s) ${columns.join(', ')} ignoring trailing spaces (strings) and trailing zero bytes (binary), ` +
      'under every collation. The source keeps these keys apart; this standby cannot hold both rows, and writing one would overwrite or lose the other. ' +
      'The transaction is rolled back and the applier stops: replicate this table to a PostgreSQL or MariaDB standby, which keep such keys apart, or change the keys at the source',
  );
}
