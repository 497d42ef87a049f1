import type { Command } from 'commander';
import { ConfigError } from '../../core/errors.ts';
import { commandLogger, loadCommandConfig, parseTableOptions, wholeNumber } from '../context.ts';


export function register(program: Command): void {
  program
    .command('snapshot')
    .description('ask the running capture to re-snapshot tables (or a key range) online, through the normal pipeline')
    .requiredOption('-t, --table <schema.table>', 'a table to re-snapshot, in the source\'s quoting like source.tables (repeatable)', (v: string, acc: string[]) => [...acc, v], [])
    .option('--keys <from..to>', 'only the source rows whose key is between from and to, inclusive (one --table); composite keys as JSON arrays')
    .option('--wait <ms>', 'wait until capture re-snapshotted the tables and the standby applied them (0 = do not wait)', wholeNumber, 600_000)
    .addHelpText('after', `
PostgreSQL sources: each table's change-tracking cursor is invalidated as TRUNCATE does (no row is
touched); the running capture re-snapshots it in its next polls and the applier empties and refills
the standby table inside its ordinary windows, exactly once. While the snapshot spans several
windows the standby shows the rows copied so far.

With --keys, only the rows of that key range are sent again: they are marked changed in the change
tracking (the rows themselves are not touched) and capture sends them like updates; the standby
table is not emptied, so rows the standby holds in that range but the source does not are left as
they are (\`ctrelay verify --repair\` names and removes those). Bounds are in the key columns' own
input form and order: 100..200, ..500, 2026-01-01.., ["eu",1]..["eu",900].

SQL Server sources: not yet.

Exit 0 once applied (or requested, with --wait 0); 1 when capture or the standby did not finish in
time; 2 usage; 3 source errors.

Examples:
  $ ctrelay snapshot -c ctrelay.yaml -t public.orders
  $ ctrelay snapshot -c ctrelay.yaml -t public.orders --keys 1000..2000`)
    .action(async (options: { table: string[]; keys?: string; wait: number }, cmd: Command) => {
      const config = await loadCommandConfig(cmd);
      const log = commandLogger(cmd, config, 'snapshot');
      const tables = await parseTableOptions(options.table, config.source.kind);
      const progress = (m: string) => process.stdout.write(`${m}\n`);
      const request = await import('../../snapshot/request.ts');
      if (options.keys !== undefined) {
        if (tables.length !== 1) throw new ConfigError(`--keys: give exactly one --table with a key range (got ${tables.length})`);
        const { parseKeyRange } = await import('../../snapshot/key-range.ts');
        await request.requestKeyResnapshot(config, tables[0], parseKeyRange(options.keys), { waitMs: options.wait, reason: 'requested by ctrelay snapshot --keys', progress });
      } else {
        const { createKafkajsPort } = await import('../../kafka/kafkajs/index.ts');
        const kafka = createKafkajsPort({ brokers: config.kafka.brokers, clientId: `${config.kafka.clientId}-snapshot` });
        try {
          await request.requestResnapshot(config, tables, kafka, { waitMs: options.wait, reason: 'requested by ctrelay snapshot', progress });
        } finally {
          await kafka.close();
        }
      }
      log.debug('snapshot done');
    });
}
