import type { Command } from 'commander';
import { commandLogger, globalOptions, loadCommandConfig } from '../context.ts';

export function register(program: Command): void {
  program
    .command('failback')
    .description('after a promotion, reverse the flow: the promoted database becomes the source, the old primary its standby')
    .requiredOption('-o, --out <file>', 'where to write the reversed configuration')
    .option('--topic-prefix <prefix>', 'kafka.topicPrefix of the reversed pipeline (default: the old one with -r1, -r2, ... appended)')
    .addHelpText('after', `
Run it once \`ctrelay promote\` made the standby the primary. It enables ctrelay's change tracking on
the promoted database's copies of the replicated tables (PostgreSQL) and writes a configuration with
source and standby swapped: the promoted database is the source, the old primary the standby (it is
brought up to date by the new pipeline's initial snapshot). The new file is made from this one's
text: \${ENV} references stay references, no password is written out. Then start capture and apply
with the new file; to return to the original direction, promote the reversed pipeline
(\`ctrelay promote -c <out> --demote-source\`) and fail back again.

Exit 0 written; 2 usage (not promoted yet, a standby that cannot be a source); 3, 5 database errors.

Example:
  $ ctrelay failback -c ctrelay.yaml -o ctrelay.reversed.yaml`)
    .action(async (options: { out: string; topicPrefix?: string }, cmd: Command) => {
      const config = await loadCommandConfig(cmd);
      const log = commandLogger(cmd, config, 'failback');
      const { failback } = await import('../../failover/failback.ts');
      const r = await failback(globalOptions(cmd).config, config, { out: options.out, topicPrefix: options.topicPrefix, warn: (m) => log.warn(m) });
      process.stdout.write(
        `reversed: ${r.out} replicates ${r.tables.length} table(s) from the promoted database to the old primary under topic prefix ${r.topicPrefix}\n` +
          `  change tracking is enabled on the promoted database; start: ctrelay capture -c ${r.out} and ctrelay apply -c ${r.out}\n`,
      );
    });
}
