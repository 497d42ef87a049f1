import type { Command } from 'commander';
import { commandLogger, loadCommandConfig } from '../context.ts';

export function register(program: Command): void {
  const archive = program
    .command('archive')
    .description('archive the change stream as Avro files (full + incremental) for point-in-time restore; `archive list` shows what it holds')
    .option('--http-port <port>', 'HTTP port for /metrics /healthz /readyz (overrides http.archive.port)', (v) => Number(v))
    .addHelpText('after', `
Long-running, like apply: reads complete windows from the batch log and writes them to
archive.target (default ./ctrelay-archive/<kafka.topicPrefix>) as Avro object container files,
one per table and segment (deflate), each record a change-event envelope exactly as on Kafka. A
segment is written once its records reach archive.segmentBytes or its first window is
archive.segmentMs old; then a manifest listing the files (with SHA-256) is written last. After a
crash (kill -9 too) it resumes from the manifest: no window missing, none repeated. It stops by
itself at a fence (ctrelay promote ended the pipeline) after archiving everything before it.
SIGTERM/SIGINT write the open segment and exit 0. Metrics on /metrics: ctrelay_archive_batch_seq,
ctrelay_archive_version, ctrelay_archive_lag_batches.

Exit 0 stopped (a signal, or the pipeline's fence); 2 configuration; 4 Kafka; 6 the archive
belongs to another source or cannot be written.

Examples:
  $ ctrelay archive -c ctrelay.yaml
  $ ctrelay archive list -c ctrelay.yaml
  $ ctrelay archive list --from /backups/erp`)
    .action(async (options: { httpPort?: number }, cmd: Command) => {
      const config = await loadCommandConfig(cmd);
      const { runArchive } = await import('../../archive/run.ts');
      await runArchive(config, commandLogger(cmd, config, 'archive'), { httpPort: options.httpPort });
    });
  archive
    .command('list')
    .description('show the restorable window (oldest and newest version and time) and the files and size per table')
    .option('--from <location>', 'the archive (a directory or s3://bucket/prefix); default: archive.target of the config')
    .addHelpText('after', `
Exit 0 listed; 2 configuration; 6 no archive there; 7 the manifest is unreadable.

Examples:
  $ ctrelay archive list -c ctrelay.yaml
  $ ctrelay archive list --from /backups/erp`)
    .action(async (options: { from?: string }, cmd: Command) => {
      const [{ listArchive, defaultArchiveTarget }, { s3Options }] = await Promise.all([import('../../archive/run.ts'), import('../../archive/create-store.ts')]);
      if (options.from) {
        process.stdout.write(await listArchive(options.from));
        return;
      }
      const config = await loadCommandConfig(cmd);
      process.stdout.write(await listArchive(config.archive.target ?? defaultArchiveTarget(config.kafka.topicPrefix), s3Options(config.archive.s3)));
    });
}
