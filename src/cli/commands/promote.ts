import type { Command } from 'commander';
import { commandLogger, loadCommandConfig, wholeNumber } from '../context.ts';

interface PromoteCliOptions {
  force?: boolean;
  demoteSource?: boolean;
  verify: boolean;
  wait: number;
  json?: string;
}

export function register(program: Command): void {
  program
    .command('promote')
    .description('make the standby the primary: drain, verify, fence the old pipeline, move sequences, lift write protection')
    .option('--force', 'the source is gone: apply every complete batch Kafka holds, then switch (changes not yet captured are lost)')
    .option('--demote-source', 'planned: first make the source refuse writes (new sessions read-only, application sessions ended)')
    .option('--no-verify', 'planned: switch without verifying the standby against the source first')
    .option('--wait <ms>', 'how long to wait for capture and the applier to bring the standby up to date', wholeNumber, 120_000)
    .option('--json <file>', 'write the promotion report as JSON')
    .addHelpText('after', `
Planned (default; the source answers): with --demote-source the source stops taking writes; its
change-tracking version V is read; capture and the applier (both must be running) bring the standby
to V; the standby is verified (ctrelay verify) and only promoted when equal: RPO 0. Without
--demote-source, stop the writers yourself first: what commits on the source after V is not on the
promoted standby (the report shows the source version at the end).

Forced (--force; the source is not asked anything): the applier (must be running) applies every
complete batch Kafka holds; the report names the last source version and commit time the promoted
standby holds.

Then, in both: a fence record in the batch log stops capture (a running one is fenced, a restarted
one refuses); the standby is marked promoted in ctrelay_state (the applier stops, and refuses to
start again); every sequence, identity and auto-increment counter of the replicated tables is moved
past the source's values; the standby's write protection (standby.protect) is lifted.
Interrupted after the fence, run promote again: every step is idempotent.

Exit 0 promoted; 1 not promoted (the standby differs, or a wait ran out); 2 usage; 3 source,
4 Kafka, 5 standby errors.

Examples:
  $ ctrelay promote -c ctrelay.yaml --demote-source
  $ ctrelay promote -c ctrelay.yaml --force --json promote.json`)
    .action(async (options: PromoteCliOptions, cmd: Command) => {
      const config = await loadCommandConfig(cmd);
      const log = commandLogger(cmd, config, 'promote');
      const [{ promote }, { formatPromoteReport }, { createKafkajsPort }, { verifiesEqual }, { writeFile }] = await Promise.all([
        import('../../failover/promote.ts'), import('../../failover/report.ts'), import('../../kafka/kafkajs/index.ts'),
        import('../../verify/run.ts'), import('node:fs/promises'),
      ]);
      const kafka = createKafkajsPort({ brokers: config.kafka.brokers, clientId: `${config.kafka.clientId}-promote` });
      try {
        const report = await promote(config, kafka, {
          force: options.force === true,
          demoteSource: options.demoteSource === true,
          verify: options.verify,
          waitMs: options.wait,
          log,
          progress: (m) => process.stderr.write(`promote: ${m}\n`),
          runVerify: () => verifiesEqual(config, log),
        });
        if (options.json) await writeFile(options.json, JSON.stringify(report, null, 2) + '\n');
        process.stdout.write(formatPromoteReport(report));
      } finally {
        await kafka.close();
      }
    });
}
