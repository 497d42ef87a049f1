// `ctrelay verify` speed on equal 1,000,000-row tables (BENCH_ROWS), PostgreSQL -> PostgreSQL and
// PostgreSQL -> MariaDB, against the physical limit of reading both tables once: `COPY (SELECT * ...)
// TO STDOUT` to /dev/null on PostgreSQL, `mariadb --quick -e 'SELECT * ...'` to /dev/null on
// MariaDB. The standbys are filled directly (COPY, LOAD DATA) with the types ctrelay's applier
// creates, plus their ctrelay_state row. Prints medians of BENCH_RUNS runs; asserts nothing.
//
//   npm run bench:verify
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { stringify } from 'yaml';
import { createMariaDatabase, createPgDatabase, type ThrowawayDb } from '../test/support/db.ts';
import { createSource, currentVersion, fmtRate, machineLine, median, RUNS } from './support.ts';

const ROWS = Number(process.env.BENCH_ROWS ?? 1_000_000);
const dir = mkdtempSync(join(tmpdir(), 'ctrelay-bench-verify-'));
// extra verify options, e.g. BENCH_VERIFY_ARGS='--chunk-rows 50000'
const EXTRA = (process.env.BENCH_VERIFY_ARGS ?? '').split(' ').filter(Boolean);
const COLUMNS = 'id, customer, qty, name, email, amount, created, active, score, note';

function psql(url: string, sql: string, out = '/dev/null'): void {
  execFileSync('sh', ['-c', `psql "$U" -qAtX -c "$Q" > ${out}`], { env: { ...process.env, U: url, Q: sql }, stdio: ['ignore', 'ignore', 'inherit'] });
}

function mariadb(db: string, args: string[], out = '/dev/null'): void {
  const r = spawnSync('sh', ['-c', `mariadb -h127.0.0.1 -uroot --local-infile=1 "$@" > ${out}`, 'sh', db, ...args], { stdio: ['ignore', 'ignore', 'inherit'] });
  if (r.status !== 0) throw new Error(`mariadb ${args.join(' ')} failed`);
}

function seconds(fn: () => void): number {
  const t = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t) / 1e9;
}

async function pgStandby(source: ThrowawayDb, version: bigint): Promise<ThrowawayDb> {
  const db = await createPgDatabase('ctr_bench_vpg');
  const c = new pg.Client({ connectionString: db.url });
  await c.connect();
  await c.query(`CREATE SCHEMA bench; CREATE TABLE bench.orders (id int8 PRIMARY KEY, customer int4 NOT NULL, qty int4, name text, email text,
    amount numeric(12,2), created timestamptz, active bool, score float8, note text);
    CREATE SCHEMA ctrelay; CREATE TABLE ctrelay.ctrelay_state (source_id text PRIMARY KEY, batch_seq bigint, version bigint, batch_offset bigint);
    INSERT INTO ctrelay.ctrelay_state VALUES ('bench', 0, ${version}, 0);`);
  await c.end();
  execFileSync('sh', ['-c', 'psql "$S" -qAtX -c "COPY bench.orders TO STDOUT" | psql "$T" -qAtX -c "COPY bench.orders FROM STDIN"'], { env: { ...process.env, S: source.url, T: db.url } });
  psql(db.url, 'VACUUM ANALYZE bench.orders');
  return db;
}

async function mariaStandby(source: ThrowawayDb, version: bigint): Promise<ThrowawayDb> {
  const db = await createMariaDatabase('ctr_bench_vmy');
  const tsv = join(dir, 'orders.tsv');
  psql(source.url, `COPY (SELECT id, customer, qty, name, email, amount, to_char(created AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US'), active::int, score, note FROM bench.orders) TO STDOUT`, tsv);
  mariadb(db.name, ['-e', `CREATE TABLE orders (id BIGINT PRIMARY KEY, customer INT NOT NULL, qty INT, name LONGTEXT, email LONGTEXT, amount DECIMAL(12,2),
    created DATETIME(6), active TINYINT(1), score DOUBLE, note LONGTEXT);
    LOAD DATA LOCAL INFILE '${tsv}' INTO TABLE orders;
    CREATE TABLE ctrelay_state (source_id VARCHAR(255) PRIMARY KEY, batch_seq BIGINT, version BIGINT, batch_offset BIGINT);
    INSERT INTO ctrelay_state VALUES ('bench', 0, ${version}, 0); ANALYZE TABLE orders;`]);
  return db;
}

function verifyOnce(source: ThrowawayDb, standby: ThrowawayDb, kind: string): number {
  const file = join(dir, `${kind}.yaml`);
  writeFileSync(file, stringify({
    source: { id: 'bench', url: source.url, tables: ['bench.orders'] },
    kafka: { brokers: ['127.0.0.1:19092'] },
    standby: { id: `bench-${kind}`, kind, url: standby.url },
    log: { level: 'warn' },
  }));
  let code: number | null = null;
  const s = seconds(() => {
    code = spawnSync(process.execPath, [join(import.meta.dirname, '..', 'bin', 'ctrelay.js'), 'verify', '-c', file, ...EXTRA], { stdio: ['ignore', 'ignore', 'inherit'] }).status;
  });
  if (code !== 0) throw new Error(`verify against ${kind} exited ${code}: the bench's tables should be equal`);
  return s;
}

async function main(): Promise<void> {
  console.log(`bench:verify — ${ROWS.toLocaleString('en')} rows, 10 columns, medians of ${RUNS} runs`);
  console.log(machineLine());
  const source = await createSource(ROWS);
  const version = await currentVersion(source.url);
  const standbys = { postgres: await pgStandby(source, version), mariadb: await mariaStandby(source, version) };
  try {
    const full = {
      'PostgreSQL COPY (SELECT *) TO STDOUT': () => psql(source.url, 'COPY (SELECT * FROM bench.orders) TO STDOUT'),
      'MariaDB mariadb --quick SELECT *': () => mariadb(standbys.mariadb.name, ['--quick', '-e', `SELECT ${COLUMNS} FROM orders`]),
    };
    for (const [what, fn] of Object.entries(full)) {
      const runs = Array.from({ length: RUNS }, () => seconds(fn));
      console.log(`${what.padEnd(40)} ${median(runs).toFixed(2)} s  (${fmtRate(ROWS / median(runs))} rows/s; runs ${runs.map((x) => x.toFixed(2)).join(', ')})`);
    }
    for (const kind of ['postgres', 'mariadb'] as const) {
      const runs = Array.from({ length: RUNS }, () => verifyOnce(source, standbys[kind], kind));
      console.log(`${`verify PostgreSQL -> ${kind === 'postgres' ? 'PostgreSQL' : 'MariaDB'}`.padEnd(40)} ${median(runs).toFixed(2)} s  (${fmtRate(ROWS / median(runs))} rows/s; runs ${runs.map((x) => x.toFixed(2)).join(', ')}; process start included)`);
    }
  } finally {
    await Promise.all([source.drop(), standbys.postgres.drop(), standbys.mariadb.drop()]);
  }
}

await main();
