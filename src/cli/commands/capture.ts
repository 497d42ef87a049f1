import type { Command } from 'commander';
import { commandLogger, loadCommandConfig } from '../context.ts';

export function register(program: Command): void {
  program
    .command('capture')
    .description('run the capture agent: source change tracking -> Avro change events on Kafka, exactly once')
    .option('--http-port <port>', 'HTTP port for /metrics /healthz /readyz /v1/wait (overrides http.capture.port)', (v) => Number(v))
    .addHelpText('after', `
Each poll reads the source in one snapshot transaction at one version and publishes it, with its
batch-log record, in one Kafka transaction. Restarts resume from the last committed batch record.
SIGTERM/SIGINT finish the current batch and exit 0.

Example:
  $ ctrelay capture -c ctrelay.yaml`)
    .action(async (options: { httpPort?: number }, cmd: Command) => {
      const config = await loadCommandConfig(cmd);
      const { runCapture } = await import('../../capture/run.ts');
      await runCapture(config, commandLogger(cmd, config), { httpPort: options.httpPort });
    });
}
