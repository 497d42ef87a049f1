import type { Command } from 'commander';
import { commandLogger, loadCommandConfig } from '../context.ts';
import { time, version } from './restore.ts';

export function register(program: Command): void {
  const archive = program
    .command('archive')
    .description('archive the change stream as Avro files (full + incremental) for point-in-time restore; `archive list` shows what it holds')
    .option('--http-port <port>', 'HTTP port for /metrics /healthz /readyz (overrides http.archive.port)', (v) => Number(v))
    .addHelpText('after', `
Long-running, like apply: reads complete windows from the batch log and writes them to
archive.target (default ./ctrelay-archive/<kafka.topicPrefix>) as Avro object container files,
one per table and segment (archive.codec: deflate or snappy), each record a change-event envelope exactly as on Kafka. A
segment is written once its records reach archive.segmentBytes or its first window is
archive.segmentMs old; then a manifest listing the files (with SHA-256) is written last. After a
crash (kill -9 too) it resumes from the manifest: no window missing, none repeated. It stops by
itself at a fence (ctrelay promote ended the pipeline) after archiving everything before it.
With archive.retention.fulls = N it keeps the N newest fulls (see archive compact) and deletes
what no restore after the oldest of them needs. SIGTERM/SIGINT write the open segment and exit 0. Metrics on /metrics: ctrelay_archive_batch_seq,
ctrelay_archive_version, ctrelay_archive_lag_batches.

Exit 0 stopped (a signal, or the pipeline's fence); 2 configuration; 4 Kafka; 6 the archive
belongs to another source or cannot be written.

Examples:
  $ ctrelay archive -c ctrelay.yaml
  $ ctrelay archive list -c ctrelay.yaml
  $ ctrelay archive compact -c ctrelay.yaml`)
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
  archive
    .command('compact')
    .description('write a synthetic full at an archived window, merged from the previous full and the incrementals (reads the archive only, never the source)')
    .option('--from <location>', 'the archive (a directory or s3://bucket/prefix); default: archive.target of the config')
    .option('--to-version <V>', 'at the newest archived window whose source version is <= V', version)
    .option('--to-time <T>', 'at the newest archived window committed at or before T (ISO-8601)', time)
    .option('--latest', 'at the last archived window (the default)')
    .option('--json', 'print the result as JSON')
    .addHelpText('after', `
A synthetic full holds, per table, its net rows at the window (each row's last change event,
byte for byte as archived), under fulls/<batch>/ beside the segments, with its own manifest
written last. Restores at or after that window start from it instead of the table's snapshot and
replay only the incrementals after it. Safe to run while ctrelay archive runs (from cron, or on
another machine): the two never write the same object. A table whose snapshot was running at the
window is left out (it restores from its own snapshot) and named. Running it again at the same
window does nothing. With archive.retention.fulls = N, the archiver then keeps the N newest fulls
and deletes what no restore after the oldest of them needs.

Exit 0 written (or already there); 2 configuration; 6 no archive there or no such window;
7 a file is corrupt (named).

Examples:
  $ ctrelay archive compact -c ctrelay.yaml
  $ ctrelay archive compact --from s3://backups/erp --to-time 2026-12-01T00:00:00Z`)
    .action(async (o: { from?: string; toVersion?: bigint; toTime?: Date; latest?: boolean; json?: boolean }, cmd: Command) => {
      const [{ compact }, { defaultArchiveTarget }, { s3Options }, { ConfigError }] = await Promise.all([
        import('../../archive/compact.ts'), import('../../archive/run.ts'), import('../../archive/create-store.ts'), import('../../core/errors.ts'),
      ]);
      if ([o.toVersion !== undefined, o.toTime !== undefined, o.latest === true].filter(Boolean).length > 1) {
        throw new ConfigError('archive compact: give at most one of --to-version, --to-time, --latest');
      }
      const config = o.from ? null : await loadCommandConfig(cmd);
      const tty = process.stderr.isTTY === true;
      const r = await compact({
        from: o.from ?? config!.archive.target ?? defaultArchiveTarget(config!.kafka.topicPrefix),
        point: o.toVersion !== undefined ? { kind: 'version', version: o.toVersion } : o.toTime ? { kind: 'time', at: o.toTime } : { kind: 'latest' },
        codec: config?.archive.codec,
        s3: config ? s3Options(config.archive.s3) : {},
        progress: tty ? (m) => process.stderr.write(`compact: ${m}\n`) : undefined,
      });
      if (o.json) {
        process.stdout.write(JSON.stringify(r) + '\n');
        return;
      }
      const rows = r.tables.reduce((a, t) => a + t.rows, 0);
      const head = r.existed ? 'a synthetic full is already there' : 'synthetic full written';
      const lines = [`${head} at version ${r.window.version} (batch ${r.window.seq}, committed ${r.window.commitTs ?? 'at an unknown time'}): ${r.tables.length} tables, ${rows} rows, in ${r.location}`];
      for (const sk of r.skipped) lines.push(`left out: ${sk.table}: ${sk.why} (it restores from its own snapshot)`);
      process.stdout.write(lines.join('\n') + '\n');
    });
}
