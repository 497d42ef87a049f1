// `ctrelay ct enable` / `ct disable` for SQL Server: the T-SQL an administrator runs (with sqlcmd or
// SSMS) to give ctrelay what it needs. Idempotent: every step is guarded by the catalog views
// sys.change_tracking_databases, sys.change_tracking_tables and sys.databases, so running it again
// is harmless. A database that already has change tracking may serve other consumers: its retention
// is only ever raised and its auto cleanup never switched, so the script cannot invalidate anyone's
// cursor. Microsoft docs: "Enable and disable change tracking", "ALTER DATABASE SET options"
// (CHANGE_TRACKING, ALLOW_SNAPSHOT_ISOLATION), "sys.change_tracking_databases" (retention units),
// "ALTER TABLE" (ENABLE CHANGE_TRACKING), "Secure change tracking" (SELECT + VIEW CHANGE TRACKING),
// "sys.dm_tran_commit_table" (VIEW SERVER STATE for commits since the last CHECKPOINT), "GRANT
// Server Permissions" (granted in master).
import { ConfigError } from '../../core/errors.ts';
import type { TableRef } from '../../core/model.ts';
import { nLiteral, quoteIdent, quoteQualified } from '../../drivers/sqlserver/quote.ts';

export interface CtEnableOptions {
  database: string;
  tables: TableRef[];
  /** CHANGE_RETENTION in days: must exceed the longest time the agent may be down */
  retentionDays: number;
  autoCleanup: boolean;
  /** TRACK_COLUMNS_UPDATED: lets events carry changed_columns */
  trackColumns: boolean;
  /** the agent's login; when given, a database user of the same name is created and granted */
  agentLogin?: string;
  /**
   * with agentLogin: grant what commit times need (default true): VIEW DATABASE STATE to read
   * sys.dm_tran_commit_table, and the server-level VIEW SERVER STATE without which it shows only
   * commits older than the last CHECKPOINT. false grants neither: events then carry no commit_ts
   * (set source.commitTime: off so that capture does not warn about it).
   */
  commitTimes?: boolean;
}

const MINUTES_PER_DAY = 24 * 60;

/**
 * The enable script as separate batches: database settings first, so that no ALTER TABLE ... ENABLE
 * CHANGE_TRACKING is compiled in the batch that turns change tracking on for the database. A driver
 * runs them one by one; ctEnableScript joins them with GO for sqlcmd/SSMS.
 */
export function ctEnableBatches(o: CtEnableOptions): string[] {
  if (!Number.isInteger(o.retentionDays) || o.retentionDays < 1) {
    throw new ConfigError(`ct enable: retentionDays must be a positive whole number of days, got ${o.retentionDays}`);
  }
  if (o.tables.length === 0) throw new ConfigError('ct enable: no tables given');
  const db = quoteIdent(o.database);
  const retention = `CHANGE_RETENTION = ${o.retentionDays} DAYS`;
  const cleanup = o.autoCleanup ? 'ON' : 'OFF';
  const track = o.trackColumns ? 'ON' : 'OFF';
  const say = (text: string) => `PRINT ${nLiteral(`ct enable: ${text}`)};`;
  const batches: string[] = [];
  batches.push(
    [
      `USE ${db};`,
      'IF NOT EXISTS (SELECT 1 FROM sys.change_tracking_databases WHERE database_id = DB_ID())',
      `  ALTER DATABASE ${db} SET CHANGE_TRACKING = ON (${retention}, AUTO_CLEANUP = ${cleanup});`,
      'ELSE',
      'BEGIN',
      '  -- already enabled, maybe for other consumers: the retention is only raised, never shortened',
      '  -- (retention_period_units: 1 = minutes, 2 = hours, 3 = days), and auto cleanup stays as it is',
      '  DECLARE @retention_minutes bigint = (SELECT CAST(retention_period AS bigint) * CASE retention_period_units WHEN 1 THEN 1 WHEN 2 THEN 60 ELSE 1440 END',
      '    FROM sys.change_tracking_databases WHERE database_id = DB_ID());',
      `  IF @retention_minutes < ${o.retentionDays * MINUTES_PER_DAY}`,
      `    ALTER DATABASE ${db} SET CHANGE_TRACKING (${retention});`,
      '  ELSE',
      `    ${say(`change tracking retention of ${o.database} kept: it is already at least ${o.retentionDays} days`)}`,
      `  IF (SELECT is_auto_cleanup_on FROM sys.change_tracking_databases WHERE database_id = DB_ID()) <> ${o.autoCleanup ? 1 : 0}`,
      `    ${say(
        o.autoCleanup
          ? `AUTO_CLEANUP of ${o.database} stays OFF as it was (turning it on would delete change history other consumers may still need)`
          : `AUTO_CLEANUP of ${o.database} stays ON as it was (ct enable never switches it off on a database already tracked)`,
      )}`,
      'END',
      '-- each poll is one snapshot-isolation transaction',
      'IF (SELECT snapshot_isolation_state FROM sys.databases WHERE database_id = DB_ID()) <> 1',
      `  ALTER DATABASE ${db} SET ALLOW_SNAPSHOT_ISOLATION ON;`,
    ].join('\n'),
  );
  for (const t of o.tables) {
    const q = quoteQualified(t.schema, t.table);
    const id = `OBJECT_ID(${nLiteral(q)})`;
    batches.push(
      [
        `IF NOT EXISTS (SELECT 1 FROM sys.change_tracking_tables WHERE object_id = ${id})`,
        `  ALTER TABLE ${q} ENABLE CHANGE_TRACKING WITH (TRACK_COLUMNS_UPDATED = ${track});`,
        `ELSE IF EXISTS (SELECT 1 FROM sys.change_tracking_tables WHERE object_id = ${id} AND is_track_columns_updated_on <> ${o.trackColumns ? 1 : 0})`,
        // changing the setting needs DISABLE + ENABLE, which discards the table's change history
        `  PRINT ${nLiteral(`${t.schema}.${t.table} is already tracked with TRACK_COLUMNS_UPDATED = ${o.trackColumns ? 'OFF' : 'ON'}; left unchanged`)};`,
      ].join('\n'),
    );
  }
  if (o.agentLogin) {
    const user = quoteIdent(o.agentLogin);
    const grants = [`IF USER_ID(${nLiteral(o.agentLogin)}) IS NULL`, `  CREATE USER ${user} FOR LOGIN ${user};`];
    for (const t of o.tables) {
      const q = quoteQualified(t.schema, t.table);
      grants.push(`GRANT SELECT ON ${q} TO ${user};`, `GRANT VIEW CHANGE TRACKING ON ${q} TO ${user};`);
    }
    if (o.commitTimes ?? true) {
      grants.push(
        '-- commit times (commit_ts, lag in seconds): sys.dm_tran_commit_table is a DMV, read with VIEW DATABASE STATE;',
        '-- it shows commits since the last CHECKPOINT only to logins with VIEW SERVER STATE, a server permission',
        '-- granted in master (through master\'s sp_executesql, so this batch stays in this database) by a server',
        '-- administrator. Without it recent events carry commit_ts null, without both every event (capture warns',
        '-- at start); Azure SQL Database has no server-level grant.',
        `GRANT VIEW DATABASE STATE TO ${user};`,
        'BEGIN TRY',
        `  EXEC master.sys.sp_executesql ${nLiteral(`GRANT VIEW SERVER STATE TO ${user};`)};`,
        'END TRY',
        'BEGIN CATCH',
        `  PRINT ${nLiteral(`ct enable: VIEW SERVER STATE not granted (a server administrator can run, in master: GRANT VIEW SERVER STATE TO ${user}); until then recent events carry commit_ts null: `)} + ERROR_MESSAGE();`,
        'END CATCH',
      );
    }
    batches.push(grants.join('\n'));
  }
  return batches;
}

/** The enable script for sqlcmd / SSMS. */
export function ctEnableScript(o: CtEnableOptions): string {
  const serverGrant = o.agentLogin !== undefined && (o.commitTimes ?? true);
  const header = `-- ctrelay: enable change tracking in database ${o.database} (idempotent; run as a member of db_owner${serverGrant ? '; the VIEW SERVER STATE grant needs a server administrator' : ''})\n`;
  return header + ctEnableBatches(o).join('\nGO\n\n') + '\nGO\n';
}

export interface CtDisableOptions {
  database: string;
  tables: TableRef[];
  /** also turn change tracking off for the database when no tracked table remains */
  databaseOff?: boolean;
}

/** Disables tracking of the tables (discarding their change history). Snapshot isolation stays on. */
export function ctDisableScript(o: CtDisableOptions): string {
  const db = quoteIdent(o.database);
  const lines: string[] = [`-- ctrelay: disable change tracking in database ${o.database} (discards the change history)`, `USE ${db};`];
  for (const t of o.tables) {
    const q = quoteQualified(t.schema, t.table);
    lines.push('', `IF EXISTS (SELECT 1 FROM sys.change_tracking_tables WHERE object_id = OBJECT_ID(${nLiteral(q)}))`, `  ALTER TABLE ${q} DISABLE CHANGE_TRACKING;`);
  }
  if (o.databaseOff ?? true) {
    lines.push(
      '',
      '-- the database setting can only go off once no table is tracked',
      'IF NOT EXISTS (SELECT 1 FROM sys.change_tracking_tables)',
      '  AND EXISTS (SELECT 1 FROM sys.change_tracking_databases WHERE database_id = DB_ID())',
      `  ALTER DATABASE ${db} SET CHANGE_TRACKING = OFF;`,
    );
  }
  return lines.join('\n') + '\n';
}
