import type { Command } from 'commander';
import { formatTableName } from '../../core/identifiers.ts';
import { commandGroup, loadCommandConfig } from '../context.ts';

interface CtOptions {
  url?: string;
}

interface SqlServerEnableOptions extends CtOptions {
  retentionDays?: string;
  agentUser?: string;
  trackColumns: boolean;
  autoCleanup: boolean;
  execute?: boolean;
}

interface SqlServerDisableOptions extends CtOptions {
  keepDatabaseSetting?: boolean;
  execute?: boolean;
}

type SourceKind = 'postgres' | 'sqlserver';

interface Target {
  kind: SourceKind;
  url: string;
  tables: { schema: string; table: string }[];
}

const DEFAULT_RETENTION_DAYS = 7;

/** postgres or sqlserver, from the URL's scheme (mssql://, sqlserver://, postgres://, postgresql://). */
async function kindOfUrl(url: string): Promise<SourceKind> {
  const { parseConnectionUrl } = await import('../../config/connection-url.ts');
  const { ConfigError } = await import('../../core/errors.ts');
  const parts = parseConnectionUrl(url);
  if (typeof parts === 'string') throw new ConfigError(`--url / source.url: ${parts}`);
  if (parts.kind === 'mariadb') throw new ConfigError('ct works on a source database: PostgreSQL (postgres://) or SQL Server (mssql://), not MariaDB');
  return parts.kind;
}

/**
 * Tables from the arguments, else source.tables of the config; the URL from --url, else source.url.
 * Arguments are read with the source's identifier rules (src/core/identifiers.ts), as source.tables
 * is; a table without a schema is in public (PostgreSQL) or dbo (SQL Server).
 */
async function target(cmd: Command, tables: string[], options: CtOptions): Promise<Target> {
  const { parseTableName, DEFAULT_SCHEMA, IdentifierError } = await import('../../core/identifiers.ts');
  const { ConfigError } = await import('../../core/errors.ts');
  let url = options.url;
  let configured: { schema: string; table: string }[] = [];
  if (!url || tables.length === 0) {
    const config = await loadCommandConfig(cmd);
    url ??= config.source.url;
    configured = config.source.tables.map((t) => ({ schema: t.schema, table: t.table }));
  }
  const kind = await kindOfUrl(url);
  const parse = (t: string) => {
    try {
      return parseTableName(t, kind, DEFAULT_SCHEMA[kind]);
    } catch (err) {
      if (err instanceof IdentifierError) throw new ConfigError(`table argument: ${err.message}`);
      throw err;
    }
  };
  return { kind, url, tables: tables.length > 0 ? tables.map(parse) : configured };
}

async function sourceUrl(cmd: Command, options: CtOptions): Promise<string> {
  return options.url ?? (await loadCommandConfig(cmd)).source.url;
}

async function refuseSqlServerOnly(given: Record<string, unknown>): Promise<void> {
  const { ConfigError } = await import('../../core/errors.ts');
  for (const [flag, value] of Object.entries(given)) {
    if (value !== undefined && value !== false) throw new ConfigError(`${flag} applies to SQL Server sources only (mssql:// URLs); PostgreSQL change tracking is installed directly`);
  }
}

async function refusePostgresOnly(command: string, url: string): Promise<void> {
  if ((await kindOfUrl(url)) !== 'sqlserver') return;
  const { ConfigError } = await import('../../core/errors.ts');
  throw new ConfigError(
    `ct ${command} is for PostgreSQL sources; on SQL Server ` +
      (command === 'status'
        ? 'query sys.change_tracking_tables and CHANGE_TRACKING_CURRENT_VERSION()'
        : 'the database\'s AUTO_CLEANUP removes changes older than CHANGE_RETENTION (set with `ct enable --retention-days`)'),
  );
}

/** Runs T-SQL batches one by one on the URL's database; PRINT output goes to stdout. */
async function runSqlServerBatches(url: string, batches: string[], what: string): Promise<void> {
  const { runSqlServerBatches: run } = await import('../../sources/sqlserver/run-batches.ts');
  await run(url, batches, { what, onInfo: (message) => process.stdout.write(`${message}\n`) });
}

export function register(program: Command): void {
  const ct = commandGroup(program, 'ct', 'change tracking on the source: enable, disable (PostgreSQL, SQL Server), status, cleanup (PostgreSQL)');
  ct.command('enable')
    .description('turn change tracking on for source tables: installs ctrelay\'s change tracking on PostgreSQL; prints (or runs) the T-SQL for SQL Server')
    .argument('[tables...]', 'tables as schema.table in the source\'s quoting, like source.tables (default: source.tables of the config; schema defaults to public / dbo)')
    .option('--url <url>', 'source URL, postgres://... or mssql://... (default: source.url of the config)')
    .option('--retention-days <days>', `SQL Server: CHANGE_RETENTION in days; must exceed the longest agent downtime (default ${DEFAULT_RETENTION_DAYS})`)
    .option('--agent-user <name>', 'SQL Server: login of the capture agent; creates its database user and grants SELECT, VIEW CHANGE TRACKING, VIEW DATABASE STATE and (for live commit times; printed when not allowed) VIEW SERVER STATE')
    .option('--no-track-columns', 'SQL Server: TRACK_COLUMNS_UPDATED = OFF (events then carry no changed_columns)')
    .option('--no-auto-cleanup', 'SQL Server: AUTO_CLEANUP = OFF (change history then grows until cleaned up by hand)')
    .option('--execute', 'SQL Server: run the script through the URL\'s connection instead of printing it (needs db_owner)')
    .addHelpText('after', `
PostgreSQL (postgres://): creates schema "ctrelay" (versions, side tables, triggers) and tracks each
table, right away. Idempotent. A table without a primary key is refused.

SQL Server (mssql:// or sqlserver://): prints the idempotent T-SQL script (GO-separated, for sqlcmd
or SSMS) that turns CHANGE_TRACKING and ALLOW_SNAPSHOT_ISOLATION on for the URL's database and
ENABLE CHANGE_TRACKING on each table; with --execute it runs the same batches instead. Nothing is
sent to the server without --execute.

Table names are written as in source.tables: PostgreSQL "double quotes" ("" inside; unquoted names
fold to lower case), SQL Server [brackets] (]] inside) or "double quotes"; quote them for the shell.

Examples:
  $ ctrelay ct enable --url postgres://app@db/shop public.orders public.customers
  $ ctrelay ct enable --url postgres://app@db/shop '"Sales Ops"."Order Lines"' '"MixedCase".select'
  $ ctrelay ct enable --url 'mssql://admin:***@sql1/shop' --agent-user ctrelay dbo.orders > enable.sql
  $ ctrelay ct enable --url 'mssql://admin:***@sql1/shop' --retention-days 3 --execute dbo.orders`)
    .action(async (tables: string[], options: SqlServerEnableOptions, cmd: Command) => {
      const t = await target(cmd, tables, options);
      if (t.kind === 'sqlserver') {
        const { ctEnableBatches, ctEnableScript } = await import('../../sources/sqlserver/enable.ts');
        const { parseSqlServerUrl } = await import('../../drivers/sqlserver/url.ts');
        const opts = {
          database: parseSqlServerUrl(t.url).config.database!,
          tables: t.tables,
          retentionDays: options.retentionDays === undefined ? DEFAULT_RETENTION_DAYS : Number(options.retentionDays),
          autoCleanup: options.autoCleanup,
          trackColumns: options.trackColumns,
          agentLogin: options.agentUser,
        };
        if (!options.execute) {
          process.stdout.write(ctEnableScript(opts));
          return;
        }
        await runSqlServerBatches(t.url, ctEnableBatches(opts), 'ct enable');
        for (const x of t.tables) process.stdout.write(`change tracking enabled: ${formatTableName(x, t.kind)}\n`);
        return;
      }
      await refuseSqlServerOnly({ '--retention-days': options.retentionDays, '--agent-user': options.agentUser, '--execute': options.execute });
      const { ctEnable } = await import('../../sources/postgres/ct-admin.ts');
      await ctEnable(t.url, t.tables);
      for (const x of t.tables) process.stdout.write(`change tracking enabled: ${formatTableName(x, t.kind)}\n`);
    });
  ct.command('disable')
    .description('turn change tracking off for source tables (their tracked changes are dropped)')
    .argument('[tables...]', 'tables as schema.table in the source\'s quoting, like source.tables (default: source.tables of the config; schema defaults to public / dbo)')
    .option('--url <url>', 'source URL, postgres://... or mssql://... (default: source.url of the config)')
    .option('--keep-database-setting', 'SQL Server: leave CHANGE_TRACKING on for the database even when no tracked table remains')
    .option('--execute', 'SQL Server: run the script instead of printing it')
    .addHelpText('after', `
PostgreSQL: drops the tables' triggers and side tables right away.
SQL Server: prints the T-SQL (ALTER TABLE ... DISABLE CHANGE_TRACKING, then the database setting off
when no tracked table remains); --execute runs it. Snapshot isolation is left on.`)
    .action(async (tables: string[], options: SqlServerDisableOptions, cmd: Command) => {
      const t = await target(cmd, tables, options);
      if (t.kind === 'sqlserver') {
        const { ctDisableScript } = await import('../../sources/sqlserver/enable.ts');
        const { parseSqlServerUrl } = await import('../../drivers/sqlserver/url.ts');
        const script = ctDisableScript({ database: parseSqlServerUrl(t.url).config.database!, tables: t.tables, databaseOff: !options.keepDatabaseSetting });
        if (!options.execute) {
          process.stdout.write(script);
          return;
        }
        // one batch: the script has no GO, and USE + ALTER TABLE/ALTER DATABASE may share a batch
        await runSqlServerBatches(t.url, [script], 'ct disable');
        for (const x of t.tables) process.stdout.write(`change tracking disabled: ${formatTableName(x, t.kind)}\n`);
        return;
      }
      await refuseSqlServerOnly({ '--keep-database-setting': options.keepDatabaseSetting, '--execute': options.execute });
      const { ctDisable } = await import('../../sources/postgres/ct-admin.ts');
      await ctDisable(t.url, t.tables);
      for (const x of t.tables) process.stdout.write(`change tracking disabled: ${formatTableName(x, t.kind)}\n`);
    });
  ct.command('status')
    .description('PostgreSQL: show the current version and, per tracked table, its min valid version and tracked keys')
    .option('--url <url>', 'source PostgreSQL URL (default: source.url of the config)')
    .option('--json', 'print JSON')
    .action(async (options: CtOptions & { json?: boolean }, cmd: Command) => {
      const url = await sourceUrl(cmd, options);
      await refusePostgresOnly('status', url);
      const { ctStatus } = await import('../../sources/postgres/ct-admin.ts');
      const s = await ctStatus(url);
      if (options.json) {
        process.stdout.write(JSON.stringify(s, (_k, v) => (typeof v === 'bigint' ? v.toString() : v), 2) + '\n');
        return;
      }
      if (!s.installed) {
        process.stdout.write('change tracking is not installed in this database\n');
        return;
      }
      process.stdout.write(`current version: ${s.currentVersion}\n`);
      process.stdout.write(`event triggers (DDL rewrites, trigger toggles): ${s.eventTriggers ? 'installed' : 'MISSING'}\n`);
      for (const t of s.tables) {
        const state = t.triggersOk ? 'tracking on' : 'TRACKING OFF (run `ctrelay ct enable` for it)';
        const reset = t.resetReason ? `\tlast reset: ${t.resetReason}` : '';
        process.stdout.write(`${t.table}\t${state}\tmin valid version ${t.minValidVersion}\ttracked keys ${t.trackedKeys}\tsince ${t.enabledAt}${reset}\n`);
      }
      for (const w of s.warnings) process.stderr.write(`warning: ${w}\n`);
    });
  ct.command('cleanup')
    .description('PostgreSQL: forget tracked changes older than the retention period (raises the min valid version)')
    .requiredOption('--retention <interval>', 'PostgreSQL interval, e.g. "7 days" or "2 hours"')
    .option('--url <url>', 'source PostgreSQL URL (default: source.url of the config)')
    .addHelpText('after', `
Run it from cron or a scheduler, as SQL Server's auto cleanup would. A consumer whose cursor is older
than the new min valid version re-snapshots its tables (it never silently skips changes).
SQL Server cleans up by itself (AUTO_CLEANUP, CHANGE_RETENTION); this command refuses mssql:// URLs.`)
    .action(async (options: CtOptions & { retention: string }, cmd: Command) => {
      const url = await sourceUrl(cmd, options);
      await refusePostgresOnly('cleanup', url);
      const { ctCleanup } = await import('../../sources/postgres/ct-admin.ts');
      const v = await ctCleanup(url, options.retention);
      process.stdout.write(v === null ? 'nothing older than the retention period\n' : `changes forgotten up to version ${v}\n`);
    });
}
