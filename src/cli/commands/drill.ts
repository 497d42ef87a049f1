import { InvalidArgumentError, type Command } from 'commander';
import { commandLogger, duration, loadCommandConfig, wholeNumber } from '../context.ts';

interface DrillCliOptions {
  kind: 'planned' | 'unplanned';
  objectiveRpo?: number;
  objectiveRto?: number;
  cutWithin: number;
  wait: number;
  report?: string;
  json?: string;
}

export function register(program: Command): void {
  program
    .command('drill')
    .description('run a failover while the workload runs and measure RPO and RTO: a report, exit 1 when an objective is missed')
    .requiredOption('--kind <planned|unplanned>', 'planned: switchover with the source demoted; unplanned: the source cut off at a random moment', (v: string) => {
      if (v !== 'planned' && v !== 'unplanned') throw new InvalidArgumentError('expected planned or unplanned');
      return v;
    })
    .option('--objective-rpo <duration>', 'most data loss allowed, e.g. 1s (from the first lost commit to the cut)', duration)
    .option('--objective-rto <duration>', 'longest time allowed from the cut to a promoted, writable standby, e.g. 5s', duration)
    .option('--cut-within <duration>', 'unplanned: the cut comes at a random moment within this time', duration, 10_000)
    .option('--wait <ms>', 'how long the applier may take to drain', wholeNumber, 120_000)
    .option('--report <file>', 'write the report as Markdown')
    .option('--json <file>', 'write the report as JSON')
    .addHelpText('after', `
A drill really fails over: run it on a staging pair or the demo's databases, with capture, apply and
the workload running. The standby ends promoted and the pipeline fenced; \`ctrelay failback\`
reverses the flow afterwards.

planned:   ctrelay promote --demote-source (drain to the source's last version, verify, switch).
unplanned: at a random moment the pipeline is cut from the source (capture fenced) and the standby
           promoted with what Kafka holds, as after losing the primary.
RPO is counted from the source's change tracking after the fact (the changes committed by the cut
that the promoted standby lacks, and the time from the first of them to the cut); the acks topic
shows whether any write a standby had acknowledged (what /v1/wait returned for) is missing. RTO runs
from the cut to the standby promoted and writable.

Exit 0 objectives met; 1 an objective missed or an acknowledged write lost; 2 usage; 3, 4, 5 errors.

Example:
  $ ctrelay drill -c staging.yaml --kind unplanned --objective-rpo 1s --objective-rto 5s --report drill.md`)
    .action(async (options: DrillCliOptions, cmd: Command) => {
      const config = await loadCommandConfig(cmd);
      const log = commandLogger(cmd, config, 'drill');
      const [{ drill }, { drillMarkdown, drillSummary }, { createKafkajsPort }, { verifiesEqual }, { writeFile }] = await Promise.all([
        import('../../failover/drill.ts'), import('../../failover/drill-report.ts'), import('../../kafka/kafkajs/index.ts'),
        import('../../verify/run.ts'), import('node:fs/promises'),
      ]);
      const kafka = createKafkajsPort({ brokers: config.kafka.brokers, clientId: `${config.kafka.clientId}-drill` });
      try {
        const report = await drill(config, kafka, {
          kind: options.kind,
          cutWithinMs: options.cutWithin,
          objectiveRpoMs: options.objectiveRpo,
          objectiveRtoMs: options.objectiveRto,
          waitMs: options.wait,
          log,
          progress: (m) => process.stderr.write(`drill: ${m}\n`),
          runVerify: () => verifiesEqual(config, log),
        });
        if (options.json) await writeFile(options.json, JSON.stringify(report, null, 2) + '\n');
        if (options.report) await writeFile(options.report, drillMarkdown(report));
        process.stdout.write(drillSummary(report));
        if (!report.met) process.exitCode = 1;
      } finally {
        await kafka.close();
      }
    });
}
