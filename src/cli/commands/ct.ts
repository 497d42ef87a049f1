import type { Command } from 'commander';
import { commandGroup, loadCommandConfig } from '../context.ts';

interface CtOptions {
  url?: string;
}

/** Tables from the arguments, else source.tables of the config; the URL from --url, else source.url. */
async function target(cmd: Command, tables: string[], options: CtOptions) {
  const { parseTableName } = await import('../../sources/postgres/ct-admin.ts');
  if (options.url && tables.length > 0) return { url: options.url, tables: tables.map((t) => parseTableName(t)) };
  const config = await loadCommandConfig(cmd);
  return {
    url: options.url ?? config.source.url,
    tables: tables.length > 0 ? tables.map((t) => parseTableName(t)) : config.source.tables.map((t) => ({ schema: t.schema, table: t.table })),
  };
}

export function register(program: Command): void {
  const ct = commandGroup(program, 'ct', 'change tracking on the source: enable, disable, status, cleanup (PostgreSQL)');
  ct.command('enable')
    .description("install ctrelay's change tracking on PostgreSQL tables (SQL Server CT semantics)")
    .argument('[tables...]', 'tables as schema.table (default: source.tables of the config)')
    .option('--url <url>', 'source PostgreSQL URL (default: source.url of the config)')
    .addHelpText('after', `
Creates schema "ctrelay" (versions, side tables, triggers) and tracks each table. Idempotent.
A table without a primary key is refused.

Example:
  $ ctrelay ct enable --url postgres://app@db/shop public.orders public.customers`)
    .action(async (tables: string[], options: CtOptions, cmd: Command) => {
      const { ctEnable } = await import('../../sources/postgres/ct-admin.ts');
      const t = await target(cmd, tables, options);
      await ctEnable(t.url, t.tables);
      for (const x of t.tables) process.stdout.write(`change tracking enabled: ${x.schema}.${x.table}\n`);
    });
  ct.command('disable')
    .description('remove change tracking from PostgreSQL tables (their tracked changes are dropped)')
    .argument('[tables...]', 'tables as schema.table (default: source.tables of the config)')
    .option('--url <url>', 'source PostgreSQL URL (default: source.url of the config)')
    .action(async (tables: string[], options: CtOptions, cmd: Command) => {
      const { ctDisable } = await import('../../sources/postgres/ct-admin.ts');
      const t = await target(cmd, tables, options);
      await ctDisable(t.url, t.tables);
      for (const x of t.tables) process.stdout.write(`change tracking disabled: ${x.schema}.${x.table}\n`);
    });
  ct.command('status')
    .description('show the current version and, per tracked table, its min valid version and tracked keys')
    .option('--url <url>', 'source PostgreSQL URL (default: source.url of the config)')
    .option('--json', 'print JSON')
    .action(async (options: CtOptions & { json?: boolean }, cmd: Command) => {
      const { ctStatus } = await import('../../sources/postgres/ct-admin.ts');
      const url = options.url ?? (await loadCommandConfig(cmd)).source.url;
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
      for (const t of s.tables) process.stdout.write(`${t.table}\tmin valid version ${t.minValidVersion}\ttracked keys ${t.trackedKeys}\tsince ${t.enabledAt}\n`);
    });
  ct.command('cleanup')
    .description('forget tracked changes older than the retention period (raises the min valid version)')
    .requiredOption('--retention <interval>', 'PostgreSQL interval, e.g. "7 days" or "2 hours"')
    .option('--url <url>', 'source PostgreSQL URL (default: source.url of the config)')
    .addHelpText('after', `
Run it from cron or a scheduler, as SQL Server's auto cleanup would. A consumer whose cursor is older
than the new min valid version re-snapshots its tables (it never silently skips changes).`)
    .action(async (options: CtOptions & { retention: string }, cmd: Command) => {
      const { ctCleanup } = await import('../../sources/postgres/ct-admin.ts');
      const url = options.url ?? (await loadCommandConfig(cmd)).source.url;
      const v = await ctCleanup(url, options.retention);
      process.stdout.write(v === null ? 'nothing older than the retention period\n' : `changes forgotten up to version ${v}\n`);
    });
}
