import type { Command } from 'commander';
import { commandLogger, loadCommandConfig, parseTableOptions, wholeNumber } from '../context.ts';


export function register(program: Command): void {
  program
    .command('snapshot')
    .description('ask the running capture to re-snapshot tables online, through the normal pipeline')
    .requiredOption('-t, --table <schema.table>', 'a table to re-snapshot, in the source\'s quoting like source.tables (repeatable)', (v: string, acc: string[]) => [...acc, v], [])
    .option('--wait <ms>', 'wait until capture re-snapshotted the tables and the standby applied them (0 = do not wait)', wholeNumber, 600_000)
    .addHelpText('after', `
PostgreSQL sources: each table's change-tracking cursor is invalidated as TRUNCATE does (no row is
touched); the running capture re-snapshots it in its next polls and the applier empties and refills
the standby table inside its ordinary windows, exactly once. While the snapshot spans several
windows the standby shows the rows copied so far. SQL Server sources and key ranges: not yet.

Exit 0 once applied (or requested, with --wait 0); 1 when capture or the standby did not finish in
time; 2 usage; 3 source errors.

Example:
  $ ctrelay snapshot -c ctrelay.yaml -t public.orders`)
    .action(async (options: { table: string[]; wait: number }, cmd: Command) => {
      const config = await loadCommandConfig(cmd);
      const log = commandLogger(cmd, config, 'snapshot');
      const [{ requestResnapshot }, { createKafkajsPort }] = await Promise.all([import('../../snapshot/request.ts'), import('../../kafka/kafkajs/index.ts')]);
      const tables = await parseTableOptions(options.table, config.source.kind);
      const kafka = createKafkajsPort({ brokers: config.kafka.brokers, clientId: `${config.kafka.clientId}-snapshot` });
      try {
        await requestResnapshot(config, tables, kafka, { waitMs: options.wait, reason: 'requested by ctrelay snapshot', progress: (m) => process.stdout.write(`${m}\n`) });
      } finally {
        await kafka.close();
      }
      log.debug('snapshot done');
    });
}
