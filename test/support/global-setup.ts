// vitest globalSetup of the integration project: the local PostgreSQL, MariaDB and Kafka must answer
// before any test file runs. KAFKA_BROKERS points at an existing cluster; otherwise
// deploy/local/kafka.sh starts the local broker.
//
// Several test runs may share this checkout (and so its one local broker). Each run holds a lease
// file while it runs; the broker is stopped at teardown only when the last lease goes and the broker
// was started by a test run, so a broker someone started by hand is left running.
import type { TestProject } from 'vitest/node';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';
import mysql from 'mysql2/promise';
import { MYSQL_ADMIN_URL, PG_ADMIN_URL } from './db.ts';

const run = promisify(execFile);
// not imported from kafka.ts: that module imports vitest's worker API, which the main process lacks
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const KAFKA_SH = join(ROOT, 'deploy', 'local', 'kafka.sh');
const KAFKA_STATE = join(ROOT, 'deploy', 'local', '.kafka');
const LEASES = join(KAFKA_STATE, 'leases');
const STARTED_BY_TESTS = join(KAFKA_STATE, 'started-by-tests');

declare module 'vitest' {
  export interface ProvidedContext {
    kafkaBrokers: string[];
    /** true when the brokers are deploy/local/kafka.sh's, which tests may kill and restart */
    kafkaLocal: boolean;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function answers(check: () => Promise<void>): Promise<boolean> {
  try {
    await check();
    return true;
  } catch {
    return false;
  }
}

const isLocal = (url: string) => ['127.0.0.1', 'localhost', '[::1]'].includes(new URL(url).hostname);

async function ensureDatabase(name: string, url: string, check: () => Promise<void>, startCmd: string): Promise<void> {
  if (await answers(check)) return;
  if (!isLocal(url)) throw new Error(`${name} at ${url} does not answer (and is not local, so it is not started here)`);
  console.log(`[global-setup] ${name} does not answer; starting it`);
  await run('sh', ['-c', startCmd]).catch((err: Error) => console.warn(`[global-setup] ${startCmd}: ${err.message}`));
  const end = Date.now() + 60_000;
  while (Date.now() < end) {
    if (await answers(check)) return;
    await sleep(500);
  }
  throw new Error(`${name} at ${url} still does not answer 60 s after: ${startCmd}`);
}

async function pgCheck(): Promise<void> {
  const c = new pg.Client({ connectionString: PG_ADMIN_URL, connectionTimeoutMillis: 3_000 });
  await c.connect();
  try {
    await c.query('SELECT 1');
  } finally {
    await c.end();
  }
}

async function mariaCheck(): Promise<void> {
  const c = await mysql.createConnection({ uri: MYSQL_ADMIN_URL, connectTimeout: 3_000 });
  try {
    await c.query('SELECT 1');
  } finally {
    await c.end();
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function liveLeases(): string[] {
  if (!existsSync(LEASES)) return [];
  return readdirSync(LEASES).filter((f) => {
    const pid = Number(f.split('-')[0]);
    if (Number.isInteger(pid) && pidAlive(pid)) return true;
    rmSync(join(LEASES, f), { force: true }); // a run that died without teardown
    return false;
  });
}

async function kafkaSh(cmd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run('bash', [KAFKA_SH, cmd], { maxBuffer: 1 << 22 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? String(err) };
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const pgStart = `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql | head -n1) main start`;
  const mariaStart = `start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd`;
  await Promise.all([
    ensureDatabase('PostgreSQL', PG_ADMIN_URL, pgCheck, pgStart),
    ensureDatabase('MariaDB', MYSQL_ADMIN_URL, mariaCheck, mariaStart),
  ]);

  const external = process.env.KAFKA_BROKERS?.trim();
  if (external) {
    const brokers = external.split(',').map((b) => b.trim()).filter(Boolean);
    project.provide('kafkaBrokers', brokers);
    project.provide('kafkaLocal', false);
    return async () => {};
  }

  mkdirSync(LEASES, { recursive: true });
  const lease = join(LEASES, `${process.pid}-${Date.now().toString(36)}`);
  writeFileSync(lease, '');
  const wasRunning = (await kafkaSh('status')).code === 0;
  const t0 = Date.now();
  const started = await kafkaSh('start');
  if (started.code !== 0) {
    rmSync(lease, { force: true });
    throw new Error(`deploy/local/kafka.sh start failed:\n${started.stderr}`);
  }
  if (!wasRunning) {
    writeFileSync(STARTED_BY_TESTS, String(process.pid));
    console.log(`[global-setup] local Kafka started in ${Date.now() - t0} ms`);
  }
  const brokers = started.stdout.trim().split('\n').pop()!.split(',');
  project.provide('kafkaBrokers', brokers);
  project.provide('kafkaLocal', true);

  return async () => {
    rmSync(lease, { force: true });
    if (liveLeases().length > 0 || !existsSync(STARTED_BY_TESTS)) return;
    rmSync(STARTED_BY_TESTS, { force: true });
    const stopped = await kafkaSh('stop');
    if (stopped.code !== 0) console.warn(`[global-setup] kafka.sh stop failed: ${stopped.stderr}`);
  };
}
