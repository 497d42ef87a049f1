// Large values end to end, as real processes: `ctrelay capture` and `ctrelay apply` (PostgreSQL
// source -> Kafka -> PostgreSQL standby) replicate transactions of rows with one bytea value of
// BENCH_SIZES megabytes each (default 1,16,64; BENCH_ROWS rows per transaction, default 4), and
// the bench prints per size the seconds from commit until the standby applied it, the throughput
// in MB of values per second, and the peak RSS (VmHWM) of capture and apply so far. Prints numbers,
// asserts nothing.
//
//   node --import tsx bench/large-values.ts
//   BENCH_SIZES=1,16,64,256 BENCH_ROWS=4 KAFKA_BROKERS=127.0.0.1:19092 node --import tsx bench/large-values.ts
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { stringify } from 'yaml';
import { ctEnable } from '../src/sources/postgres/ct-admin.ts';
import { createPgDatabase } from '../test/support/db.ts';
import { BROKERS, ensureBroker, machineLine, sleep, uniquePrefix } from './support.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const SIZES = (process.env.BENCH_SIZES ?? '1,16,64').split(',').map(Number).filter((n) => n > 0);
const ROWS = Number(process.env.BENCH_ROWS ?? 4);
const MiB = 1 << 20;

function peakRssMb(child: ChildProcess): number {
  try {
    const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
    return m ? Math.round(Number(m[1]) / 1024) : NaN;
  } catch {
    return NaN;
  }
}

let stopping = false;

function ctrelay(args: string[]): ChildProcess {
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'ctrelay.js'), ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (d: string) => (err = (err + d).slice(-4000)));
  child.on('exit', (code, signal) => {
    if (!stopping) console.error(`ctrelay ${args[0]} exited (${code ?? signal}):\n${err}`);
  });
  return child;
}

async function main(): Promise<void> {
  console.log(machineLine());
  await ensureBroker();
  const source = await createPgDatabase('bench_large_src');
  const standby = await createPgDatabase('bench_large_sby');
  const src = new pg.Client({ connectionString: source.url });
  const sby = new pg.Client({ connectionString: standby.url });
  const procs: ChildProcess[] = [];
  try {
    await src.connect();
    await sby.connect();
    await src.query('CREATE TABLE blobs (id int PRIMARY KEY, b bytea)');
    await ctEnable(source.url, [{ schema: 'public', table: 'blobs' }]);
    const dir = mkdtempSync(join(tmpdir(), 'ctrelay-bench-'));
    const file = join(dir, 'ctrelay.yaml');
    writeFileSync(file, stringify({
      source: { id: 'src', url: source.url, tables: ['public.blobs'], pollIntervalMs: 100 },
      kafka: { brokers: BROKERS, topicPrefix: uniquePrefix('blarge'), partitions: 1 },
      standby: { url: standby.url },
      http: { capture: { port: 0 }, apply: { port: 0 } },
      log: { level: 'warn' },
    }));
    const capture = ctrelay(['capture', '-c', file]);
    const apply = ctrelay(['apply', '-c', file]);
    procs.push(capture, apply);
    const applied = async () => {
      const r = await sby.query(`SELECT max(version)::text AS v FROM ctrelay.ctrelay_state`).catch(() => ({ rows: [{ v: null }] }));
      return r.rows[0].v === null ? -1n : BigInt(r.rows[0].v);
    };
    const current = async () => BigInt((await src.query(`SELECT ctrelay.current_version()::text AS v`)).rows[0].v);
    // the (empty) snapshot first
    for (const target = await current(); (await applied()) < target; ) await sleep(100);
    console.log(`idle: capture ${peakRssMb(capture)} MB, apply ${peakRssMb(apply)} MB peak RSS`);
    console.log('value MB | rows | s commit->standby | MB/s | capture peak RSS MB | apply peak RSS MB');
    let id = 0;
    for (const size of SIZES) {
      const values = Array.from({ length: ROWS }, () => randomBytes(size * MiB));
      await src.query('BEGIN');
      for (const v of values) await src.query('INSERT INTO blobs VALUES ($1, $2)', [++id, v]);
      await src.query('COMMIT');
      const started = Date.now();
      const target = await current();
      while ((await applied()) < target) {
        if (capture.exitCode !== null || apply.exitCode !== null) throw new Error('a ctrelay process exited');
        await sleep(50);
      }
      const s = (Date.now() - started) / 1000;
      console.log(`${size} | ${ROWS} | ${s.toFixed(1)} | ${((size * ROWS) / s).toFixed(1)} | ${peakRssMb(capture)} | ${peakRssMb(apply)}`);
    }
  } finally {
    stopping = true;
    for (const p of procs) p.kill('SIGTERM');
    await Promise.all(procs.map((p) => (p.exitCode !== null ? null : new Promise((r) => p.once('exit', r)))));
    await src.end().catch(() => undefined);
    await sby.end().catch(() => undefined);
    await source.drop();
    await standby.drop();
  }
}

await main();
