// `ctrelay ct enable` / `ct disable` for SQL Server: the T-SQL an administrator runs (with sqlcmd or
// SSMS) to give ctrelay what it needs. Idempotent: every step is guarded by the catalog views
// sys.change_tracking_databases, sys.change_tracking_tables and sys.databases, so running it again
// is harmless. Microsoft docs: "Enable and disable change tracking", "ALTER DATABASE SET options"
// (CHANGE_TRACKING, ALLOW_SNAPSHOT_ISOLATION), "ALTER TABLE" (ENABLE CHANGE_TRACKING),
// "Secure change tracking" (SELECT + VIEW CHANGE TRACKING).
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
}

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
  const opts = `CHANGE_RETENTION = ${o.retentionDays} DAYS, AUTO_CLEANUP = ${o.autoCleanup ? 'ON' : 'OFF'}`;
  const track = o.trackColumns ? 'ON' : 'OFF';
  const batches: string[] = [];
  batches.push(
    [
      `USE ${db};`,
      '-- an already enabled database gets the requested retention and cleanup settings',
      'IF NOT EXISTS (SELECT 1 FROM sys.change_tracking_databases WHERE database_id = DB_ID())',
      `  ALTER DATABASE ${db} SET CHANGE_TRACKING = ON (${opts});`,
      'ELSE',
      `  ALTER DATABASE ${db} SET CHANGE_TRACKING (${opts});`,
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
    // sys.dm_tran_commit_table (commit times) is a DMV: DMVs need VIEW DATABASE STATE
    grants.push(`GRANT VIEW DATABASE STATE TO ${user};`);
    for (const t of o.tables) {
      const q = quoteQualified(t.schema, t.table);
      grants.push(`GRANT SELECT ON ${q} TO ${user};`, `GRANT VIEW CHANGE TRACKING ON ${q} TO ${user};`);
    }
    batches.push(grants.join('\n'));
  }
  return batches;
}

/** The enable script for sqlcmd / SSMS. */
export function ctEnableScript(o: CtEnableOptions): string {
  const header = `-- ctrelay: enable change tracking in database ${o.database} (idempotent; run as a member of db_owner)\n`;
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
