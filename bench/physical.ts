// The physical references the benchmarks compare ctrelay with, on the same run and the same table:
// `pg_dump -t bench.orders src | psql fresh` (what an operator would do by hand) and
// `COPY bench.orders TO STDOUT | COPY bench.orders FROM STDIN` into a fresh database (the fastest
// way PostgreSQL moves a table between databases). Each run copies into a new database and checks
// that every row arrived, so a copy that wrote nothing cannot pass as fast.
import { spawnSync } from 'node:child_process';
import pg from 'pg';
import { createPgDatabase, type ThrowawayDb } from '../test/support/db.ts';
import { fmtRate, median, TABLE_NAME } from './support.ts';

export async function pgCount(url: string): Promise<number> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return Number((await c.query(`SELECT count(*) AS n FROM ${TABLE_NAME}`)).rows[0].n);
  } finally {
    await c.end();
  }
}

/** The copied table must hold every source row. */
export function expectRows(what: string, got: number, want: number): void {
  if (got !== want) throw new Error(`${what}: the target holds ${got} rows of ${TABLE_NAME}, the source ${want}`);
}

// ctrelay's tracking triggers are left out of the copied DDL: they call functions the fresh database lacks
const NO_TRIGGERS = `grep -vF -e 'CREATE TRIGGER ' -e 'ENABLE ALWAYS TRIGGER '`;

function bash(script: string, env: Record<string, string>, what: string): void {
  const r = spawnSync('bash', ['-o', 'pipefail', '-c', script], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'inherit'] });
  if (r.status !== 0) throw new Error(`${what} exited ${r.status}`);
}

async function timedCopy(source: ThrowawayDb, want: number, what: string, prepare: string | null, copy: string): Promise<number> {
  const target = await createPgDatabase('ctr_bench_ref');
  try {
    const env = { S: source.url, T: target.url };
    bash(`psql "$T" -qX -c 'CREATE SCHEMA bench'`, env, 'CREATE SCHEMA');
    if (prepare) bash(prepare, env, `${what} (schema)`);
    const t0 = performance.now();
    bash(copy, env, what);
    const ms = performance.now() - t0;
    expectRows(what, await pgCount(target.url), want);
    return ms;
  } finally {
    await target.drop();
  }
}

/** `pg_dump -t bench.orders | psql` into a fresh database (table, data, key), timed. */
export function dumpOnce(source: ThrowawayDb, want: number): Promise<number> {
  return timedCopy(source, want, 'pg_dump | psql', null,
    `pg_dump -t ${TABLE_NAME} "$S" | ${NO_TRIGGERS} | psql -qX -v ON_ERROR_STOP=1 "$T" > /dev/null`);
}

/** COPY TO STDOUT | COPY FROM STDIN into a fresh database whose table (and key) exists already, timed. */
export function copyOnce(source: ThrowawayDb, want: number): Promise<number> {
  return timedCopy(source, want, 'COPY | COPY',
    `pg_dump -s -t ${TABLE_NAME} "$S" | ${NO_TRIGGERS} | psql -qX -v ON_ERROR_STOP=1 "$T" > /dev/null`,
    `psql "$S" -qX -c 'COPY ${TABLE_NAME} TO STDOUT' | psql "$T" -qX -v ON_ERROR_STOP=1 -c 'COPY ${TABLE_NAME} FROM STDIN'`);
}

export interface References { dumpRowsPerSec: number; copyRowsPerSec: number }

/** Both references, `runs` times each; prints them and returns the medians in rows/s. */
export async function physicalReferences(source: ThrowawayDb, rows: number, runs: number): Promise<References> {
  const dumps: number[] = [];
  const copies: number[] = [];
  for (let i = 0; i < runs; i++) {
    dumps.push(await dumpOnce(source, rows));
    copies.push(await copyOnce(source, rows));
  }
  const rate = (ms: number[]) => rows / (median(ms) / 1000);
  const fmt = (ms: number[]) => `${fmtRate(rate(ms))} rows/s (${(median(ms) / 1000).toFixed(2)} s; runs ${ms.map((x) => (x / 1000).toFixed(2)).join(', ')})`;
  console.log(`physical references on this run, ${rows.toLocaleString('en')} rows of ${TABLE_NAME} into a fresh database:`);
  console.log(`  pg_dump -t | psql  ${fmt(dumps)}`);
  console.log(`  COPY | COPY        ${fmt(copies)}`);
  return { dumpRowsPerSec: rate(dumps), copyRowsPerSec: rate(copies) };
}
