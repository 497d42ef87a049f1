// Every T-SQL statement the SQL Server source sends, as pure functions (properties tested in
// sql.test.ts). Identifiers go through quoteIdent; values only ever travel as @parameters.
// Microsoft docs followed: "Work with change tracking", "CHANGETABLE (Transact-SQL)",
// "CHANGE_TRACKING_CURRENT_VERSION", "CHANGE_TRACKING_MIN_VALID_VERSION",
// "CHANGE_TRACKING_IS_COLUMN_IN_MASK", "sys.dm_tran_commit_table", "sys.change_tracking_databases",
// "sys.change_tracking_tables", "sys.databases", "sys.columns", "sys.index_columns",
// "SET TRANSACTION ISOLATION LEVEL".
import type { Row, TableMeta } from '../../core/model.ts';
import { afterPredicate, keyColumns, keyParams, keysetPageStatement } from '../../drivers/sqlserver/keyset.ts';
import type { Statement } from '../../drivers/sqlserver/params.ts';
import { objectName, quoteIdent } from '../../drivers/sqlserver/quote.ts';
import { readExpression } from '../../drivers/sqlserver/reads.ts';
import type { ParamValue } from '../../drivers/sqlserver/values.ts';

export type { Statement };
export { objectName };

// ---- prerequisites and catalog -------------------------------------------------------------

/** Database-level prerequisites of the database the connection is in. */
export const DATABASE_PREREQUISITES_SQL = `SELECT DB_NAME() AS database_name,
  CAST(CASE WHEN ctd.database_id IS NULL THEN 0 ELSE 1 END AS bit) AS change_tracking_on,
  ctd.retention_period, ctd.retention_period_units_desc, ctd.is_auto_cleanup_on,
  d.snapshot_isolation_state, d.snapshot_isolation_state_desc,
  CHANGE_TRACKING_CURRENT_VERSION() AS current_version
FROM sys.databases AS d
LEFT JOIN sys.change_tracking_databases AS ctd ON ctd.database_id = d.database_id
WHERE d.database_id = DB_ID();`;

/**
 * Whether the table exists, is tracked (and with TRACK_COLUMNS_UPDATED), and whether this login may
 * read it and its changes. Catalog views only show what the login may see, so a missing row or
 * object id can also mean a missing grant: the error message says both.
 */
export const TABLE_PREREQUISITES_SQL = `SELECT o.object_id,
  CAST(CASE WHEN ctt.object_id IS NULL THEN 0 ELSE 1 END AS bit) AS change_tracking_on,
  ctt.is_track_columns_updated_on,
  HAS_PERMS_BY_NAME(@qualifiedName, N'OBJECT', N'SELECT') AS can_select,
  HAS_PERMS_BY_NAME(@qualifiedName, N'OBJECT', N'VIEW CHANGE TRACKING') AS can_view_change_tracking
FROM (SELECT OBJECT_ID(@qualifiedName, N'U') AS object_id) AS o
LEFT JOIN sys.change_tracking_tables AS ctt ON ctt.object_id = o.object_id;`;

/**
 * Columns in catalog order with their primary-key position (NULL for non-key columns) and whether
 * they have a default constraint (sys.columns.default_object_id: "ID of the default object ... 0 =
 * No default"): a column added with one can give existing rows a value without DML.
 */
export const COLUMNS_SQL = `SELECT c.column_id, c.name,
  TYPE_NAME(c.user_type_id) AS type_name, TYPE_NAME(c.system_type_id) AS base_type_name,
  ty.is_user_defined, ty.is_assembly_type,
  c.max_length, c.precision, c.scale, c.is_nullable, c.is_computed, c.is_identity,
  CAST(CASE WHEN c.default_object_id <> 0 THEN 1 ELSE 0 END AS bit) AS has_default,
  ic.key_ordinal
FROM sys.columns AS c
JOIN sys.types AS ty ON ty.user_type_id = c.user_type_id
LEFT JOIN sys.indexes AS i ON i.object_id = c.object_id AND i.is_primary_key = 1
LEFT JOIN sys.index_columns AS ic ON ic.object_id = i.object_id AND ic.index_id = i.index_id AND ic.column_id = c.column_id
WHERE c.object_id = OBJECT_ID(@qualifiedName, N'U')
ORDER BY c.column_id;`;

/**
 * A cheap signature of the tracked tables' columns, checked before every poll (CatalogWatch): a
 * column added, dropped, renamed or retyped changes it, and so does a default bound or unbound or
 * a computed column made (hasDefault, generated). @names is a JSON array of quoted two-part names
 * (OPENJSON: SQL Server 2016+, compatibility level 130).
 */
export const CATALOG_SIGNATURE_SQL = `SELECT c.object_id, COUNT(*) AS columns, MAX(c.column_id) AS max_column_id,
  CHECKSUM_AGG(BINARY_CHECKSUM(c.column_id, c.name, c.user_type_id, c.max_length, c.precision, c.scale, c.is_nullable,
    c.is_computed, c.default_object_id)) AS checksum
FROM sys.columns AS c
WHERE c.object_id IN (SELECT OBJECT_ID(j.value, N'U') FROM OPENJSON(@names) AS j)
GROUP BY c.object_id
ORDER BY c.object_id;`;

// ---- the poll transaction -----------------------------------------------------------------

/**
 * Every statement inside a poll first checks that its transaction still exists: if the connection
 * broke and the pool handed out a fresh one, a read would otherwise run silently outside the
 * snapshot and mix versions.
 */
export const TRANSACTION_GUARD_SQL = `IF @@TRANCOUNT = 0 THROW 51000, N'ctrelay: the poll transaction is gone (connection reset); the poll must be retried', 1;`;

/**
 * Starts the poll and reads its version V. Snapshot isolation: every later read sees the database
 * as of the transaction's snapshot. READ COMMITTED is the documented fallback without snapshot
 * isolation (allowNonSnapshot), where consistency comes from `SYS_CHANGE_VERSION <= @until` and a
 * re-check of the min valid version after reading.
 */
export function beginPollSql(snapshot: boolean): string {
  return `SET TRANSACTION ISOLATION LEVEL ${snapshot ? 'SNAPSHOT' : 'READ COMMITTED'};
BEGIN TRANSACTION;
SELECT CHANGE_TRACKING_CURRENT_VERSION() AS current_version;`;
}

/**
 * Ends the poll. The session only read, so COMMIT and ROLLBACK are equivalent. The isolation level
 * is a connection setting that survives the transaction and pooling, so it is reset here.
 */
export const END_POLL_SQL = `IF @@TRANCOUNT > 0 COMMIT TRANSACTION;
SET TRANSACTION ISOLATION LEVEL READ COMMITTED;`;

export const ABORT_POLL_SQL = `IF @@TRANCOUNT > 0 ROLLBACK TRANSACTION;
SET TRANSACTION ISOLATION LEVEL READ COMMITTED;`;

export const MIN_VALID_VERSION_SQL = `${TRANSACTION_GUARD_SQL}
SELECT CHANGE_TRACKING_MIN_VALID_VERSION(OBJECT_ID(@qualifiedName, N'U')) AS min_valid_version;`;

// ---- reading rows and changes ------------------------------------------------------------


export type CommitTimeMode = 'utc' | 'server-local' | 'off';

export interface ChangesInput {
  since: bigint;
  /** the poll's version V: changes above it are not part of this batch */
  until: bigint;
  after: { version: bigint; key: Row } | null;
  limit: number;
  /** column_id of each non-key column, when the table has TRACK_COLUMNS_UPDATED on; else null */
  columnIds: Map<string, number> | null;
  /**
   * how sys.dm_tran_commit_table.commit_time is read (its time zone is undocumented); 'off' skips
   * the DMV, which needs VIEW DATABASE STATE
   */
  commitTime: CommitTimeMode;
}

/**
 * Net changes since @since joined to the current rows, in (version, key) order, paged.
 * Result columns are positional aliases (k<i> key i, c<i> column i, m<i> mask bit of column i) so that
 * no user column name can collide with another or with ctrelay's own.
 */
export function changesStatement(table: TableMeta, input: ChangesInput): Statement {
  const name = objectName(table);
  const keys = keyColumns(table);
  const keySet = new Set(table.key);
  const params: Record<string, ParamValue> = {
    limit: { sqlType: 'int', value: input.limit },
    since: { sqlType: 'bigint', value: input.since },
    until: { sqlType: 'bigint', value: input.until },
  };
  const commitTime = {
    utc: 'CONVERT(varchar(23), tc.commit_time, 121)',
    'server-local': 'CONVERT(varchar(23), DATEADD(minute, -DATEPART(TZOFFSET, SYSDATETIMEOFFSET()), tc.commit_time), 121)',
    off: 'CAST(NULL AS varchar(23))',
  }[input.commitTime];
  const select = [
    'ct.SYS_CHANGE_VERSION AS [ct_version]',
    'ct.SYS_CHANGE_OPERATION AS [ct_operation]',
    'ct.SYS_CHANGE_COLUMNS AS [ct_columns]',
    `${commitTime} AS [ct_commit_time]`,
    ...keys.map((c, i) => `${readExpression(`ct.${quoteIdent(c.name)}`, c)} AS [k${i}]`),
    `CAST(CASE WHEN t.${quoteIdent(keys[0].name)} IS NULL THEN 0 ELSE 1 END AS bit) AS [row_found]`,
    ...table.columns.map((c, i) => `${readExpression(`t.${quoteIdent(c.name)}`, c)} AS [c${i}]`),
  ];
  if (input.columnIds) {
    table.columns.forEach((c, i) => {
      if (keySet.has(c.name)) return;
      const id = input.columnIds!.get(c.name);
      if (id === undefined) return;
      params[`cid${i}`] = { sqlType: 'int', value: id };
      select.push(`CHANGE_TRACKING_IS_COLUMN_IN_MASK(@cid${i}, ct.SYS_CHANGE_COLUMNS) AS [m${i}]`);
    });
  }
  const join = keys.map((c) => `t.${quoteIdent(c.name)} = ct.${quoteIdent(c.name)}`).join(' AND ');
  let where = 'ct.SYS_CHANGE_VERSION <= @until';
  if (input.after) {
    const kp = keyParams(table, input.after.key);
    Object.assign(params, kp.params);
    params.after_version = { sqlType: 'bigint', value: input.after.version };
    where += ` AND ${afterPredicate(['ct.SYS_CHANGE_VERSION', ...keys.map((c) => `ct.${quoteIdent(c.name)}`)], ['@after_version', ...kp.exprs])}`;
  }
  const order = ['ct.SYS_CHANGE_VERSION', ...keys.map((c) => `ct.${quoteIdent(c.name)}`)].join(', ');
  const sql = `${TRANSACTION_GUARD_SQL}
SELECT TOP (@limit) ${select.join(',\n  ')}
FROM CHANGETABLE(CHANGES ${name}, @since) AS ct
LEFT JOIN ${name} AS t ON ${join}${input.commitTime === 'off' ? '' : '\nLEFT JOIN sys.dm_tran_commit_table AS tc ON tc.commit_ts = ct.SYS_CHANGE_VERSION'}
WHERE ${where}
ORDER BY ${order};`;
  return { sql, params };
}

/** Rows in key order after `afterKey`: the chunks of an initial load or re-snapshot. */
export function snapshotChunkStatement(table: TableMeta, afterKey: Row | null, limit: number): Statement {
  const page = keysetPageStatement(table, afterKey, limit);
  return { sql: `${TRANSACTION_GUARD_SQL}\n${page.sql}`, params: page.params };
}
