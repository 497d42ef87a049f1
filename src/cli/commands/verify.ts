import type { Command } from 'commander';
import { commandLogger, loadCommandConfig, parseTableOptions, wholeNumber } from '../context.ts';

type VerifyCliOptions = Omit<import('../../verify/run.ts').VerifyOptions, 'tables' | 'waitMs' | 'progress' | 'repair' | 'repairWaitMs'> & {
  table: string[];
  wait: number;
  progress?: boolean;
  repair?: boolean;
  repairWait: number;
};


export function register(program: Command): void {
  program
    .command('verify')
    .description('prove the standby equals the source: chunked checksums inside both databases, bisection down to the differing rows')
    .option('-t, --table <schema.table>', 'a table to verify, in the source\'s quoting like source.tables (repeatable; default: all of source.tables)', (v: string, acc: string[]) => [...acc, v], [])
    .option('--json <file>', 'write the full report as JSON')
    .option('--metrics-file <file>', 'write the last run\'s figures in Prometheus text format (node_exporter textfile collector)')
    .option('--chunk-rows <n>', 'rows per checksum chunk', wholeNumber, 10_000)
    .option('--attempts <n>', 'times a differing row is re-read once the standby has caught up, before it counts', wholeNumber, 5)
    .option('--no-lock', 'never share-lock source rows that keep changing (they are then reported as not proven)')
    .option('--max-chunks-per-second <n>', 'bound the read rate on a busy primary (0 = unbounded)', wholeNumber, 0)
    .option('--wait <ms>', 'how long to wait for the standby to apply a version while settling in-flight rows', wholeNumber, 60_000)
    .option('--progress', 'progress on stderr (default: when stderr is a terminal)')
    .option('--repair', 'send the differing rows again through the running capture and applier (PostgreSQL sources), then verify those tables again')
    .option('--repair-wait <ms>', 'how long --repair waits for capture and the standby to complete the re-snapshot', wholeNumber, 600_000)
    .addHelpText('after', `
Runs while capture and apply run, without long transactions on the source: each chunk of
--chunk-rows rows is compared inside a short snapshot on each side by count and checksum
(computed in the databases over a canonical text of every value, the same on PostgreSQL and
MariaDB); a chunk that differs is halved until its rows can be listed. A row that differs is
re-read once the standby has applied the source version it was read at; a row the source changed
since the standby's version is in flight, not a difference. A row that keeps changing gets one
last attempt with a short shared row lock on the source (--no-lock: reported as not proven).
--repair sends the differing rows again through the running capture and applier (their keys are
marked changed on the source, as \`ctrelay snapshot --keys\` does; a table missing on the standby or
with more differences than verify names is re-snapshotted whole), waits until the standby applied
them, and verifies those tables again.

Exit codes: 0 equal; 1 differences, each named by table, key and columns (or rows not proven);
2 usage; 3 source, 4 Kafka, 5 standby errors.

Examples:
  $ ctrelay verify -c ctrelay.yaml
  $ ctrelay verify -c ctrelay.yaml -t public.orders --json verify.json
  $ ctrelay verify -c ctrelay.yaml --repair`)
    .action(async (options: VerifyCliOptions, cmd: Command) => {
      const config = await loadCommandConfig(cmd);
      const [{ runVerify }, { ConfigError }] = await Promise.all([import('../../verify/run.ts'), import('../../core/errors.ts')]);
      const tables = await parseTableOptions(options.table, config.source.kind);
      if (options.chunkRows < 2) throw new ConfigError('--chunk-rows: at least 2');
      const { exitCode } = await runVerify(config, commandLogger(cmd, config, 'verify'), {
        tables,
        json: options.json,
        metricsFile: options.metricsFile,
        chunkRows: options.chunkRows,
        attempts: options.attempts,
        lock: options.lock,
        maxChunksPerSecond: options.maxChunksPerSecond,
        waitMs: options.wait,
        progress: options.progress ?? process.stderr.isTTY === true,
        repair: options.repair === true,
        repairWaitMs: options.repairWait,
      });
      process.exitCode = exitCode;
    });
}
