// A table's change window, read ONCE per poll. CHANGETABLE(CHANGES t, @since) computes the net
// changes of the whole window every time it is called, so paging it directly (TOP (@limit) after a
// (version, key) position, as ctrelay did) re-ran that scan and a sort of the whole window per page:
// a 10-million-row transaction at 5,000 rows a page was ~2,000 scans of 10M rows. Instead the
// window's keys go once into a local #temp table inside the poll's transaction, numbered in
// (version, key) order (clustered on that number), and every page is a range seek on it, joined to
// the current rows. Local temp tables are private to the connection and may be written inside a
// snapshot transaction (only global ##temp tables need snapshot isolation allowed in tempdb);
// CREATE TABLE is not among the DDL a snapshot transaction refuses (ALTER TABLE, CREATE INDEX, ...:
// "MSSQLSERVER_3961"), so the primary key is declared inline. Microsoft docs followed: "CHANGETABLE",
// "CHANGE_TRACKING_MIN_VALID_VERSION", "CREATE TABLE" (temporary tables, COLLATE), "ROW_NUMBER",
// "ROWCOUNT_BIG", "sys.dm_tran_commit_table", "CHANGE_TRACKING_IS_COLUMN_IN_MASK".
import { SourceError } from '../../core/errors.ts';
import type { Row, TableMeta } from '../../core/model.ts';
import { afterPredicate, keyColumns, keyParams } from '../../drivers/sqlserver/keyset.ts';
import type { Statement } from '../../drivers/sqlserver/params.ts';
import { objectName, quoteIdent } from '../../drivers/sqlserver/quote.ts';
import { castTypeOf, readExpression } from '../../drivers/sqlserver/reads.ts';
import type { ParamValue } from '../../drivers/sqlserver/values.ts';
import { TRANSACTION_GUARD_SQL, type CommitTimeMode } from './sql.ts';

/** The #temp table of the n-th window a poll session reads (local: only this connection sees it). */
export function windowTableName(n: number): string {
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`window table number must be a whole number, got ${n}`);
  return `#ctrelay_window_${n}`;
}

/**
 * ` COLLATE <name>` for a character key column. A #temp table lives in tempdb, whose default
 * collation may differ from the column's: without it the window would order keys differently,
 * a case-insensitive tempdb would see 'a' and 'A' as one key, and the join back to the table would
 * fail with a collation conflict (error 468). Collation names are plain identifiers in sys.columns;
 * anything else is refused rather than written into the statement.
 */
function collate(table: TableMeta, column: string, collations: ReadonlyMap<string, string>): string {
  const c = collations.get(column);
  if (c === undefined) return '';
  if (!/^[A-Za-z0-9_]+$/.test(c)) throw new SourceError(`table ${table.schema}.${table.table} key column ${column} has collation ${JSON.stringify(c)}, which ctrelay cannot name in a statement`);
  return ` COLLATE ${c}`;
}

/**
 * Creates the window table: [rn] the position in (version, key) order, the change's version,
 * operation and column mask, and the key columns [k0].. in the columns' own types and collations.
 * A plain batch (no parameters): a #temp table created inside sp_executesql would be dropped when
 * the call returns. A leftover of the same name (a poll that could not drop it) is dropped first.
 */
export function createWindowTableSql(table: TableMeta, name: string, collations: ReadonlyMap<string, string>): string {
  const keys = keyColumns(table).map((c, i) => `  [k${i}] ${castTypeOf(c)}${collate(table, c.name, collations)} NOT NULL`);
  return `${TRANSACTION_GUARD_SQL}
DROP TABLE IF EXISTS ${name};
CREATE TABLE ${name} (
  [rn] bigint NOT NULL PRIMARY KEY CLUSTERED,
  [v] bigint NOT NULL,
  [op] nchar(1) NOT NULL,
  [cols] varbinary(4100) NULL,
${keys.join(',\n')}
);`;
}

/**
 * Reads the window (since, until] of the table into the window table, with ONE scan of
 * CHANGETABLE, and the table's min valid version before and after that read: when it rose past
 * @since meanwhile, cleanup may have removed changes of the window while they were read. Snapshot
 * isolation keeps the rows of the read consistent, but the min valid version is not versioned
 * metadata, so it is checked again always, not only without a snapshot.
 */
export function fillWindowStatement(table: TableMeta, name: string, since: bigint, until: bigint, collations: ReadonlyMap<string, string>): Statement {
  const keys = keyColumns(table);
  const keyNames = keys.map((_, i) => `[k${i}]`).join(', ');
  const ctKeys = keys.map((c) => `ct.${quoteIdent(c.name)}`);
  const order = ['ct.SYS_CHANGE_VERSION', ...keys.map((c) => `ct.${quoteIdent(c.name)}${collate(table, c.name, collations)}`)].join(', ');
  const sql = `${TRANSACTION_GUARD_SQL}
DECLARE @min_valid_before bigint = CHANGE_TRACKING_MIN_VALID_VERSION(OBJECT_ID(@qualifiedName, N'U'));
DECLARE @window_rows bigint;
INSERT INTO ${name} ([rn], [v], [op], [cols], ${keyNames})
SELECT ROW_NUMBER() OVER (ORDER BY ${order}), ct.SYS_CHANGE_VERSION, ct.SYS_CHANGE_OPERATION, ct.SYS_CHANGE_COLUMNS, ${ctKeys.join(', ')}
FROM CHANGETABLE(CHANGES ${objectName(table)}, @since) AS ct
WHERE ct.SYS_CHANGE_VERSION <= @until;
SET @window_rows = ROWCOUNT_BIG();
SELECT @window_rows AS window_rows, @min_valid_before AS min_valid_before,
  CHANGE_TRACKING_MIN_VALID_VERSION(OBJECT_ID(@qualifiedName, N'U')) AS min_valid_after;`;
  return {
    sql,
    params: {
      qualifiedName: { sqlType: 'nvarchar', value: objectName(table) },
      since: { sqlType: 'bigint', value: since },
      until: { sqlType: 'bigint', value: until },
    },
  };
}

/**
 * Where a page starts: after a window row's number (the position the previous page ended at, the
 * common case, a seek), or strictly after any (version, key) position (compared in the window
 * table's columns, so in the key columns' types and collations).
 */
export type WindowPosition = { rn: bigint } | { version: bigint; key: Row };

export interface WindowPageInput {
  position: WindowPosition;
  limit: number;
  /** column_id of each non-key column, when the table has TRACK_COLUMNS_UPDATED on; else null */
  columnIds: ReadonlyMap<string, number> | null;
  /**
   * how sys.dm_tran_commit_table.commit_time is read (its time zone is undocumented; Microsoft's
   * own troubleshooting query compares it with GETUTCDATE()); 'off' skips the view
   */
  commitTime: CommitTimeMode;
}

const COMMIT_TIME: Record<CommitTimeMode, string> = {
  utc: 'CONVERT(varchar(23), tc.commit_time, 121)',
  'server-local': 'CONVERT(varchar(23), DATEADD(minute, -DATEPART(TZOFFSET, SYSDATETIMEOFFSET()), tc.commit_time), 121)',
  off: 'CAST(NULL AS varchar(23))',
};

/**
 * One page of the window, in (version, key) order, joined to the current row and to the commit
 * time of its version. Result columns are positional aliases (k<i> key i, c<i> column i, m<i> mask
 * bit of column i; ct_rn the row's position) so that no user column name can collide with another
 * or with ctrelay's own.
 */
export function windowPageStatement(table: TableMeta, name: string, input: WindowPageInput): Statement {
  const keys = keyColumns(table);
  const keySet = new Set(table.key);
  const params: Record<string, ParamValue> = { limit: { sqlType: 'int', value: input.limit } };
  const select = [
    'w.[rn] AS [ct_rn]',
    'w.[v] AS [ct_version]',
    'w.[op] AS [ct_operation]',
    'w.[cols] AS [ct_columns]',
    `${COMMIT_TIME[input.commitTime]} AS [ct_commit_time]`,
    ...keys.map((c, i) => `${readExpression(`w.[k${i}]`, c)} AS [k${i}]`),
    `CAST(CASE WHEN t.${quoteIdent(keys[0].name)} IS NULL THEN 0 ELSE 1 END AS bit) AS [row_found]`,
    ...table.columns.map((c, i) => `${readExpression(`t.${quoteIdent(c.name)}`, c)} AS [c${i}]`),
  ];
  if (input.columnIds) {
    table.columns.forEach((c, i) => {
      if (keySet.has(c.name)) return;
      const id = input.columnIds!.get(c.name);
      if (id === undefined) return;
      params[`cid${i}`] = { sqlType: 'int', value: id };
      select.push(`CHANGE_TRACKING_IS_COLUMN_IN_MASK(@cid${i}, w.[cols]) AS [m${i}]`);
    });
  }
  let where: string;
  if ('rn' in input.position) {
    params.after_rn = { sqlType: 'bigint', value: input.position.rn };
    where = 'w.[rn] > @after_rn';
  } else {
    const kp = keyParams(table, input.position.key);
    Object.assign(params, kp.params);
    params.after_version = { sqlType: 'bigint', value: input.position.version };
    where = afterPredicate(['w.[v]', ...keys.map((_, i) => `w.[k${i}]`)], ['@after_version', ...kp.exprs]);
  }
  const join = keys.map((c, i) => `t.${quoteIdent(c.name)} = w.[k${i}]`).join(' AND ');
  const sql = `${TRANSACTION_GUARD_SQL}
SELECT TOP (@limit) ${select.join(',\n  ')}
FROM ${name} AS w
LEFT JOIN ${objectName(table)} AS t ON ${join}${input.commitTime === 'off' ? '' : '\nLEFT JOIN sys.dm_tran_commit_table AS tc ON tc.commit_ts = w.[v]'}
WHERE ${where}
ORDER BY w.[rn];`;
  return { sql, params };
}
