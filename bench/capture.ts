// Capture throughput of the real CaptureAgent (in-process) from a throwaway PostgreSQL source with
// ctrelay change tracking into the local Kafka broker:
//   (a) snapshot rows/s: BENCH_ROWS rows pre-loaded, agent start -> snapshot done (all committed)
//   (b) streaming changes/s: BENCH_CHANGES net changes pre-written (transactions of 1,000 rows)
//       while the agent is stopped; agent start -> published up to the source's current version
//   (c) sustained: a writer keeps writing for BENCH_SUSTAIN_S seconds while the agent runs
// with the real Archiver in-process during (b) and (c) (unless BENCH_ARCHIVE=0): its lag (batches
// read, not yet in its manifest) and how long after capture was done the archive caught up;
// and a per-stage breakdown (source query, window building, Avro encoding, Kafka produce+commit),
// timed by an instrumented pass over the same window with the same code, one stage at a time.
//
//   npm run bench:capture            (node --import tsx bench/capture.ts)
//   BENCH_ROWS=200000 BENCH_CHANGES=200000 BENCH_RUNS=3 BENCH_SUSTAIN_S=15 BENCH_STAGE_RUNS=1 BENCH_SINGLE_QUERY=0
//   BENCH_SNAPSHOT=5000x10000,20000x50000   maxBatchRows x snapshotChunkRows per configuration
//   BENCH_STREAM=5000,20000                 maxBatchRows per configuration
//   BENCH_ARCHIVE=0 BENCH_ARCHIVE_SEGMENT_MS=1000
// Prints medians of BENCH_RUNS runs; asserts nothing about timing.
import { SingleObjectTableEncoder } from '../src/avro/table-encoder.ts';
import { isNoop, readWindow, emptyState, type CaptureState } from '../src/capture/window.ts';
import type { PollSession } from '../src/core/change-source.ts';
import type { OutRecord } from '../src/kafka/port.ts';
import { PostgresSource } from '../src/sources/postgres/source.ts';
import {
  ensureBroker, fmtRate, fmtRuns, kafkaPort, machineLine, median, RUNS, snapshotDone, startAgent, createSource,
  currentVersion, uniquePrefix, waitFor, Writer, TABLE, sleep, type AgentSettings,
} from './support.ts';
import { ArchiveLag, startArchiver } from './archiving.ts';
import { physicalReferences } from './physical.ts';

const ROWS = Number(process.env.BENCH_ROWS ?? 200_000);
const CHANGES = Number(process.env.BENCH_CHANGES ?? 200_000);
const SUSTAIN_S = Number(process.env.BENCH_SUSTAIN_S ?? 15);
const SNAPSHOT_CONFIGS: AgentSettings[] = (process.env.BENCH_SNAPSHOT ?? '5000x10000,20000x50000').split(',').map((x) => {
  const [b, c] = x.split('x').map(Number);
  return { maxBatchRows: b, snapshotChunkRows: c };
});
const STREAM_CONFIGS = (process.env.BENCH_STREAM ?? '5000,20000').split(',').map(Number);
/** instrumented stage passes per configuration (each replays a whole window) */
const STAGE_RUNS = Number(process.env.BENCH_STAGE_RUNS ?? 1);
/** also time the whole streaming window as one unpaged changes() call (paging cost) */
const SINGLE_QUERY = process.env.BENCH_SINGLE_QUERY === '1';
const ARCHIVE = process.env.BENCH_ARCHIVE !== '0';
/** small, so that segments roll while capture runs and the lag says how far the archive trails */
const ARCHIVE_SEGMENT_MS = Number(process.env.BENCH_ARCHIVE_SEGMENT_MS ?? 1000);

interface Stages {
  /** beginPoll + changes()/snapshotChunk() calls: SQL round trips plus text -> value conversion */
  sourceMs: number;
  /** readWindow's own work around the source calls: events, pages, state */
  windowMs: number;
  encodeMs: number;
  produceMs: number;
  /** this process's CPU time (user + system) while producing */
  produceCpuMs: number;
  events: number;
  pages: number;
  /** changes() time of the first and of the last page of the window (paging cost) */
  firstPageMs: number;
  lastPageMs: number;
}

/**
 * Replays what the agent does from `state0` (same readWindow, same codec, same producer port),
 * timing each stage on its own; stops when `until(state)` holds. Produces to a scratch topic.
 */
async function stagePass(url: string, state0: CaptureState, s: AgentSettings, until: (st: CaptureState) => boolean): Promise<Stages> {
  const prefix = uniquePrefix('stages');
  const src = new PostgresSource(url);
  await src.connect();
  const [meta] = await src.describe([TABLE]);
  const codec = new SingleObjectTableEncoder(meta, prefix);
  const kafka = kafkaPort('bench-stages');
  const topic = `${prefix}.data`;
  const admin = await kafka.admin();
  await admin.ensureTopics([{ topic, partitions: s.partitions ?? 3, replicationFactor: 1 }]);
  await admin.close();
  const producer = kafka.producer(`bench-stages-${prefix}`);
  await producer.init();
  const st: Stages = { sourceMs: 0, windowMs: 0, encodeMs: 0, produceMs: 0, produceCpuMs: 0, events: 0, pages: 0, firstPageMs: -1, lastPageMs: -1 };
  let state = state0;
  try {
    while (!until(state)) {
      let t = performance.now();
      const session = await src.beginPoll();
      let sourceMs = performance.now() - t;
      let inner = 0;
      const timed: PollSession = {
        currentVersion: session.currentVersion,
        minValidVersion: async (m) => {
          const t0 = performance.now();
          try { return await session.minValidVersion(m); } finally { inner += performance.now() - t0; }
        },
        changes: async (m, since, after, limit) => {
          const t0 = performance.now();
          try { return await session.changes(m, since, after, limit); } finally {
            const ms = performance.now() - t0;
            inner += ms;
            if (st.firstPageMs < 0) st.firstPageMs = ms;
            st.lastPageMs = ms;
          }
        },
        snapshotChunk: async (m, after, limit) => {
          const t0 = performance.now();
          try { return await session.snapshotChunk(m, after, limit); } finally { inner += performance.now() - t0; }
        },
        end: () => session.end(),
      };
      const pages = readWindow(timed, [meta], state, { maxBatchRows: s.maxBatchRows, snapshotChunkRows: s.snapshotChunkRows, db: 'bench', topicOf: () => topic });
      let windowMs = 0;
      for (;;) {
        t = performance.now();
        const next = await pages.next();
        windowMs += performance.now() - t;
        if (next.done) break;
        const page = next.value;
        if (isNoop(page, state)) break;
        t = performance.now();
        const records: OutRecord[] = [];
        for (const { event } of page.events) {
          const key = codec.encodeKey(event.key);
          records.push({ key, value: codec.encodeEvent(event) });
          if (event.op === 'd') records.push({ key, value: null });
        }
        st.encodeMs += performance.now() - t;
        t = performance.now();
        const cpu = process.cpuUsage();
        const tx = await producer.begin();
        await tx.send(topic, records);
        await tx.commit();
        st.produceMs += performance.now() - t;
        const used = process.cpuUsage(cpu);
        st.produceCpuMs += (used.user + used.system) / 1000;
        st.events += page.events.length;
        st.pages++;
        state = page.complete
          ? { seq: page.seq, version: page.version, tables: new Map(page.tables.map((x) => [x.table, { ...x, rows: 0 }])) }
          : { ...state, seq: page.seq };
      }
      t = performance.now();
      await session.end();
      sourceMs += performance.now() - t + inner;
      st.sourceMs += sourceMs;
      st.windowMs += windowMs - inner;
    }
  } finally {
    await producer.close();
    await kafka.close();
    await src.close();
  }
  return st;
}

function printStages(label: string, all: Stages[], totalMs: number): void {
  const m = (f: (s: Stages) => number) => median(all.map(f));
  const parts = [
    ['source queries (SQL + text->values)', m((s) => s.sourceMs)],
    ['window building (events, pages)', m((s) => s.windowMs)],
    ['Avro encoding (key + envelope)', m((s) => s.encodeMs)],
    ['Kafka produce + commit', m((s) => s.produceMs)],
  ] as const;
  const sum = parts.reduce((a, [, v]) => a + v, 0);
  const events = m((s) => s.events);
  console.log(`  breakdown (${label}; instrumented pass, one stage at a time, ${all.length === 1 ? 'one pass' : `median of ${all.length}`}; ${events} events in ${m((s) => s.pages)} pages):`);
  for (const [name, ms] of parts) {
    console.log(`    ${name.padEnd(38)} ${(ms / 1000).toFixed(2).padStart(7)} s  ${((100 * ms) / sum).toFixed(0).padStart(3)} %  alone: ${fmtRate(events / (ms / 1000))} events/s`);
  }
  console.log(`    ${'sum of stages'.padEnd(38)} ${(sum / 1000).toFixed(2).padStart(7)} s        (the agent end to end took ${(totalMs / 1000).toFixed(2)} s, incl. start-up)`);
  console.log(`    (Kafka produce: this process was on CPU ${((100 * m((s) => s.produceCpuMs)) / m((s) => s.produceMs)).toFixed(0)} % of the time: kafkajs record encoding vs waiting for the broker)`);
  const first = m((s) => s.firstPageMs);
  if (first >= 0) console.log(`    changes() per page: first page ${first.toFixed(0)} ms, last page ${m((s) => s.lastPageMs).toFixed(0)} ms`);
}

async function singleQueryMs(url: string, since: bigint, limit: number): Promise<number> {
  const src = new PostgresSource(url);
  await src.connect();
  const [meta] = await src.describe([TABLE]);
  const session = await src.beginPoll();
  try {
    const t = performance.now();
    await session.changes(meta, since, null, limit);
    return performance.now() - t;
  } finally {
    await session.end();
    await src.close();
  }
}

async function main(): Promise<void> {
  console.log(machineLine());
  console.log(`capture: ${ROWS.toLocaleString('en')} rows snapshot, ${CHANGES.toLocaleString('en')} changes streamed, 10-column table, median of ${RUNS}`);
  await ensureBroker();
  const db = await createSource(ROWS);
  try {
    // (a) snapshot
    let best: { s: AgentSettings; rate: number; prefix: string; state: CaptureState } | null = null;
    for (const s of SNAPSHOT_CONFIGS) {
      const rates: number[] = [];
      const starts: number[] = [];
      const totals: number[] = [];
      let last: { prefix: string; state: CaptureState } | null = null;
      for (let run = 0; run < RUNS; run++) {
        const prefix = uniquePrefix('snap');
        const t0 = performance.now();
        const a = await startAgent(db.url, prefix, s);
        starts.push(performance.now() - t0);
        await waitFor(a, snapshotDone);
        const ms = performance.now() - t0;
        const events = await a.events();
        await a.stop();
        if (events < ROWS) throw new Error(`snapshot published ${events} events, expected ${ROWS}`);
        rates.push(ROWS / (ms / 1000));
        totals.push(ms);
        last = { prefix, state: a.agent.currentState };
      }
      const rate = median(rates);
      console.log(`snapshot  maxBatchRows=${s.maxBatchRows} snapshotChunkRows=${s.snapshotChunkRows}: ${fmtRate(rate)} rows/s  (runs: ${fmtRuns(rates)}; agent start-up ${(median(starts) / 1000).toFixed(2)} s of ${(median(totals) / 1000).toFixed(2)} s)`);
      if (!best || rate > best.rate) best = { s, rate, ...last! };
      await sleep(200);
    }
    const refs = await physicalReferences(db, ROWS, RUNS);
    console.log(`snapshot to Kafka, agent start-up included: ${(best!.rate / refs.dumpRowsPerSec).toFixed(2)}x pg_dump | psql, ${(best!.rate / refs.copyRowsPerSec).toFixed(2)}x COPY | COPY (the whole way to a standby: bench:apply)`);
    const snapStages: Stages[] = [];
    for (let run = 0; run < STAGE_RUNS; run++) snapStages.push(await stagePass(db.url, emptyState(), best!.s, snapshotDone));
    printStages(`snapshot, maxBatchRows=${best!.s.maxBatchRows} snapshotChunkRows=${best!.s.snapshotChunkRows}`, snapStages, ROWS / best!.rate * 1000);

    // (b) streaming a pre-written backlog: resumes the best snapshot's batch log, so the cursor
    // is where the snapshot left it; each run writes CHANGES new net changes while it is stopped
    const writer = new Writer(db.url, ROWS);
    let state = best!.state;
    const prefix = best!.prefix;
    // the archiver first archives the snapshot's batch log (not measured), so the lag is the streaming's
    const ar = ARCHIVE ? await startArchiver(prefix, ARCHIVE_SEGMENT_MS) : null;
    await ar?.reached(state.seq);
    let bestStream: { maxBatchRows: number; rate: number } | null = null;
    const writeRates: number[] = [];
    for (const maxBatchRows of STREAM_CONFIGS) {
      const s: AgentSettings = { maxBatchRows, snapshotChunkRows: best!.s.snapshotChunkRows };
      const rates: number[] = [];
      const totals: number[] = [];
      const stages: Stages[] = [];
      const single: number[] = [];
      const lag = new ArchiveLag(ar);
      for (let run = 0; run < RUNS; run++) {
        writer.seal();
        writeRates.push(await writer.write(CHANGES));
        const target = await currentVersion(db.url);
        const before = state;
        const t0 = performance.now();
        lag.start();
        const a = await startAgent(db.url, prefix, s);
        await waitFor(a, (st) => st.version >= target);
        const ms = performance.now() - t0;
        const events = await a.events();
        await a.stop();
        if (events !== CHANGES) console.log(`  note: ${events} events published for ${CHANGES} changes written`);
        rates.push(events / (ms / 1000));
        totals.push(ms);
        state = a.agent.currentState;
        await lag.caughtUp(state.seq, t0 + ms);
        // the same window again, one stage at a time
        if (run < STAGE_RUNS) stages.push(await stagePass(db.url, before, s, (st) => st.version >= target));
        if (run === 0 && SINGLE_QUERY) single.push(await singleQueryMs(db.url, before.version, CHANGES + 1));
      }
      const rate = median(rates);
      console.log(`streaming maxBatchRows=${maxBatchRows}: ${fmtRate(rate)} changes/s  (runs: ${fmtRuns(rates)})`);
      lag.print();
      printStages(`streaming, maxBatchRows=${maxBatchRows}`, stages, median(totals));
      if (single.length) console.log(`    the whole window in ONE changes() call (no paging): ${(median(single) / 1000).toFixed(2)} s`);
      if (!bestStream || rate > bestStream.rate) bestStream = { maxBatchRows, rate };
    }
    console.log(`source write rate with change tracking (transactions of 1,000 rows): ${fmtRate(median(writeRates))} changes/s`);

    // (c) sustained: the agent runs while a writer writes for SUSTAIN_S seconds
    if (SUSTAIN_S > 0) {
      const s: AgentSettings = { maxBatchRows: bestStream!.maxBatchRows, snapshotChunkRows: best!.s.snapshotChunkRows };
      const rates: number[] = [];
      const writes: number[] = [];
      const catchUps: number[] = [];
      const lag = new ArchiveLag(ar);
      for (let run = 0; run < RUNS; run++) {
        lag.start();
        const a = await startAgent(db.url, prefix, s);
        await waitFor(a, (st) => st.seq >= 0n && st.version >= 0n);
        const e0 = await a.events();
        const t0 = performance.now();
        const stopAt = Date.now() + SUSTAIN_S * 1000;
        const written0 = writer.written;
        while (Date.now() < stopAt) {
          writer.seal();
          await writer.write(20_000, stopAt);
        }
        const wroteMs = performance.now() - t0;
        const target = await currentVersion(db.url);
        const tEnd = performance.now();
        await waitFor(a, (st) => st.version >= target);
        const ms = performance.now() - t0;
        const doneAt = performance.now();
        catchUps.push(doneAt - tEnd);
        const events = (await a.events()) - e0;
        await a.stop();
        await lag.caughtUp(a.agent.currentState.seq, doneAt);
        writes.push((writer.written - written0) / (wroteMs / 1000));
        rates.push(events / (ms / 1000));
      }
      console.log(`sustained maxBatchRows=${s.maxBatchRows}, writer running ${SUSTAIN_S} s: capture ${fmtRate(median(rates))} events/s (runs: ${fmtRuns(rates)}); ` +
        `writer ${fmtRate(median(writes))} changes/s; catch-up after the writer stopped ${(median(catchUps) / 1000).toFixed(2)} s`);
      lag.print();
    }
    await ar?.stop(true);
  } finally {
    await db.drop();
  }
}

await main();
process.exit(0);
