// Breadth: many tracked tables, mostly idle. A source with BENCH_TABLES small tables (one row
// each), all change-tracked, and `ctrelay capture` as a process with default settings. After the
// snapshot: capture's CPU while nothing changes (from /proc, over BENCH_IDLE_S seconds), and the
// time from a commit on one table (a different one each time) to capture's published version
// reaching it (scraped from its /metrics every 10 ms): a poll cycle over every table plus the
// publish. Aim: at most 1 s.
//
//   npm run bench:breadth      BENCH_TABLES=1000 BENCH_IDLE_S=20 BENCH_PROBES=10
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { ctEnable } from '../src/sources/postgres/ct-admin.ts';
import { createPgDatabase } from '../test/support/db.ts';
import { run, stop } from './end-to-end.ts';
import { BROKERS, ensureBroker, machineLine, median, sleep, uniquePrefix } from './support.ts';

const TABLES = Number(process.env.BENCH_TABLES ?? 1000);
const IDLE_S = Number(process.env.BENCH_IDLE_S ?? 20);
const PROBES = Number(process.env.BENCH_PROBES ?? 10);
const PORT = 19464;
const name = (i: number) => `t${String(i).padStart(4, '0')}`;

async function publishedVersion(): Promise<bigint | null> {
  try {
    const text = await (await fetch(`http://127.0.0.1:${PORT}/metrics`)).text();
    const m = /^ctrelay_capture_published_version (\d+)/m.exec(text);
    return m ? BigInt(m[1]) : null;
  } catch {
    return null;
  }
}

/** user + system CPU seconds of a process so far (/proc/<pid>/stat, clock ticks of 10 ms). */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function main(): Promise<void> {
  console.log(machineLine());
  console.log(`breadth: ${TABLES} tracked tables, capture with default settings (pollIntervalMs 200)`);
  await ensureBroker();
  const db = await createPgDatabase('ctr_bench_wide');
  const dir = mkdtempSync(join(tmpdir(), 'ctrelay-wide-'));
  const c = new pg.Client({ connectionString: db.url });
  await c.connect();
  let capture: ReturnType<typeof run> | null = null;
  try {
    const tables = Array.from({ length: TABLES }, (_, i) => name(i + 1));
    await c.query(tables.map((t) => `CREATE TABLE ${t} (id int PRIMARY KEY, v int); INSERT INTO ${t} VALUES (1, 0);`).join('\n'));
    let t0 = performance.now();
    await ctEnable(db.url, tables.map((table) => ({ schema: 'public', table })));
    console.log(`ct enable of ${TABLES} tables: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    const config = join(dir, 'ctrelay.yaml');
    writeFileSync(config, [
      'source:', `  url: ${db.url}`, '  tables:', ...tables.map((t) => `    - public.${t}`),
      'kafka:', `  brokers: [${BROKERS.join(', ')}]`, `  topicPrefix: ${uniquePrefix('wide')}`, '  partitions: 1',
      'standby:', '  id: wide', `  url: ${db.url}`,
      'http:', `  capture: { port: ${PORT} }`, '',
    ].join('\n'));
    const target = BigInt((await c.query('SELECT ctrelay.current_version()::text AS v')).rows[0].v);
    t0 = performance.now();
    capture = run('capture', config);
    for (;;) {
      if (capture.child.exitCode !== null) throw new Error(`ctrelay capture exited with ${capture.child.exitCode}:\n${capture.output()}`);
      const v = await publishedVersion();
      if (v !== null && v >= target) break;
      await sleep(100);
    }
    console.log(`start-up and snapshot of ${TABLES} one-row tables (topic creation included): ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    await sleep(2000);
    const cpu0 = cpuSeconds(capture.child.pid!);
    await sleep(IDLE_S * 1000);
    const idle = (cpuSeconds(capture.child.pid!) - cpu0) / IDLE_S;
    console.log(`idle: capture used ${(idle * 100).toFixed(1)} % of one core over ${IDLE_S} s`);
    const lat: number[] = [];
    for (let p = 0; p < PROBES; p++) {
      const t = tables[Math.floor(((p + 0.5) * TABLES) / PROBES)];
      await c.query(`UPDATE ${t} SET v = v + 1`);
      const at = performance.now();
      const v = BigInt((await c.query('SELECT ctrelay.current_version()::text AS v')).rows[0].v);
      for (;;) {
        const pv = await publishedVersion();
        if (pv !== null && pv >= v) break;
        if (performance.now() - at > 60_000) throw new Error(`the change to ${t} was not published within 60 s`);
        await sleep(10);
      }
      lat.push(performance.now() - at);
      await sleep(300 + Math.random() * 500);
    }
    console.log(`commit on one of ${TABLES} tables -> published: median ${(median(lat) / 1000).toFixed(3)} s, max ${(Math.max(...lat) / 1000).toFixed(3)} s (${PROBES} probes; includes up to one poll interval of waiting)`);
  } finally {
    if (capture) await stop(capture.child);
    await c.end();
    await db.drop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().then(() => process.exit(0), (err) => {
  console.error(err);
  process.exit(1);
});
