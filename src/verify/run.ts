// `ctrelay verify`: wires config -> the source's table definitions, one side per database, the
// table loop, progress on stderr, the report and the exit code.
import { writeFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import { columnOptions, targetNamer } from '../apply/run.ts';
import type { Config } from '../config/schema.ts';
import { ConfigError } from '../core/errors.ts';
import { qualifiedName, type TableMeta, type TableRef } from '../core/model.ts';
import { createSource } from '../sources/factory.ts';
import { createSourceSide, createStandbySide } from './engines/index.ts';
import { buildReport, formatMetrics, formatReport, type VerifyReport } from './report.ts';
import { verifyColumns, type VerifySide } from './side.ts';
import { verifyTable, type TableResult } from './verify-table.ts';

export interface VerifyOptions {
  /** a subset of source.tables (default: all) */
  tables?: TableRef[];
  json?: string;
  metricsFile?: string;
  chunkRows: number;
  attempts: number;
  lock: boolean;
  maxChunksPerSecond: number;
  /** how long to wait for the standby to apply a version while settling in-flight rows */
  waitMs: number;
  progress: boolean;
}

/** Exit codes: 0 equal, 1 differences (or rows that could not be proven equal). */
export async function runVerify(config: Config, log: Logger, opts: VerifyOptions): Promise<{ report: VerifyReport; exitCode: number }> {
  const standby = config.standby;
  if (!standby) throw new ConfigError('standby: required by `ctrelay verify` (the database compared with the source)');
  const wanted = selectTables(config, opts.tables);
  const metas = await describeTables(config, wanted);
  const options = columnOptions(config);
  const source = createSourceSide(config.source);
  const side = createStandbySide(standby.kind, standby.url, targetNamer(standby.kind, standby.url, standby.schema), config.source.id, `standby ${standby.id}`);
  const startedAt = new Date();
  const results: { result: TableResult; notCompared: string[] }[] = [];
  try {
    for (const [i, meta] of metas.entries()) {
      const o = options.get(qualifiedName(meta));
      // columns a standby leaves out or keeps as text are not compared (and named in the report)
      const notCompared = [...(o?.exclude ?? []), ...(o?.text ?? [])];
      const columns = verifyColumns(meta, new Set(notCompared));
      const t = { source: meta, columns, keyCount: meta.key.length };
      const started = Date.now();
      const result = await verifyTable(t, source, side, {
        chunkRows: opts.chunkRows,
        leafRows: 256,
        attempts: opts.attempts,
        lock: opts.lock,
        maxReported: 1000,
        maxChunksPerSecond: opts.maxChunksPerSecond,
        waitStandby: (v) => waitApplied(side, v, opts.waitMs),
        progress: opts.progress
          ? ({ chunks, rows }) => {
              const s = (Date.now() - started) / 1000;
              process.stderr.write(`\r[${i + 1}/${metas.length}] ${qualifiedName(meta)}: ${chunks} chunks, ${rows} rows, ${s > 0 ? Math.round(Number(rows) / s) : 0} rows/s   `);
            }
          : undefined,
      });
      if (opts.progress) process.stderr.write('\n');
      log.info({ table: result.table, rows: result.rows.toString(), differences: result.differenceCount, unsettled: result.unsettled.length, ms: result.ms }, 'table verified');
      results.push({ result, notCompared });
    }
  } finally {
    await Promise.all([source.close(), side.close()]);
  }
  const report = buildReport(config.source.id, standby.id, startedAt, results);
  if (opts.json) await writeFile(opts.json, JSON.stringify(report, null, 2) + '\n');
  if (opts.metricsFile) await writeFile(opts.metricsFile, formatMetrics(report));
  process.stdout.write(formatReport(report));
  return { report, exitCode: report.equal ? 0 : 1 };
}

function selectTables(config: Config, refs?: TableRef[]): Config['source']['tables'] {
  const all = config.source.tables;
  if (!refs || refs.length === 0) return all;
  return refs.map((r) => {
    const t = all.find((x) => x.schema === r.schema && x.table === r.table);
    if (!t) throw new ConfigError(`--table: ${qualifiedName(r)} is not a table capture replicates (source.tables: ${all.map((x) => x.name).join(', ')})`);
    return t;
  });
}

async function describeTables(config: Config, tables: Config['source']['tables']): Promise<TableMeta[]> {
  const source = createSource(config.source);
  try {
    await source.connect();
    const exclude = new Map(tables.map((t) => [`${t.schema}.${t.table}`, new Set(t.excludeColumns)]));
    return await source.describe(tables.map((t) => ({ schema: t.schema, table: t.table })), exclude);
  } finally {
    await source.close().catch(() => undefined);
  }
}

/** Polls the standby's applied version until it reaches `version`; false after `ms`. */
async function waitApplied(side: VerifySide, version: bigint, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  for (;;) {
    const s = await side.snapshot();
    const at = s.version;
    await s.end();
    if (at >= version) return true;
    if (Date.now() > until) return false;
    await new Promise((r) => setTimeout(r, 200));
  }
}
