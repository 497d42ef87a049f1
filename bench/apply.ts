// End-to-end apply throughput of the real Applier (in-process): a large capture (snapshot of
// BENCH_ROWS rows + one streaming window of BENCH_CHANGES net changes: updates, inserts, deletes)
// is put into the local Kafka once, then the Applier drains that batch log from the start into a
// fresh (a) PostgreSQL and (b) MariaDB standby database, BENCH_RUNS times each; prints the median
// rows/s, and where the time goes (Kafka read + Avro decode vs the standby dialect's statements).
// Before that, on the same table and run: the physical references (`pg_dump | psql`, COPY | COPY,
// bench/physical.ts) and a snapshot end to end through real capture and apply processes
// (bench/end-to-end.ts), with the ratios the performance aims are stated in.
//
//   npm run bench:apply              (node --import tsx bench/apply.ts)
//   BENCH_ROWS=200000 BENCH_CHANGES=200000 BENCH_RUNS=3 BENCH_MERGE=10 BENCH_KINDS=postgres,mariadb
// The dialect-only figure (no Kafka, no Avro) is bench/apply-dialect.ts. Asserts nothing about timing.
import pg from 'pg';
import mysql from 'mysql2/promise';
import { Registry } from 'prom-client';
import { Applier } from '../src/apply/applier.ts';
import { ApplyMetrics } from '../src/apply/metrics.ts';
import { targetNamer } from '../src/apply/run.ts';
import { WindowReader } from '../src/apply/window-reader.ts';
import { singleObjectWireFormat } from '../src/avro/wire-format.ts';
import { TopicDecoder } from '../src/kafka/schemas-topic.ts';
import { batchesTopic } from '../src/core/topics.ts';
import { createDialect, type StandbyKind } from '../src/standby/create-dialect.ts';
import type { StandbyDialect, StandbyTransaction } from '../src/standby/dialect.ts';
import { createMariaDatabase, createPgDatabase } from '../test/support/db.ts';
import { snapshotEndToEnd, type EndToEnd } from './end-to-end.ts';
import { physicalReferences, type References } from './physical.ts';
import {
  createSource, currentVersion, ensureBroker, fmtRate, fmtRuns, kafkaPort, log, machineLine, median, RUNS, sleep,
  snapshotDone, startAgent, uniquePrefix, waitFor, Writer, type AgentSettings,
} from './support.ts';

const ROWS = Number(process.env.BENCH_ROWS ?? 200_000);
const CHANGES = Number(process.env.BENCH_CHANGES ?? 200_000);
const MERGE = Number(process.env.BENCH_MERGE ?? 10);
const KINDS = (process.env.BENCH_KINDS ?? 'postgres,mariadb').split(',').filter(Boolean) as StandbyKind[];
// multi-page snapshot windows (needs WindowReader from 5b5b7e6: before it, a partition first seen
// in a multi-page window was positioned at its LAST range and the applier stopped with an error)
const CAPTURE: AgentSettings = { maxBatchRows: 20_000, snapshotChunkRows: 50_000 };

interface Captured {
  prefix: string;
  /** seq of the last batch of the snapshot, and of the whole log */
  snapshotSeq: bigint;
  lastSeq: bigint;
  events: number;
  sourceRows: number;
}

async function captureIntoKafka(url: string): Promise<Captured> {
  const prefix = uniquePrefix('apply');
  const t0 = performance.now();
  let a = await startAgent(url, prefix, CAPTURE);
  await waitFor(a, snapshotDone);
  let events = await a.events();
  await a.stop();
  const snapshotSeq = a.agent.currentState.seq;
  const writer = new Writer(url, ROWS);
  writer.seal();
  await writer.write(CHANGES);
  const target = await currentVersion(url);
  a = await startAgent(url, prefix, CAPTURE);
  await waitFor(a, (s) => s.version >= target);
  events += await a.events();
  await a.stop();
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  const sourceRows = Number((await c.query('SELECT count(*) AS n FROM bench.orders')).rows[0].n);
  await c.end();
  console.log(`captured ${events.toLocaleString('en')} events (${ROWS.toLocaleString('en')} snapshot rows, then one window of ${CHANGES.toLocaleString('en')} net changes) into ${prefix}.* in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return { prefix, snapshotSeq, lastSeq: a.agent.currentState.seq, events, sourceRows };
}

/** Times the standby statements (the dialect's share of the apply) without changing them. */
class TimedDialect implements StandbyDialect {
  ms = 0;
  constructor(private readonly d: StandbyDialect) {}
  get kind() { return this.d.kind; }
  get transactionalDdl() { return this.d.transactionalDdl; }
  connect() { return this.d.connect(); }
  describeTable(t: Parameters<StandbyDialect['describeTable']>[0]) { return this.time(() => this.d.describeTable(t)); }
  ensureStateTable() { return this.d.ensureStateTable(); }
  readState(id: string) { return this.d.readState(id); }
  ensureTable(t: Parameters<StandbyDialect['ensureTable']>[0]) { return this.time(() => this.d.ensureTable(t)); }
  scan(...a: Parameters<StandbyDialect['scan']>) { return this.d.scan(...a); }
  close() { return this.d.close(); }
  async begin(): Promise<StandbyTransaction> {
    const tx = await this.time(() => this.d.begin());
    return {
      ensureTable: (t) => this.time(() => tx.ensureTable(t)),
      upsert: (t, rows) => this.time(() => tx.upsert(t, rows)),
      delete: (t, keys) => this.time(() => tx.delete(t, keys)),
      deleteAll: (t) => this.time(() => tx.deleteAll(t)),
      writeState: (s) => this.time(() => tx.writeState(s)),
      commit: () => this.time(() => tx.commit()),
      rollback: () => tx.rollback(),
    };
  }
  private async time<T>(f: () => Promise<T>): Promise<T> {
    const t = performance.now();
    try {
      return await f();
    } finally {
      this.ms += performance.now() - t;
    }
  }
}

interface ApplyRun {
  rate: number;
  totalMs: number;
  snapshotMs: number;
  dialectMs: number;
}

async function applyOnce(kind: StandbyKind, cap: Captured, run: number): Promise<ApplyRun> {
  const db = kind === 'postgres' ? await createPgDatabase('ctr_bench_sb') : await createMariaDatabase('ctr_bench_sb');
  try {
    const kafka = kafkaPort('bench-apply');
    const wire = singleObjectWireFormat();
    const events = new TopicDecoder(kafka, cap.prefix, wire.decoder());
    const dialect = new TimedDialect(createDialect(kind, db.url, log.child({ component: 'standby' })));
    const applier = new Applier(
      { sourceId: 'bench', standbyId: `bench-${kind}-${run}-${db.name}`, topicPrefix: cap.prefix, mergeWindows: MERGE, target: targetNamer(kind, db.url) },
      { kafka, dialect, control: wire.control, events, log: log.child({ component: 'apply' }), metrics: new ApplyMetrics(new Registry()) },
    );
    const t0 = performance.now();
    await events.load();
    await applier.start();
    let failure: unknown = null;
    let ended = false;
    const done = applier.run().catch((err) => { failure = err; }).finally(() => { ended = true; });
    let snapshotMs = -1;
    while (applier.appliedSeq < cap.lastSeq) {
      if (ended) throw new Error(`the applier stopped early: ${String(failure)}`);
      if (snapshotMs < 0 && applier.appliedSeq >= cap.snapshotSeq) snapshotMs = performance.now() - t0;
      await sleep(5);
    }
    const totalMs = performance.now() - t0;
    if (snapshotMs < 0) snapshotMs = totalMs;
    applier.stop();
    await done;
    await kafka.close();
    if (failure) throw failure;
    // sanity: the standby holds what the source holds
    const n = kind === 'postgres' ? await countPg(db.url) : await countMaria(db.url, db.name);
    if (n !== cap.sourceRows) console.log(`  WARNING: the ${kind} standby has ${n} rows, the source ${cap.sourceRows}`);
    return { rate: cap.events / (totalMs / 1000), totalMs, snapshotMs, dialectMs: dialect.ms };
  } finally {
    await db.drop();
  }
}

async function countPg(url: string): Promise<number> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return Number((await c.query('SELECT count(*) AS n FROM bench.orders')).rows[0].n);
  } finally {
    await c.end();
  }
}

async function countMaria(url: string, name: string): Promise<number> {
  const c = await mysql.createConnection(url);
  try {
    const [rows] = await c.query(`SELECT count(*) AS n FROM \`${name}\`.orders`);
    return Number((rows as { n: number }[])[0].n);
  } finally {
    await c.end();
  }
}

/** Kafka read + Avro decode of the whole log through the applier's WindowReader, no standby. */
async function readOnlyMs(cap: Captured): Promise<{ ms: number; decodeMs: number }> {
  const kafka = kafkaPort('bench-read');
  const wire = singleObjectWireFormat();
  const decoder = wire.decoder();
  let decodeMs = 0;
  const decode = decoder.decodeEvent.bind(decoder);
  decoder.decodeEvent = (value, where) => {
    const t = performance.now();
    try {
      return decode(value, where);
    } finally {
      decodeMs += performance.now() - t;
    }
  };
  const t0 = performance.now();
  const events = new TopicDecoder(kafka, cap.prefix, decoder);
  await events.load();
  const reader = new WindowReader(kafka, batchesTopic(cap.prefix), 'bench', wire.control, events, 0n);
  try {
    let seq = -1n;
    while (seq < cap.lastSeq) {
      const w = await reader.next(seq, 5000);
      if (!w) throw new Error('the batch log ended early');
      seq = w.batches[w.batches.length - 1].seq;
    }
    return { ms: performance.now() - t0, decodeMs };
  } finally {
    await reader.close();
    await kafka.close();
  }
}

async function main(): Promise<void> {
  console.log(machineLine());
  console.log(`apply: ${ROWS.toLocaleString('en')} snapshot rows + ${CHANGES.toLocaleString('en')} net changes, 10-column table, mergeWindows=${MERGE}, median of ${RUNS}`);
  await ensureBroker();
  const src = await createSource(ROWS);
  let cap: Captured;
  let refs: References;
  try {
    // on the table as created (the capture below writes changes into it)
    refs = await physicalReferences(src, ROWS, RUNS);
    const e2e: EndToEnd[] = [];
    for (let run = 0; run < RUNS; run++) e2e.push(await snapshotEndToEnd(src.url, ROWS));
    const ms = e2e.map((r) => r.ms);
    const e2eRate = ROWS / (median(ms) / 1000);
    console.log(`snapshot end to end (ctrelay capture + apply processes started together, default settings, start-up included): ` +
      `${fmtRate(e2eRate)} rows/s (${(median(ms) / 1000).toFixed(2)} s; runs ${ms.map((x) => (x / 1000).toFixed(2)).join(', ')}) ` +
      `= ${(e2eRate / refs.dumpRowsPerSec).toFixed(2)}x pg_dump | psql (aim: 1.0x); ` +
      `peak RSS capture ${median(e2e.map((r) => r.captureRssMiB)).toFixed(0)} MiB, apply ${median(e2e.map((r) => r.applyRssMiB)).toFixed(0)} MiB`);
    cap = await captureIntoKafka(src.url);
  } finally {
    await src.drop();
  }
  const reads: { ms: number; decodeMs: number }[] = [];
  for (let run = 0; run < RUNS; run++) reads.push(await readOnlyMs(cap));
  const readMs = median(reads.map((r) => r.ms));
  const decodeMs = median(reads.map((r) => r.decodeMs));
  console.log(`Kafka read + Avro decode only (WindowReader, no standby): ${fmtRate(cap.events / (readMs / 1000))} events/s (${(readMs / 1000).toFixed(2)} s, ` +
    `of which Avro decodeEvent ${(decodeMs / 1000).toFixed(2)} s = ${fmtRate(cap.events / (decodeMs / 1000))} events/s alone; the rest is kafkajs fetch + WindowReader)`);
  for (const kind of KINDS) {
    const runs: ApplyRun[] = [];
    for (let run = 0; run < RUNS; run++) runs.push(await applyOnce(kind, cap, run));
    const m = (f: (r: ApplyRun) => number) => median(runs.map(f));
    const totalMs = m((r) => r.totalMs);
    const snapMs = m((r) => r.snapshotMs);
    const dialectMs = m((r) => r.dialectMs);
    console.log(`${kind.padEnd(8)} end to end ${fmtRate(m((r) => r.rate))} rows/s (runs: ${fmtRuns(runs.map((r) => r.rate))}; ${(totalMs / 1000).toFixed(2)} s)`);
    if (MERGE === 1 || snapMs < totalMs) console.log(`         snapshot windows applied after ${(snapMs / 1000).toFixed(2)} s (${fmtRate(ROWS / (snapMs / 1000))} rows/s), the change window took ${((totalMs - snapMs) / 1000).toFixed(2)} s (${fmtRate((cap.events - ROWS) / ((totalMs - snapMs) / 1000))} rows/s)`);
    if (kind === 'postgres') {
      console.log(`         = ${(m((r) => r.rate) / refs.copyRowsPerSec).toFixed(2)}x COPY | COPY end to end, snapshot windows ${((ROWS / (snapMs / 1000)) / refs.copyRowsPerSec).toFixed(2)}x (aim: 0.7x)`);
    }
    console.log(`         time in standby statements (ensureTable, begin, delete, upsert, writeState, commit): ${(dialectMs / 1000).toFixed(2)} s = ${((100 * dialectMs) / totalMs).toFixed(0)} %; ` +
      `the rest (Kafka read, Avro decode, planning, acks) ${((totalMs - dialectMs) / 1000).toFixed(2)} s`);
  }
}

await main();
process.exit(0);
