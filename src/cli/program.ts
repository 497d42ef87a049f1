import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { LOG_LEVELS } from '../log/logger.ts';
import { redact } from '../core/redact.ts';

export const DEFAULT_CONFIG_FILE = 'ctrelay.yaml';

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/**
 * The root command with the global options. Settings made here (exitOverride, output, help) are
 * inherited by every subcommand created with `.command()`, so they must be made before the
 * command files register.
 */
export function createProgram(): Command {
  const program = new Command('ctrelay')
    .description(
      'Change-data-capture relay: change tracking -> Avro on Kafka -> transaction-consistent standby database',
    )
    .version(packageVersion(), '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show help for a command')
    .addOption(
      new Option('-c, --config <file>', 'config file (YAML)').env('CTRELAY_CONFIG').default(DEFAULT_CONFIG_FILE),
    )
    .addOption(new Option('--log-level <level>', 'log level, overrides log.level of the config').choices(LOG_LEVELS))
    // Commander exits by itself; we throw instead so main() maps every outcome to one exit code.
    .exitOverride()
    .showHelpAfterError('(add --help for usage)')
    .configureHelp({ showGlobalOptions: true, sortSubcommands: true })
    .configureOutput({
      writeOut: (text) => process.stdout.write(text),
      // Usage errors echo what the user typed, which may be a connection string.
      writeErr: (text) => process.stderr.write(redact(text)),
    });
  program.addHelpText(
    'after',
    `
Every command takes --help. Exit codes: 0 ok, 1 failure, 2 bad usage or config, 3 source,
4 Kafka, 5 standby, 70 internal error (a bug).`,
  );
  return program;
}
