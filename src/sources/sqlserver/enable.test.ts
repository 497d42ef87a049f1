import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../core/errors.ts';
import { ctDisableScript, ctEnableBatches, ctEnableScript } from './enable.ts';

const tables = [
  { schema: 'dbo', table: 'orders' },
  { schema: 'sales', table: "o'rder]lines" },
];

describe('ctEnableScript', () => {
  it('golden output with grants', () => {
    expect(ctEnableScript({ database: 'shop', tables, retentionDays: 7, autoCleanup: true, trackColumns: true, agentLogin: 'ctrelay' })).toBe(`-- ctrelay: enable change tracking in database shop (idempotent; run as a member of db_owner)
USE [shop];
-- an already enabled database gets the requested retention and cleanup settings
IF NOT EXISTS (SELECT 1 FROM sys.change_tracking_databases WHERE database_id = DB_ID())
  ALTER DATABASE [shop] SET CHANGE_TRACKING = ON (CHANGE_RETENTION = 7 DAYS, AUTO_CLEANUP = ON);
ELSE
  ALTER DATABASE [shop] SET CHANGE_TRACKING (CHANGE_RETENTION = 7 DAYS, AUTO_CLEANUP = ON);
-- each poll is one snapshot-isolation transaction
IF (SELECT snapshot_isolation_state FROM sys.databases WHERE database_id = DB_ID()) <> 1
  ALTER DATABASE [shop] SET ALLOW_SNAPSHOT_ISOLATION ON;
GO

IF NOT EXISTS (SELECT 1 FROM sys.change_tracking_tables WHERE object_id = OBJECT_ID(N'[dbo].[orders]'))
  ALTER TABLE [dbo].[orders] ENABLE CHANGE_TRACKING WITH (TRACK_COLUMNS_UPDATED = ON);
ELSE IF EXISTS (SELECT 1 FROM sys.change_tracking_tables WHERE object_id = OBJECT_ID(N'[dbo].[orders]') AND is_track_columns_updated_on <> 1)
  PRINT N'dbo.orders is already tracked with TRACK_COLUMNS_UPDATED = OFF; left unchanged';
GO

IF NOT EXISTS (SELECT 1 FROM sys.change_tracking_tables WHERE object_id = OBJECT_ID(N'[sales].[o''rder]]lines]'))
  ALTER TABLE [sales].[o'rder]]lines] ENABLE CHANGE_TRACKING WITH (TRACK_COLUMNS_UPDATED = ON);
ELSE IF EXISTS (SELECT 1 FROM sys.change_tracking_tables WHERE object_id = OBJECT_ID(N'[sales].[o''rder]]lines]') AND is_track_columns_updated_on <> 1)
  PRINT N'sales.o''rder]lines is already tracked with TRACK_COLUMNS_UPDATED = OFF; left unchanged';
GO

IF USER_ID(N'ctrelay') IS NULL
  CREATE USER [ctrelay] FOR LOGIN [ctrelay];
GRANT VIEW DATABASE STATE TO [ctrelay];
GRANT SELECT ON [dbo].[orders] TO [ctrelay];
GRANT VIEW CHANGE TRACKING ON [dbo].[orders] TO [ctrelay];
GRANT SELECT ON [sales].[o'rder]]lines] TO [ctrelay];
GRANT VIEW CHANGE TRACKING ON [sales].[o'rder]]lines] TO [ctrelay];
GO
`);
  });

  it('without column tracking, cleanup or login', () => {
    const b = ctEnableBatches({ database: 'we]ird', tables: [tables[0]], retentionDays: 2, autoCleanup: false, trackColumns: false });
    expect(b).toHaveLength(2);
    expect(b[0]).toContain('ALTER DATABASE [we]]ird] SET CHANGE_TRACKING = ON (CHANGE_RETENTION = 2 DAYS, AUTO_CLEANUP = OFF);');
    expect(b[1]).toContain('ENABLE CHANGE_TRACKING WITH (TRACK_COLUMNS_UPDATED = OFF);');
    expect(b[1]).toContain('is_track_columns_updated_on <> 0');
    expect(b.join('\n')).not.toContain('GRANT');
  });

  it('validates its input', () => {
    expect(() => ctEnableScript({ database: 'd', tables, retentionDays: 0, autoCleanup: true, trackColumns: true })).toThrow(ConfigError);
    expect(() => ctEnableScript({ database: 'd', tables, retentionDays: 1.5, autoCleanup: true, trackColumns: true })).toThrow(ConfigError);
    expect(() => ctEnableScript({ database: 'd', tables: [], retentionDays: 1, autoCleanup: true, trackColumns: true })).toThrow(ConfigError);
  });
});

describe('ctDisableScript', () => {
  it('golden output', () => {
    expect(ctDisableScript({ database: 'shop', tables: [tables[0]] })).toBe(`-- ctrelay: disable change tracking in database shop (discards the change history)
USE [shop];

IF EXISTS (SELECT 1 FROM sys.change_tracking_tables WHERE object_id = OBJECT_ID(N'[dbo].[orders]'))
  ALTER TABLE [dbo].[orders] DISABLE CHANGE_TRACKING;

-- the database setting can only go off once no table is tracked
IF NOT EXISTS (SELECT 1 FROM sys.change_tracking_tables)
  AND EXISTS (SELECT 1 FROM sys.change_tracking_databases WHERE database_id = DB_ID())
  ALTER DATABASE [shop] SET CHANGE_TRACKING = OFF;
`);
  });
  it('can leave the database setting alone', () => {
    expect(ctDisableScript({ database: 'shop', tables: [tables[0]], databaseOff: false })).not.toContain('SET CHANGE_TRACKING = OFF');
  });
});
