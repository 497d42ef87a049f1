// Properties of the `ct enable|disable` scripts (enable.ts): batch boundaries, idempotency guards,
// quoting of hostile names, grants. No whole-script copies.
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../core/errors.ts';
import { ctDisableScript, ctEnableBatches, ctEnableScript, type CtEnableOptions } from './enable.ts';

const tables = [
  { schema: 'dbo', table: 'orders' },
  { schema: 'sales', table: "o'rder]lines" },
];
const options: CtEnableOptions = { database: 'shop', tables, retentionDays: 7, autoCleanup: true, trackColumns: true, agentLogin: 'ctrelay' };

/** The lines of `text` that contain `needle`. */
const linesWith = (text: string, needle: string) => text.split('\n').filter((l) => l.includes(needle));

describe('ctEnableBatches', () => {
  const batches = ctEnableBatches(options);

  it('sets the database options in a batch of their own, before any table is enabled, and grants last', () => {
    expect(batches).toHaveLength(1 + tables.length + 1);
    expect(batches[0]).toMatch(/^USE \[shop\];/);
    expect(batches[0]).toContain('SET CHANGE_TRACKING = ON (CHANGE_RETENTION = 7 DAYS, AUTO_CLEANUP = ON)');
    expect(batches[0]).toContain('SET ALLOW_SNAPSHOT_ISOLATION ON');
    expect(batches[0]).not.toContain('ALTER TABLE');
    for (const b of batches.slice(1, -1)) expect(linesWith(b, 'ENABLE CHANGE_TRACKING')).toHaveLength(1);
    expect(batches.at(-1)).toMatch(/GRANT/);
  });

  it('on a database already tracked, only ever raises the retention and never switches auto cleanup', () => {
    const first = batches[0].split('\n');
    const alters = first.filter((l) => l.includes('SET CHANGE_TRACKING'));
    // the requested settings only where change tracking was off; on a tracked database only a longer retention
    expect(alters).toEqual(['  ALTER DATABASE [shop] SET CHANGE_TRACKING = ON (CHANGE_RETENTION = 7 DAYS, AUTO_CLEANUP = ON);', '    ALTER DATABASE [shop] SET CHANGE_TRACKING (CHANGE_RETENTION = 7 DAYS);']);
    const raise = first.indexOf(alters[1]);
    expect(first[raise - 1]).toBe('  IF @retention_minutes < 10080');
    expect(batches[0]).toContain('CASE retention_period_units WHEN 1 THEN 1 WHEN 2 THEN 60 ELSE 1440 END');
    expect(first[raise + 2]).toMatch(/PRINT N'ct enable: change tracking retention of shop kept: it is already at least 7 days'/);
    // a differing auto cleanup is reported, never altered, either way
    expect(batches[0]).toMatch(/is_auto_cleanup_on FROM sys\.change_tracking_databases WHERE database_id = DB_ID\(\)\) <> 1\n\s+PRINT N'ct enable: AUTO_CLEANUP of shop stays OFF/);
    const off = ctEnableBatches({ ...options, autoCleanup: false, retentionDays: 2 })[0];
    expect(off).toMatch(/is_auto_cleanup_on .*<> 0\n\s+PRINT N'ct enable: AUTO_CLEANUP of shop stays ON/);
    expect(off).toContain('IF @retention_minutes < 2880');
    expect(off.match(/AUTO_CLEANUP = /g)).toHaveLength(1);
  });

  it('guards every step by the catalog views, so running it again is harmless', () => {
    expect(batches[0]).toContain('IF NOT EXISTS (SELECT 1 FROM sys.change_tracking_databases WHERE database_id = DB_ID())');
    expect(batches[0]).toContain('IF (SELECT snapshot_isolation_state FROM sys.databases WHERE database_id = DB_ID()) <> 1');
    for (const b of batches.slice(1, -1)) {
      const lines = b.split('\n');
      const alter = lines.findIndex((l) => l.includes('ENABLE CHANGE_TRACKING'));
      expect(lines[alter - 1]).toMatch(/^IF NOT EXISTS \(SELECT 1 FROM sys\.change_tracking_tables WHERE object_id = OBJECT_ID\(N'.*'\)\)$/);
    }
    expect(batches.at(-1)).toContain("IF USER_ID(N'ctrelay') IS NULL\n  CREATE USER [ctrelay] FOR LOGIN [ctrelay];");
  });

  it('quotes identifiers with [] (] doubled) and literals with N\'\' (\' doubled)', () => {
    const b = batches[2];
    expect(b).toContain("ALTER TABLE [sales].[o'rder]]lines] ENABLE CHANGE_TRACKING WITH (TRACK_COLUMNS_UPDATED = ON);");
    expect(b).toContain("OBJECT_ID(N'[sales].[o''rder]]lines]')");
    expect(ctEnableBatches({ ...options, database: 'we]ird' })[0]).toContain('ALTER DATABASE [we]]ird] SET');
  });

  it('grants the agent SELECT and VIEW CHANGE TRACKING on each table, and what live commit times need once', () => {
    const grants = batches.at(-1)!;
    expect(linesWith(grants, 'GRANT SELECT ON')).toEqual(["GRANT SELECT ON [dbo].[orders] TO [ctrelay];", "GRANT SELECT ON [sales].[o'rder]]lines] TO [ctrelay];"]);
    expect(linesWith(grants, 'GRANT VIEW CHANGE TRACKING ON')).toHaveLength(tables.length);
    expect(linesWith(grants, 'GRANT VIEW DATABASE STATE TO [ctrelay];')).toHaveLength(1);
    // sys.dm_tran_commit_table shows commits since the last CHECKPOINT only with VIEW SERVER STATE,
    // a server permission: granted in master's context, so the batch (and a pooled connection) stays in the database
    expect(grants).toContain("  EXEC master.sys.sp_executesql N'GRANT VIEW SERVER STATE TO [ctrelay];';");
    expect(grants).not.toMatch(/^USE /m);
  });

  it('a refused VIEW SERVER STATE grant (the admin is only db_owner) is reported, not fatal', () => {
    const grants = batches.at(-1)!.split('\n');
    const exec = grants.findIndex((l) => l.includes('GRANT VIEW SERVER STATE'));
    expect(grants[exec - 1]).toBe('BEGIN TRY');
    expect(grants.slice(exec + 1, exec + 3)).toEqual(['END TRY', 'BEGIN CATCH']);
    expect(grants[exec + 3]).toMatch(/^  PRINT N'ct enable: VIEW SERVER STATE not granted .*commit_ts null: ' \+ ERROR_MESSAGE\(\);$/);
    expect(ctEnableScript(options)).toMatch(/^-- .*the VIEW SERVER STATE grant needs a server administrator/);
  });

  it('commitTimes: false grants neither VIEW DATABASE STATE nor VIEW SERVER STATE', () => {
    const grants = ctEnableBatches({ ...options, commitTimes: false }).at(-1)!;
    expect(grants).not.toContain('STATE');
    expect(ctEnableScript({ ...options, commitTimes: false })).not.toContain('server administrator');
  });

  it('without column tracking, cleanup or login', () => {
    const b = ctEnableBatches({ database: 'shop', tables: [tables[0]], retentionDays: 2, autoCleanup: false, trackColumns: false });
    expect(b).toHaveLength(2);
    expect(b[0]).toContain('SET CHANGE_TRACKING = ON (CHANGE_RETENTION = 2 DAYS, AUTO_CLEANUP = OFF);');
    expect(b[1]).toContain('ENABLE CHANGE_TRACKING WITH (TRACK_COLUMNS_UPDATED = OFF);');
    expect(b[1]).toContain('is_track_columns_updated_on <> 0');
    expect(b.join('\n')).not.toContain('GRANT');
  });

  it('validates its input', () => {
    for (const bad of [{ retentionDays: 0 }, { retentionDays: 1.5 }, { tables: [] }]) {
      expect(() => ctEnableBatches({ ...options, ...bad })).toThrow(ConfigError);
    }
  });
});

describe('ctEnableScript', () => {
  it('is the batches, each ended by a GO line, after a comment header', () => {
    const script = ctEnableScript(options);
    const batches = ctEnableBatches(options);
    expect(script).toMatch(/^-- ctrelay: enable change tracking in database shop/);
    expect(script.split('\n').filter((l) => l === 'GO')).toHaveLength(batches.length);
    for (const b of batches) expect(script).toContain(`${b}\nGO\n`);
  });
});

describe('ctDisableScript', () => {
  const script = ctDisableScript({ database: 'shop', tables });

  it('disables each tracked table, guarded, then the database setting once no tracked table remains', () => {
    const lines = script.split('\n');
    for (const q of ['[dbo].[orders]', "[sales].[o'rder]]lines]"]) {
      const at = lines.indexOf(`  ALTER TABLE ${q} DISABLE CHANGE_TRACKING;`);
      expect(at).toBeGreaterThan(0);
      expect(lines[at - 1]).toMatch(/^IF EXISTS \(SELECT 1 FROM sys\.change_tracking_tables WHERE object_id = OBJECT_ID\(N'.*'\)\)$/);
    }
    const off = lines.indexOf('  ALTER DATABASE [shop] SET CHANGE_TRACKING = OFF;');
    const lastTable = Math.max(...lines.map((l, i) => (l.includes('DISABLE CHANGE_TRACKING') ? i : -1)));
    expect(off).toBeGreaterThan(lastTable);
    expect(lines.slice(0, off).join('\n')).toMatch(/IF NOT EXISTS \(SELECT 1 FROM sys\.change_tracking_tables\)\s+AND EXISTS/);
  });

  it('can leave the database setting alone', () => {
    expect(ctDisableScript({ database: 'shop', tables: [tables[0]], databaseOff: false })).not.toContain('SET CHANGE_TRACKING = OFF');
  });
});
