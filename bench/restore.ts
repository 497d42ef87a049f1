// `ctrelay restore` speed: BENCH_ROWS rows (default 1,000,000) loaded into a throwaway PostgreSQL
// source, captured (snapshot) into a fresh batch log, archived in-process into a temp directory (the
// snapshot as a full), then restore() --latest timed BENCH_RUNS times into fresh PostgreSQL
// databases (and once into MariaDB unless BENCH_MARIADB=0), against `pg_dump -t bench.orders src |
// psql fresh` of the same table. Every restored copy must hold the source's row count (a restore that
// writes nothing fails the bench). Then where restore's time goes: the real restore's own progress
// timestamps (prepare vs write) and an instrumented pass doing restore's steps one at a time (read:
// sha256 and inflate; decode, which also splits the records; plan; write), each timed alone.
//
//   npm run bench:restore            (node --import tsx bench/restore.ts)
//   BENCH_ROWS=200000 BENCH_RUNS=3 BENCH_MARIADB=0 BENCH_ARCHIVE_SEGMENT_MS=2000
// Prints medians of BENCH_RUNS runs; asserts nothing about timing.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { planWindows, StandbyTables, type TablePlan } from '../src/apply/plan.ts';
import { targetNamer } from '../src/apply/run.ts';
import type { CompleteWindow } from '../src/apply/window-reader.ts';
import { FsArchiveStore } from '../src/archive/fs-store.ts';
import { readFulls } from '../src/archive/fulls.ts';
import { requireManifest } from '../src/archive/manifest.ts';
import { filesAt, forEachEvent, readArchiveBlocks, resolvePoint } from '../src/archive/replay.ts';
import { restore } from '../src/archive/restore.ts';
import type { BatchRecord } from '../src/core/batch.ts';
import type { DecodedEvent } from '../src/core/codec.ts';
import { createDialect } from '../src/standby/create-dialect.ts';
import { canLoad } from '../src/standby/dialect.ts';
import { createMariaDatabase, createPgDatabase } from '../test/support/db.ts';
import { createSource, ensureBroker, fmtRate, machineLine, median, RUNS, snapshotDone, startAgent, TABLE_NAME, uniquePrefix, waitFor } from './support.ts';
import { startArchiver } from './archiving.ts';
import { dumpOnce, expectRows, pgCount } from './physical.ts';

const ROWS = Number(process.env.BENCH_ROWS ?? 1_000_000);
const MARIADB = process.env.BENCH_MARIADB !== '0';
const SEGMENT_MS = Number(process.env.BENCH_ARCHIVE_SEGMENT_MS ?? 2000);
const sec = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const line = (what: string, runs: number[], rows: number) =>
  console.log(`${what.padEnd(44)} ${sec(median(runs)).padStart(8)}  (${fmtRate(rows / (median(runs) / 1000))} rows/s; runs ${runs.map((x) => (x / 1000).toFixed(2)).join(', ')})`);

async function mariaCount(url: string): Promise<number> {
  const c = await mysql.createConnection(url);
  try {
    const [rows] = await c.query('SELECT count(*) AS n FROM orders');
    return Number((rows as { n: number }[])[0].n);
  } finally {
    await c.end();
  }
}

/** One timed restore() --latest into a fresh database; returns ms and when (ms from start) the first table was planned. */
async function restoreOnce(dir: string, kind: 'postgres' | 'mariadb', want: number): Promise<{ ms: number; preparedMs: number | null }> {
  const target = kind === 'postgres' ? await createPgDatabase('ctr_bench_rst') : await createMariaDatabase('ctr_bench_rst');
  try {
    let preparedMs: number | null = null;
    const t0 = performance.now();
    // restore says "<table>: N files, N events, N rows at the point" once it has planned a table,
    // before writing anything: with one table that splits prepare (read, decode, plan) from write
    const progress = (m: string) => void (preparedMs === null && /rows at the point/.test(m) && (preparedMs = performance.now() - t0));
    await restore({ from: dir, point: { kind: 'latest' }, target: target.url, progress });
    const ms = performance.now() - t0;
    expectRows(`restore into ${kind}`, kind === 'postgres' ? await pgCount(target.url) : await mariaCount(target.url), want);
    return { ms, preparedMs };
  } finally {
    await target.drop();
  }
}

interface Stages { readMs: number; decodeMs: number; planMs: number; writeMs: number; writeCpuMs: number; files: number; bytes: number; events: number }

/**
 * restore()'s steps for the latest point, one at a time, with the functions restore uses (replay.ts)
 * and the same write sequence as src/archive/restore.ts (whose write() is not exported, so it is
 * repeated here: keep it in step when restore changes). Decode is forEachEvent (read + decode)
 * minus a read-only pass over the same files, as forEachEvent does both.
 */
async function stagePass(dir: string, want: number): Promise<Stages> {
  const st: Stages = { readMs: 0, decodeMs: 0, planMs: 0, writeMs: 0, writeCpuMs: 0, files: 0, bytes: 0, events: 0 };
  const store = new FsArchiveStore(dir);
  const m = await requireManifest(store);
  const point = await resolvePoint(store, m, { kind: 'latest' });
  const s = BigInt(point.seq);
  const target = await createPgDatabase('ctr_bench_rststage');
  const tables = new StandbyTables(targetNamer('postgres', target.url));
  const plans: TablePlan[] = [];
  try {
    for (const t of filesAt(m, await readFulls(store, m), s, store.location)) {
      let t0 = performance.now();
      for (const f of t.files) await readArchiveBlocks(store, f);
      const readMs = performance.now() - t0;
      st.readMs += readMs;
      t0 = performance.now();
      const events: DecodedEvent[] = [];
      await forEachEvent(store, t, s, (d) => events.push(d));
      st.decodeMs += performance.now() - t0 - readMs;
      st.files += t.files.length;
      st.bytes += t.files.reduce((x, f) => x + f.bytes, 0);
      st.events += events.length;
      t0 = performance.now();
      const w = { batches: [{ tables: [] } as unknown as BatchRecord], events, offset: 0n, bytes: 0 } satisfies CompleteWindow;
      plans.push(...planWindows([w], tables, () => null).tables);
      st.planMs += performance.now() - t0;
    }
    const dialect = createDialect('postgres', target.url);
    const t = performance.now();
    const cpu = process.cpuUsage();
    await dialect.connect();
    try {
      await dialect.ensureStateTable();
      const tx = await dialect.begin();
      for (const p of plans) await tx.ensureTable(p.target);
      for (const p of plans) await tx.deleteAll(p.target);
      for (const p of plans) {
        const rows = [...p.upserts.values()];
        for (let i = 0; i < rows.length; i += 100_000) {
          if (canLoad(tx)) await tx.load(p.target, rows.slice(i, i + 100_000));
          else await tx.upsert(p.target, rows.slice(i, i + 100_000));
        }
      }
      await tx.writeState({ sourceId: m.sourceId, batchSeq: s, version: BigInt(point.version), batchOffset: BigInt(point.offset) });
      await tx.commit();
    } finally {
      await dialect.close();
    }
    st.writeMs = performance.now() - t;
    const used = process.cpuUsage(cpu);
    st.writeCpuMs = (used.user + used.system) / 1000;
    expectRows('instrumented restore', await pgCount(target.url), want);
    return st;
  } finally {
    await target.drop();
  }
}

async function main(): Promise<void> {
  console.log(`bench:restore — ${ROWS.toLocaleString('en')} rows, 10 columns, medians of ${RUNS} runs`);
  console.log(machineLine());
  await ensureBroker();
  const source = await createSource(ROWS);
  const dir = mkdtempSync(join(tmpdir(), 'ctrelay-bench-restore-'));
  try {
    const want = await pgCount(source.url);
    expectRows('source', want, ROWS);
    // capture: the snapshot into a fresh batch log, then the agent stops so archiving runs alone
    const prefix = uniquePrefix('rst');
    let t0 = performance.now();
    const a = await startAgent(source.url, prefix, { maxBatchRows: 20_000, snapshotChunkRows: 50_000 });
    await waitFor(a, snapshotDone);
    await a.stop();
    const lastSeq = a.agent.currentState.seq;
    console.log(`capture (snapshot) ${sec(performance.now() - t0)}, batches up to ${lastSeq}`);
    // archive: from the start of the batch log until the manifest holds the last batch. Segments
    // roll every SEGMENT_MS (or 64 MiB), so the wait overshoots by up to that much; the archiver's
    // observe (its batch-log read) runs ahead of the windows it has assembled, so it cannot tell
    // when a stop() would flush everything
    t0 = performance.now();
    const ar = await startArchiver(prefix, SEGMENT_MS, dir);
    await ar.reached(lastSeq);
    await ar.stop();
    const archMs = performance.now() - t0;
    const m = await requireManifest(new FsArchiveStore(dir));
    const bytes = m.files.reduce((x, f) => x + f.bytes, 0);
    console.log(`archive ${sec(archMs)} (${fmtRate(ROWS / (archMs / 1000))} rows/s; segmentMs=${SEGMENT_MS}): ${m.segments.length} segments, ${m.files.length} files, ${(bytes / 2 ** 20).toFixed(1)} MiB`);

    const restores: number[] = [];
    const prepared: number[] = [];
    const dumps: number[] = [];
    let peakRss = 0;
    const rss = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 100);
    for (let run = 0; run < RUNS; run++) {
      // alternated, so neither always runs on a warmer cache
      const r = await restoreOnce(dir, 'postgres', want);
      restores.push(r.ms);
      if (r.preparedMs !== null) prepared.push(r.preparedMs);
      dumps.push(await dumpOnce(source, want));
    }
    clearInterval(rss);
    line('restore --latest -> PostgreSQL', restores, ROWS);
    line('pg_dump -t | psql', dumps, ROWS);
    if (prepared.length === restores.length) {
      const p = median(prepared);
      console.log(`  restore's own progress: read + decode + plan ${sec(p)}, then write ${sec(median(restores) - p)} (medians); peak RSS ${(peakRss / 2 ** 20).toFixed(0)} MiB`);
    }
    if (MARIADB) line('restore --latest -> MariaDB (one run)', [(await restoreOnce(dir, 'mariadb', want)).ms], ROWS);

    const st = await stagePass(dir, want);
    const parts = [
      ['read files (sha256, inflate)', st.readMs],
      ['decode events (Avro -> values)', st.decodeMs],
      ['plan (net per key)', st.planMs],
      ['write (ensureTable, DELETE, COPY, commit)', st.writeMs],
    ] as const;
    const sum = parts.reduce((x, [, v]) => x + v, 0);
    console.log(`  breakdown (instrumented pass, one step at a time; ${st.files} files, ${(st.bytes / 2 ** 20).toFixed(1)} MiB, ${st.events} events):`);
    for (const [name, ms] of parts) console.log(`    ${name.padEnd(46)} ${sec(ms).padStart(8)}  ${((100 * ms) / sum).toFixed(0).padStart(3)} %  alone: ${fmtRate(st.events / (ms / 1000))} rows/s`);
    console.log(`    ${'sum of steps'.padEnd(46)} ${sec(sum).padStart(8)}`);
    console.log(`    (write: this process was on CPU ${((100 * st.writeCpuMs) / st.writeMs).toFixed(0)} % of the time: value checks and COPY text in Node, the rest waiting for PostgreSQL)`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await source.drop();
  }
}

await main();
process.exit(0);
