import type { Command } from 'commander';
import { loadCommandConfig } from '../context.ts';

export function register(program: Command): void {
  program
    .command('status')
    .description('show the source version, the last committed batch and each standby\'s applied batch and lag')
    .option('--json', 'print JSON')
    .addHelpText('after', `
Reads the source, the batch log and the standby's ctrelay_state directly; no agent needs to run.
Exit 0 when everything answered, 1 when the source or the standby could not be read.`)
    .action(async (options: { json?: boolean }, cmd: Command) => {
      const config = await loadCommandConfig(cmd);
      const [{ readStatus, formatStatus }, { createKafkajsPort }] = await Promise.all([import('../../status/status.ts'), import('../../kafka/kafkajs/index.ts')]);
      const kafka = createKafkajsPort({ brokers: config.kafka.brokers, clientId: `${config.kafka.clientId}-status` });
      try {
        const s = await readStatus(config, kafka);
        process.stdout.write(options.json ? JSON.stringify(s, null, 2) + '\n' : formatStatus(s));
        if (s.source.error || s.standby?.error) process.exitCode = 1;
      } finally {
        await kafka.close();
      }
    });
}
