// Replication lag under a steady workload, measured outside ctrelay: pgbench TPC-B at fixed rates
// (`pgbench -R`) on a change-tracked source while `ctrelay capture` and `ctrelay apply` run as real
// processes (default settings, async mode) to a PostgreSQL standby. A heartbeat row on the source
// is updated every 100 ms (its counter and the client's clock after the commit returned); a watcher
// reads the standby every 10 ms and notes when each counter value arrived. Lag = arrival - commit,
// per heartbeat (a heartbeat the standby skipped because a later one arrived in the same window
// arrived then too). Prints p50 / p99 / max per rate and the change rate the source really made.
//
//   npm run bench:lag      BENCH_RATES=250,1250 (pgbench transactions/s; TPC-B writes 4 rows each)
//                          BENCH_SECONDS=30 BENCH_SCALE=10
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { ctEnable } from '../src/sources/postgres/ct-admin.ts';
import { createPgDatabase, type ThrowawayDb } from '../test/support/db.ts';
import { pgbenchSchema, pgbenchTps } from '../test/support/pgbench.ts';
import { run, stop } from './end-to-end.ts';
import { BROKERS, ensureBroker, fmtRate, machineLine, sleep, uniquePrefix } from './support.ts';

const RATES = (process.env.BENCH_RATES ?? '250,1250').split(',').map(Number);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 30);
const SCALE = Number(process.env.BENCH_SCALE ?? 10);
const TABLES = ['pgbench_branches', 'pgbench_tellers', 'pgbench_accounts', 'pgbench_history', 'heartbeat'];

const quantile = (xs: number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
};

async function client(url: string): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  return c;
}

/** One rate: heartbeats and the watcher around a pgbench run; returns the lags in ms. */
async function measure(source: ThrowawayDb, standby: ThrowawayDb, rate: number): Promise<{ lags: number[]; tps: number }> {
  const writer = await client(source.url);
  const watcher = await client(standby.url);
  const committed = new Map<number, number>();
  const lags: number[] = [];
  let running = true;
  let last = Number((await writer.query('SELECT n FROM heartbeat WHERE id = 1')).rows[0].n);
  const beats = (async () => {
    while (running) {
      const n = Number((await writer.query('UPDATE heartbeat SET n = n + 1 WHERE id = 1 RETURNING n')).rows[0].n);
      committed.set(n, performance.now());
      await sleep(100);
    }
  })();
  const watch = (async () => {
    while (running || committed.size > 0) {
      const r = await watcher.query('SELECT n FROM heartbeat WHERE id = 1');
      const n = Number(r.rows[0]?.n ?? 0);
      const now = performance.now();
      for (; last < n; ) {
        last++;
        const at = committed.get(last);
        if (at !== undefined) lags.push(now - at);
        committed.delete(last);
      }
      if (!running && committed.size > 0 && now - Math.min(...committed.values()) > 60_000) throw new Error('heartbeats never arrived on the standby');
      await sleep(10);
    }
  })();
  try {
    const tps = await pgbenchTps(source.url, ['-c', '4', '-j', '2', '-R', String(rate), '-T', String(SECONDS)]);
    running = false;
    await beats;
    await watch;
    return { lags, tps };
  } finally {
    running = false;
    await writer.end();
    await watcher.end();
  }
}

async function main(): Promise<void> {
  console.log(machineLine());
  console.log(`lag: pgbench TPC-B at ${RATES.join(' and ')} tps (4 tracked rows each) for ${SECONDS} s, heartbeat every 100 ms, capture + apply processes with default settings (async)`);
  await ensureBroker();
  const source = await createPgDatabase('ctr_bench_lag');
  const standby = await createPgDatabase('ctr_bench_lagsb');
  const dir = mkdtempSync(join(tmpdir(), 'ctrelay-lag-'));
  const admin = await client(source.url);
  let capture: ReturnType<typeof run> | null = null;
  let apply: ReturnType<typeof run> | null = null;
  try {
    await admin.query(pgbenchSchema(SCALE, true));
    await admin.query('CREATE TABLE heartbeat (id int PRIMARY KEY, n bigint NOT NULL); INSERT INTO heartbeat VALUES (1, 0)');
    await admin.query('VACUUM ANALYZE');
    await ctEnable(source.url, TABLES.map((table) => ({ schema: 'public', table })));
    const config = join(dir, 'ctrelay.yaml');
    writeFileSync(config, [
      'source:', `  url: ${source.url}`, `  tables: [${TABLES.map((t) => `public.${t}`).join(', ')}]`,
      'kafka:', `  brokers: [${BROKERS.join(', ')}]`, `  topicPrefix: ${uniquePrefix('lag')}`,
      'standby:', '  id: lag', `  url: ${standby.url}`,
      'http:', '  capture: { port: 19464 }', '  apply: { port: 19465 }', '',
    ].join('\n'));
    capture = run('capture', config);
    apply = run('apply', config);
    // the snapshot first: every table on the standby, accounts complete
    const sb = await client(standby.url);
    try {
      for (;;) {
        for (const [name, p] of [['capture', capture], ['apply', apply]] as const) {
          if (p.child.exitCode !== null) throw new Error(`ctrelay ${name} exited with ${p.child.exitCode}:\n${p.output()}`);
        }
        const r = await sb.query(`SELECT (SELECT count(*) FROM pgbench_accounts)::int AS a, (SELECT count(*) FROM heartbeat)::int AS h`).catch(() => null);
        if (r && r.rows[0].a === SCALE * 100_000 && r.rows[0].h === 1) break;
        await sleep(200);
      }
    } finally {
      await sb.end();
    }
    console.log('\n| pgbench tps asked | made | changes/s | heartbeats | lag p50 | lag p99 | lag max |');
    console.log('|---|---|---|---|---|---|---|');
    for (const rate of RATES) {
      const { lags, tps } = await measure(source, standby, rate);
      const f = (ms: number) => `${(ms / 1000).toFixed(3)} s`;
      console.log(`| ${rate} | ${fmtRate(tps)} | ${fmtRate(tps * 4 + 10)} | ${lags.length} | ${f(quantile(lags, 0.5))} | ${f(quantile(lags, 0.99))} | ${f(Math.max(...lags))} |`);
    }
  } finally {
    await Promise.all([capture && stop(capture.child), apply && stop(apply.child)]);
    await admin.end();
    await source.drop();
    await standby.drop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().then(() => process.exit(0), (err) => {
  console.error(err);
  process.exit(1);
});
