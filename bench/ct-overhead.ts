// What ctrelay's PostgreSQL change tracking costs the source: pgbench TPC-B (its own built-in
// script, `pgbench -n -c C -j C -T S`) on the same tables without tracking and then with tracking
// on pgbench_branches, _tellers, _accounts and _history (given an identity key, as pgbench's
// INSERT names its columns). Nothing else of ctrelay runs (no capture): this is the cost of the
// triggers and of version assignment alone. Prints tps per run, medians and the ratio per client
// count. Env: BENCH_SCALE (10), BENCH_SECONDS (15), BENCH_CLIENTS ("2,8"), BENCH_RUNS (3).
import pg from 'pg';
import { ctEnable, ctDisable } from '../src/sources/postgres/ct-admin.ts';
import { createPgDatabase } from '../test/support/db.ts';
import { pgbenchSchema, pgbenchTps } from '../test/support/pgbench.ts';
import { RUNS, fmtRate, machineLine, median } from './support.ts';

const SCALE = Number(process.env.BENCH_SCALE ?? 10);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 15);
const CLIENTS = (process.env.BENCH_CLIENTS ?? '2,8').split(',').map(Number);
const TABLES = ['pgbench_branches', 'pgbench_tellers', 'pgbench_accounts', 'pgbench_history'].map((table) => ({ schema: 'public', table }));

function pgbench(url: string, clients: number): Promise<number> {
  return pgbenchTps(url, ['-c', String(clients), '-j', String(clients), '-T', String(SECONDS)]);
}

async function sql(url: string, text: string): Promise<void> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query(text);
  } finally {
    await c.end();
  }
}

async function main(): Promise<void> {
  console.log(machineLine());
  console.log(`pgbench TPC-B, scale ${SCALE}, ${SECONDS} s per run, ${RUNS} runs per setting, clients ${CLIENTS.join(' and ')}`);
  const db = await createPgDatabase('ctr_bench_ct');
  try {
    await sql(db.url, pgbenchSchema(SCALE, true));
    await sql(db.url, 'VACUUM ANALYZE');
    const results = new Map<string, number[]>();
    // alternate without/with per run, so drift of the machine (other load, checkpoints) hits both
    for (let run = 0; run < RUNS; run++) {
      for (const tracked of [false, true]) {
        if (tracked) await ctEnable(db.url, TABLES);
        for (const clients of CLIENTS) {
          await sql(db.url, 'CHECKPOINT');
          const tps = await pgbench(db.url, clients);
          const key = `${clients}:${tracked}`;
          results.set(key, [...(results.get(key) ?? []), tps]);
          console.log(`  run ${run + 1}, ${clients} clients, ${tracked ? 'with' : 'without'} change tracking: ${fmtRate(tps)} tps`);
        }
        if (tracked) await ctDisable(db.url, TABLES);
      }
    }
    console.log('\n| clients | without tracking (tps) | with tracking (tps) | ratio |');
    console.log('|---|---|---|---|');
    for (const clients of CLIENTS) {
      const without = median(results.get(`${clients}:false`)!);
      const withCt = median(results.get(`${clients}:true`)!);
      console.log(`| ${clients} | ${fmtRate(without)} | ${fmtRate(withCt)} | ${(withCt / without).toFixed(2)} |`);
    }
  } finally {
    await db.drop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
