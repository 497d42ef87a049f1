// Failover drills, measured: BENCH_DRILLS (5) `ctrelay drill` runs of each kind, each on a fresh
// pipeline (a 10,000-row bench.orders source, a PostgreSQL standby, real capture and apply
// processes, async mode) while a workload inserts ~2,000 rows/s. Prints the medians of RPO (changes
// and seconds) and RTO as the drill reports them; asserts nothing.
//
//   npm run bench:failover
import { readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { stringify } from 'yaml';
import { createPgDatabase } from '../test/support/db.ts';
import { runCtrelay, spawnCtrelay } from '../test/support/pipeline.ts';
import { BROKERS, createSource, currentVersion, ensureBroker, machineLine, median, sleep, TABLE_NAME, uniquePrefix } from './support.ts';

const DRILLS = Number(process.env.BENCH_DRILLS ?? 5);
const ROWS = 10_000;

/** Inserts 40 rows every ~20 ms (~2,000 rows/s) above the loaded keys until stopped. */
function workload(url: string) {
  let stop = false;
  let rows = 0;
  const started = Date.now();
  const done = (async () => {
    const c = new pg.Client({ connectionString: url });
    // a planned drill demotes the source and ends this session: the workload stops there
    c.on('error', () => undefined);
    await c.connect();
    try {
      for (let next = ROWS + 1; !stop; next += 40) {
        const t = Date.now();
        await c.query(`INSERT INTO bench.orders (id, customer, qty, name) SELECT g, g % 1000, 1, 'w' FROM generate_series($1::int8, $1::int8 + 39) g`, [next]);
        rows += 40;
        await sleep(Math.max(0, 20 - (Date.now() - t)));
      }
    } catch {
      // ended by the demotion
    } finally {
      await c.end().catch(() => undefined);
    }
  })();
  return { stop: async () => { stop = true; await done; return rows / ((Date.now() - started) / 1000); } };
}

async function once(kind: 'planned' | 'unplanned'): Promise<{ rpoChanges: number; rpoSeconds: number; rtoSeconds: number; rate: number }> {
  const source = await createSource(ROWS);
  const standby = await createPgDatabase('ctr_bench_drill');
  const file = join(tmpdir(), `${uniquePrefix('drill')}.yaml`);
  const json = `${file}.json`;
  writeFileSync(file, stringify({
    source: { id: 'bench', url: source.url, tables: [TABLE_NAME], pollIntervalMs: 100 },
    kafka: { brokers: BROKERS, topicPrefix: uniquePrefix('drill'), partitions: 1 },
    standby: { id: 'bench-dr', url: standby.url },
    http: { capture: { port: 0 }, apply: { port: 0 } },
    log: { level: 'warn' },
  }));
  const procs = [spawnCtrelay(['capture', '-c', file]), spawnCtrelay(['apply', '-c', file])];
  try {
    const target = await currentVersion(source.url);
    const s = new pg.Client({ connectionString: standby.url });
    await s.connect();
    for (;;) {
      const r = await s.query(`SELECT version::text AS v FROM ctrelay.ctrelay_state WHERE source_id = 'bench'`).catch(() => ({ rows: [] as { v: string }[] }));
      if (r.rows[0] && BigInt(r.rows[0].v) >= target) break;
      await sleep(100);
    }
    await s.end();
    const work = workload(source.url);
    await sleep(2000);
    const r = await runCtrelay(['drill', '-c', file, '--kind', kind, '--cut-within', '2s', '--json', json], {}, 300_000);
    const rate = await work.stop();
    if (r.code !== 0) throw new Error(`drill ${kind} exited ${r.code}: ${r.stderr.slice(-2000)}`);
    const report = JSON.parse(readFileSync(json, 'utf8'));
    return { rpoChanges: report.rpo.changes, rpoSeconds: report.rpo.seconds, rtoSeconds: report.rto.seconds, rate };
  } finally {
    for (const p of procs) await p.kill('SIGKILL');
    await source.drop();
    await standby.drop();
  }
}

async function main(): Promise<void> {
  await ensureBroker();
  console.log(`bench:failover — ${DRILLS} drills of each kind, async mode, workload ~2,000 rows/s, PostgreSQL -> PostgreSQL`);
  console.log(machineLine());
  for (const kind of ['planned', 'unplanned'] as const) {
    const runs: Awaited<ReturnType<typeof once>>[] = [];
    for (let i = 0; i < DRILLS; i++) runs.push(await once(kind));
    const m = (f: (x: (typeof runs)[number]) => number) => median(runs.map(f));
    console.log(`${kind.padEnd(10)} RTO ${m((x) => x.rtoSeconds).toFixed(3)} s, RPO ${m((x) => x.rpoSeconds).toFixed(3)} s / ${m((x) => x.rpoChanges)} changes ` +
      `(medians; RTO runs ${runs.map((x) => x.rtoSeconds.toFixed(2)).join(', ')}; RPO s ${runs.map((x) => x.rpoSeconds.toFixed(2)).join(', ')}; workload ~${Math.round(m((x) => x.rate))} rows/s)`);
  }
}

await main();
