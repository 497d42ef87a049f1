// Every T-SQL statement the SQL Server source sends, as pure functions (properties tested in
// sql.test.ts). Identifiers go through quoteIdent; values only ever travel as @parameters.
// Microsoft docs followed: "Work with change tracking", "CHANGETABLE (Transact-SQL)",
// "CHANGE_TRACKING_CURRENT_VERSION", "CHANGE_TRACKING_MIN_VALID_VERSION",
// "CHANGE_TRACKING_IS_COLUMN_IN_MASK", "sys.dm_tran_commit_table", "sys.change_tracking_databases",
// "sys.change_tracking_tables", "sys.databases", "sys.database_recovery_status", "sys.columns",
// "sys.index_columns", "SET TRANSACTION ISOLATION LEVEL", "HAS_PERMS_BY_NAME", and the row
// versioning guide (when a snapshot transaction's snapshot starts). The statements that read a
// table's change window once per poll are in window-sql.ts.
import type { Row, TableMeta, TableRef } from '../../core/model.ts';
import { keysetPageStatement } from '../../drivers/sqlserver/keyset.ts';
import type { Statement } from '../../drivers/sqlserver/params.ts';
import { objectName } from '../../drivers/sqlserver/quote.ts';

export type { Statement };
export { objectName };

// ---- prerequisites and catalog -------------------------------------------------------------

/**
 * Database-level prerequisites of the database the connection is in, and what the login may see:
 * VIEW DATABASE STATE to read sys.dm_tran_commit_table at all, VIEW SERVER STATE to see its rows
 * committed since the last CHECKPOINT (Microsoft's note on that view: without it, "changes are
 * persisted ... until a CHECKPOINT occurs"), and whether sys.database_recovery_status shows this
 * database (owner, VIEW ANY DATABASE, which public has by default, or CREATE DATABASE).
 */
export const DATABASE_PREREQUISITES_SQL = `SELECT DB_NAME() AS database_name,
  CAST(CASE WHEN ctd.database_id IS NULL THEN 0 ELSE 1 END AS bit) AS change_tracking_on,
  ctd.retention_period, ctd.retention_period_units_desc, ctd.is_auto_cleanup_on,
  d.snapshot_isolation_state, d.snapshot_isolation_state_desc,
  CHANGE_TRACKING_CURRENT_VERSION() AS current_version,
  HAS_PERMS_BY_NAME(DB_NAME(), N'DATABASE', N'VIEW DATABASE STATE') AS can_view_database_state,
  HAS_PERMS_BY_NAME(NULL, NULL, N'VIEW SERVER STATE') AS can_view_server_state,
  CAST(CASE WHEN drs.recovery_fork_guid IS NULL THEN 0 ELSE 1 END AS bit) AS can_see_recovery_fork
FROM sys.databases AS d
LEFT JOIN sys.change_tracking_databases AS ctd ON ctd.database_id = d.database_id
LEFT JOIN sys.database_recovery_status AS drs ON drs.database_id = d.database_id
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
  c.max_length, c.precision, c.scale, c.is_nullable, c.is_computed, c.is_identity, c.collation_name,
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
 * What identifies the database's version space (SourceIdentity): the database, then its recovery
 * fork. A restore that makes the database continue from an earlier point starts a new recovery fork
 * ("sys.database_recovery_status": recovery_fork_guid), and "RESTORE always generates a new GUID
 * when you restore a database that does not yet exist" (database_guid). In an availability group
 * every replica of a database shares sys.databases.group_database_id while its database_guid may
 * differ, so a failover keeps the identity; a forced failover that loses data starts a new fork.
 * NULL when the login cannot see the row (see DATABASE_PREREQUISITES_SQL), or the database is
 * offline: capture then cannot tell a restore (a startup warning says so).
 */
export const SOURCE_IDENTITY_SQL = `(SELECT CASE WHEN drs.recovery_fork_guid IS NULL OR COALESCE(d.group_database_id, drs.database_guid) IS NULL THEN NULL
    ELSE N'sqlserver:' + CONVERT(nvarchar(36), COALESCE(d.group_database_id, drs.database_guid)) + N'/' + CONVERT(nvarchar(36), drs.recovery_fork_guid) END
  FROM sys.databases AS d JOIN sys.database_recovery_status AS drs ON drs.database_id = d.database_id
  WHERE d.database_id = DB_ID())`;

/**
 * A read that certainly starts the snapshot: a SNAPSHOT transaction's snapshot is taken at its first
 * statement that reads data, not at BEGIN TRANSACTION (row versioning guide: "the transaction
 * sequence number starts with the first read or write operation after the BEGIN TRANSACTION
 * statement"), and CHANGE_TRACKING_CURRENT_VERSION() is not documented to read any. One row of a
 * captured table is the cheapest read that is data access beyond doubt.
 */
export function pinSnapshotSql(table: TableRef): string {
  return `DECLARE @pinned int;
SELECT TOP (1) @pinned = 1 FROM ${objectName(table)};`;
}

/**
 * Starts the poll and reads its version V. Snapshot isolation: the version is read before and after
 * a read that starts the snapshot (pinSnapshotSql); only when both agree is the snapshot the
 * database at V (no change-tracked transaction committed in between), else the caller rolls back
 * and begins again. Without a table to pin with (no table described yet), the session pins at its
 * first table read. READ COMMITTED is the documented fallback without snapshot isolation
 * (allowNonSnapshot), where consistency comes from `SYS_CHANGE_VERSION <= @until` and the re-check
 * of the min valid version after reading. The identity is read before the transaction: metadata is
 * not versioned, and a restore cannot happen while this connection is in the database.
 */
export function beginPollSql(snapshot: boolean, pin: TableRef | null = null): string {
  const pinned = snapshot && pin !== null;
  return [
    `DECLARE @source_identity nvarchar(100) = ${SOURCE_IDENTITY_SQL};`,
    `SET TRANSACTION ISOLATION LEVEL ${snapshot ? 'SNAPSHOT' : 'READ COMMITTED'};`,
    'BEGIN TRANSACTION;',
    'DECLARE @version_before bigint = CHANGE_TRACKING_CURRENT_VERSION();',
    ...(pinned ? [pinSnapshotSql(pin)] : []),
    'SELECT @version_before AS version_before, CHANGE_TRACKING_CURRENT_VERSION() AS current_version, @source_identity AS source_identity;',
  ].join('\n');
}

/** The session pins its snapshot at its first table read (no table to pin with at beginPoll): the version must not have moved. */
export function lateSnapshotPinSql(table: TableRef): string {
  return `${TRANSACTION_GUARD_SQL}
${pinSnapshotSql(table)}
SELECT CHANGE_TRACKING_CURRENT_VERSION() AS current_version;`;
}

/**
 * Ends the poll: COMMIT (or ROLLBACK) when a transaction is open, then drops the poll's window
 * tables (#temp tables live as long as the connection, which the pool keeps), then resets the
 * isolation level, a connection setting that survives the transaction and pooling. The session only
 * wrote its own #temp tables, so COMMIT and ROLLBACK are equivalent for the database.
 */
export function endPollSql(commit: boolean, tempTables: string[] = []): string {
  for (const t of tempTables) if (!/^#ctrelay_window_\d+$/.test(t)) throw new Error(`not a window table name: ${t}`);
  return [
    `IF @@TRANCOUNT > 0 ${commit ? 'COMMIT' : 'ROLLBACK'} TRANSACTION;`,
    ...(tempTables.length > 0 ? [`DROP TABLE IF EXISTS ${tempTables.join(', ')};`] : []),
    'SET TRANSACTION ISOLATION LEVEL READ COMMITTED;',
  ].join('\n');
}

export const END_POLL_SQL = endPollSql(true);

export const ABORT_POLL_SQL = endPollSql(false);

export const MIN_VALID_VERSION_SQL = `${TRANSACTION_GUARD_SQL}
SELECT CHANGE_TRACKING_MIN_VALID_VERSION(OBJECT_ID(@qualifiedName, N'U')) AS min_valid_version;`;

// ---- reading rows ---------------------------------------------------------------------------

export type CommitTimeMode = 'utc' | 'server-local' | 'off';

/** Rows in key order after `afterKey`: the chunks of an initial load or re-snapshot. */
export function snapshotChunkStatement(table: TableMeta, afterKey: Row | null, limit: number): Statement {
  const page = keysetPageStatement(table, afterKey, limit);
  return { sql: `${TRANSACTION_GUARD_SQL}\n${page.sql}`, params: page.params };
}
