import { InvalidArgumentError, type Command } from 'commander';

interface RestoreCliOptions {
  from: string;
  toVersion?: bigint;
  toTime?: Date;
  latest?: boolean;
  target?: string;
  schema?: string;
  check?: boolean;
  json?: boolean;
  s3Endpoint?: string;
}

export function version(v: string): bigint {
  if (!/^\d+$/.test(v.trim())) throw new InvalidArgumentError(`expected a source version (a whole number), got "${v}"`);
  return BigInt(v.trim());
}

export function time(v: string): Date {
  const d = new Date(v);
  if (Number.isNaN(d.getTime())) throw new InvalidArgumentError(`expected a time such as 2026-12-01T03:00:00Z, got "${v}"`);
  return d;
}

export function register(program: Command): void {
  program
    .command('restore')
    .description('rebuild a database at a point in time from an archive (ctrelay archive), or check an archive')
    .requiredOption('--from <location>', 'the archive: a directory or s3://bucket/prefix (archive.target)')
    .option('--to-version <V>', 'the state at the newest archived window whose source version is <= V', version)
    .option('--to-time <T>', 'the state at the newest archived window committed at or before T (ISO-8601)', time)
    .option('--latest', 'the state at the last archived window')
    .option('--target <url>', 'the database to restore into: postgres://, mysql:// (mariadb://) or sqlserver:// URL')
    .option('--schema <name>', 'target schema (PostgreSQL, SQL Server) or database (MariaDB); default as a standby: the source schema, or the URL\'s database on MariaDB')
    .option('--check', 'verify every file\'s SHA-256 and the chain of windows (no gap, no duplicate); restores nothing')
    .option('--json', 'print the result as JSON')
    .option('--s3-endpoint <url>', 'an s3:// archive on an S3-compatible server: its endpoint (credentials and region from the AWS SDK\'s environment: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION)')
    .addHelpText('after', `
A restore point is a complete window of the batch log: --to-version V gives the source's exact
state at the newest archived window whose version is <= V (the archive reproduces the versions its
windows were read at, and nothing in between). Per table, the newest full (snapshot epoch) that was
complete at that point is loaded and the incrementals after it replayed up to the point, net per
key, written like the applier writes (same dialects; PostgreSQL and SQL Server in one transaction,
MariaDB's table DDL just before it). Tables of the target named like the archived ones are emptied
first; the target gets a ctrelay_state row at the point, so ctrelay apply can carry it forward.
Every file is checked against its SHA-256 before it is used. Progress on stderr on a terminal.

Exit 0 restored (or checked: intact); 2 usage; 5 the target refused; 6 the archive does not hold
the point (before its oldest window, a snapshot still running there) or holds no manifest;
7 a file or index is corrupt or missing, or the chain has a gap or a duplicate (named).

Examples:
  $ ctrelay restore --from /backups/erp --check
  $ ctrelay restore --from /backups/erp --to-version 123456 --target postgres://pg@db2/erp
  $ ctrelay restore --from /backups/erp --to-time 2026-12-01T03:00:00Z --target mysql://root@db3/erp
  $ ctrelay restore --from /backups/erp --latest --target postgres://pg@db2/erp`)
    .action(async (o: RestoreCliOptions) => {
      const { ConfigError } = await import('../../core/errors.ts');
      const tty = process.stderr.isTTY === true;
      const progress = tty ? (m: string) => process.stderr.write(`restore: ${m}\n`) : undefined;
      const print = (v: unknown, text: string) => process.stdout.write(o.json ? JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x)) + '\n' : text);
      if (o.check) {
        const { checkArchive } = await import('../../archive/restore.ts');
        const r = await checkArchive(o.from, progress, { endpoint: o.s3Endpoint });
        print(r, `${r.location}: intact: ${r.files} files (${r.bytes} bytes, ${r.fulls} synthetic fulls), windows of batches ${r.windows}, no gap, no duplicate\n`);
        return;
      }
      const points = [o.toVersion !== undefined, o.toTime !== undefined, o.latest === true].filter(Boolean).length;
      if (points !== 1) throw new ConfigError('restore: give exactly one of --to-version, --to-time, --latest (or --check)');
      if (!o.target) throw new ConfigError('restore: --target <url> is required (the database to restore into)');
      const { restore } = await import('../../archive/restore.ts');
      const r = await restore({
        from: o.from,
        target: o.target,
        schema: o.schema,
        point: o.latest ? { kind: 'latest' } : o.toVersion !== undefined ? { kind: 'version', version: o.toVersion } : { kind: 'time', at: o.toTime! },
        progress,
        s3: { endpoint: o.s3Endpoint },
      });
      const rows = r.tables.reduce((a, t) => a + t.rows, 0);
      print(r, `restored ${r.tables.length} tables (${rows} rows) at version ${r.window.version} (batch ${r.window.seq}, committed ${r.window.commitTs ?? 'at an unknown time'})\n`);
    });
}
