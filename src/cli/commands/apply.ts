import type { Command } from 'commander';
import { commandLogger, loadCommandConfig } from '../context.ts';

export function register(program: Command): void {
  program
    .command('apply')
    .description('run the replica applier: complete batches from Kafka -> one standby transaction each, exactly once')
    .option('--http-port <port>', 'HTTP port for /metrics /healthz /readyz (overrides http.apply.port)', (v) => Number(v))
    .addHelpText('after', `
Reads the batch log in order, fetches each complete window's events by the offsets it lists and
applies them, with the ctrelay_state row, in one standby transaction. Restarts resume from that
row. A change that cannot be applied stops the applier with an error naming table, key and batch;
nothing after it is applied. SIGTERM/SIGINT finish the current transaction and exit 0.

Example:
  $ ctrelay apply -c ctrelay.yaml`)
    .action(async (options: { httpPort?: number }, cmd: Command) => {
      const config = await loadCommandConfig(cmd);
      const { runApply } = await import('../../apply/run.ts');
      await runApply(config, commandLogger(cmd, config), { httpPort: options.httpPort });
    });
}
