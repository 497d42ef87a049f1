import type { Command } from 'commander';
import { commandGroup, globalOptions, loadCommandConfig } from '../context.ts';

export function register(program: Command): void {
  const group = commandGroup(program, 'config', 'inspect the configuration file');
  group
    .command('check')
    .description('validate the config file and print the effective config (defaults applied, secrets redacted)')
    .option('--json', 'print JSON instead of YAML')
    .addHelpText(
      'after',
      `
Exits 0 when the file is valid, 2 with a message naming the key otherwise.

Examples:
  $ ctrelay config check -c /etc/ctrelay/ctrelay.yaml
  $ CTRELAY_CONFIG=prod.yaml ctrelay config check --json`,
    )
    .action(async (options: { json?: boolean }, cmd: Command) => {
      const [{ stringify }, { redactValue }] = await Promise.all([import('yaml'), import('../../core/redact.ts')]);
      const config = await loadCommandConfig(cmd);
      const safe = redactValue(config);
      process.stdout.write(
        options.json
          ? `${JSON.stringify(safe, null, 2)}\n`
          : `# ${globalOptions(cmd).config}: valid; effective config, secrets redacted\n${stringify(safe)}`,
      );
    });
}
