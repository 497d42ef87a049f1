// `ctrelay verify`: wires config -> the source's table definitions, one side per database, the
// table loop, progress on stderr, the report and the exit code.
import { setTimeout as sleep } from 'node:timers/promises';
import { writeFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import { columnOptions, targetNamer } from '../apply/run.ts';
import type { Config } from '../config/schema.ts';
import { ConfigError } from '../core/errors.ts';
import { qualifiedName, type TableMeta, type TableRef } from '../core/model.ts';
import { createSource } from '../sources/factory.ts';
import { createSourceSide, createStandbySide } from './engines/index.ts';
import { pgKeyInput } from './engines/postgres.ts';
import { buildReport, formatMetrics, formatReport, type VerifyReport } from './report.ts';
import { verifyColumns, type SourceSide, type VerifySide } from './side.ts';
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
  /** re-snapshot the tables that differ through the running pipeline, then verify them again */
  repair: boolean;
  repairWaitMs: number;
}

/** Exit codes: 0 equal (after --repair: equal once repaired), 1 differences (or rows not proven). */
export async function runVerify(config: Config, log: Logger, opts: VerifyOptions): Promise<{ report: VerifyReport; exitCode: number }> {
  const standby = config.standby;
  if (!standby) throw new ConfigError('standby: required by `ctrelay verify` (the database compared with the source)');
  const metas = await describeTables(config, selectTables(config, opts.tables));
  const source = createSourceSide(config.source);
  const side = createStandbySide(standby.kind, standby.url, targetNamer(standby.kind, standby.url, standby.schema), config.source.id, `standby ${standby.id}`);
  const startedAt = new Date();
  let results: Checked[];
  try {
    results = await verifyAll(config, metas, source, side, log, opts);
    const differing = results.filter(({ result: r }) => r.missingOnStandby || r.differenceCount > 0 || r.unsettled.length > 0);
    if (opts.repair && differing.length > 0) {
      const refs = differing.map(({ result: r }) => metas.find((m) => qualifiedName(m) === r.table)!);
      await repair(config, differing.map((d) => d.result), metas, log, opts);
      const again = await verifyAll(config, refs, source, side, log, opts);
      results = results.map((r) => again.find((a) => a.result.table === r.result.table) ?? r);
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

/** Verifies every table with the defaults (report on stdout); true when the standby equals the source. */
export async function verifiesEqual(config: Config, log: Logger): Promise<boolean> {
  const r = await runVerify(config, log, { chunkRows: 10_000, attempts: 5, lock: true, maxChunksPerSecond: 0, waitMs: 60_000, progress: false, repair: false, repairWaitMs: 0 });
  return r.exitCode === 0;
}

type Checked = { result: TableResult; notCompared: string[] };

async function verifyAll(config: Config, metas: TableMeta[], source: SourceSide, side: VerifySide, log: Logger, opts: VerifyOptions): Promise<Checked[]> {
  const options = columnOptions(config);
  const out: Checked[] = [];
  for (const [i, meta] of metas.entries()) {
    const o = options.get(qualifiedName(meta));
    // columns a standby leaves out or keeps as text are not compared (and named in the report)
    const notCompared = [...(o?.exclude ?? []), ...(o?.text ?? [])];
    const t = { source: meta, columns: verifyColumns(meta, new Set(notCompared)), keyCount: meta.key.length };
    const started = Date.now();
    const result = await verifyTable(t, source, side, {
      chunkRows: opts.chunkRows,
      leafRows: 256,
      attempts: opts.attempts,
      lock: opts.lock,
      maxExamined: 100_000,
      maxChunksPerSecond: opts.maxChunksPerSecond,
      waitStandby: (v) => waitApplied(side, v, opts.waitMs),
      progress: opts.progress
        ? ({ chunks, rows, estimate }) => {
            const s = (Date.now() - started) / 1000;
            const rate = s > 0 ? Number(rows) / s : 0;
            const eta = estimate !== null && rate > 0 && estimate > rows ? `, ETA ${Math.ceil(Number(estimate - rows) / rate)} s` : '';
            process.stderr.write(`\r[${i + 1}/${metas.length}] ${qualifiedName(meta)}: ${chunks} chunks, ${rows}${estimate !== null ? ` of ~${estimate}` : ''} rows, ${Math.round(rate)} rows/s${eta}   `);
          }
        : undefined,
    });
    if (opts.progress) process.stderr.write('\n');
    log.info({ table: result.table, rows: result.rows.toString(), differences: result.differenceCount, unsettled: result.unsettled.length, ms: result.ms }, 'table verified');
    out.push({ result, notCompared });
  }
  return out;
}

/**
 * Repairs through the running pipeline and waits until the standby applied it: a table whose every
 * difference is named gets exactly those keys again (a key re-snapshot: missing and differing rows
 * are sent as updates, extra rows as deletes); a table missing on the standby, or with more
 * differences than verify names, is re-snapshotted whole.
 */
async function repair(config: Config, differing: TableResult[], metas: TableMeta[], log: Logger, opts: VerifyOptions): Promise<void> {
  const request = await import('../snapshot/request.ts');
  const meta = (r: TableResult) => metas.find((m) => qualifiedName(m) === r.table)!;
  const whole = differing.filter((r) => r.missingOnStandby || r.differenceCount > r.differences.length);
  const ro = { waitMs: opts.repairWaitMs, reason: 'ctrelay verify --repair found differences', progress: (m: string) => log.info(m) };
  for (const r of differing.filter((x) => !whole.includes(x))) {
    const m = meta(r);
    const columns = verifyColumns(m).slice(0, m.key.length);
    const keys = [...r.differences.map((d) => d.key), ...r.unsettled].map((k) => k.map((v, j) => pgKeyInput(v, columns[j])));
    await request.requestKeyResnapshot(config, m, { keys }, ro);
  }
  if (whole.length === 0) return;
  const { createKafkajsPort } = await import('../kafka/kafkajs/index.ts');
  const kafka = createKafkajsPort({ brokers: config.kafka.brokers, clientId: `${config.kafka.clientId}-verify` });
  try {
    await request.requestResnapshot(config, whole.map(meta), kafka, ro);
  } finally {
    await kafka.close();
  }
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
    await sleep(200);
  }
}
