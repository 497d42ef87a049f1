// Runs T-SQL batches (the `ct enable|disable --execute` scripts of enable.ts) on the URL's database,
// one by one, with failures classified like the source's (errors.ts): a lost connection is a
// transient SourceUnavailableError, a refusal (permission, login) a permanent SourceError, both
// naming the server and the batch. NOT YET RUN against a real server.
import type sql from 'mssql';
import { mssql } from '../../drivers/sqlserver/mssql.ts';
import { classifySqlServerError } from './errors.ts';
import { parseSqlServerUrl } from '../../drivers/sqlserver/url.ts';

export interface RunBatchesOptions {
  /** PRINT output and other informational messages of the server */
  onInfo?: (message: string) => void;
  /** names the command in messages, e.g. `ct enable` */
  what?: string;
}

/** The first line of a batch that is not a comment, to name it in messages. */
export function batchTitle(batch: string): string {
  return batch.split('\n').find((l) => l.trim() !== '' && !l.trimStart().startsWith('--'))?.trim() ?? '(empty batch)';
}

export async function runSqlServerBatches(url: string, batches: string[], options: RunBatchesOptions = {}): Promise<void> {
  const { config, label } = parseSqlServerUrl(url);
  const what = options.what ?? 'running the script';
  const fail = (err: unknown, doing: string) => classifySqlServerError(err, { server: label, what: `${what}: ${doing}`, secret: config.password });
  let pool: sql.ConnectionPool;
  try {
    pool = await new (mssql().ConnectionPool)({ ...config, pool: { min: 0, max: 1 } }).connect();
  } catch (err) {
    throw fail(err, 'connecting');
  }
  try {
    for (const [i, b] of batches.entries()) {
      const request = pool.request();
      if (options.onInfo) request.on('info', (info: { message: string }) => options.onInfo!(info.message));
      try {
        // a plain batch (not sp_executesql): USE and ALTER DATABASE act on the session
        await request.batch(b);
      } catch (err) {
        throw fail(err, `batch ${i + 1} of ${batches.length} (${batchTitle(b)})`);
      }
    }
  } finally {
    await pool.close().catch(() => undefined);
  }
}
