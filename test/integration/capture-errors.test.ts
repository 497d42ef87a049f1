// `ctrelay capture` meeting bad input, as an operator meets it: a real process, its exit code (the
// CtrelayError class of src/core/errors.ts), one `error:` line on stderr that names the thing, no
// stack trace, and no secret in any output.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ctEnable } from '../../src/sources/postgres/ct-admin.ts';
import type { KafkaPort } from '../../src/kafka/port.ts';
import { createPgDatabase, type ThrowawayDb } from '../support/db.ts';
import { kafkaBrokers } from '../support/kafka.ts';
import { readCaptured, runCtrelay, spawnCtrelay, testKafka, uniquePrefix, waitForVersion, writeConfig, type Proc } from '../support/pipeline.ts';

// src/core/errors.ts
const EXIT_CONFIG = 2;
const EXIT_SOURCE = 3;
const EXIT_KAFKA = 4;

let db: ThrowawayDb;
let bare: ThrowawayDb;
let admin: pg.Client;
let kafka: KafkaPort;
const procs: Proc[] = [];

type Table = string | { name: string; excludeColumns: string[] };

function config(tables: Table[], over: { url?: string; brokers?: string[]; prefix?: string; extra?: Record<string, unknown> } = {}) {
  return writeConfig({
    source: { id: 'src', url: over.url ?? db.url, tables, pollIntervalMs: 100 },
    kafka: { brokers: over.brokers ?? kafkaBrokers(), topicPrefix: over.prefix ?? uniquePrefix('err'), partitions: 1 },
    http: { capture: { port: 0 } },
    log: { level: 'info' },
    ...over.extra,
  });
}

/** The process failed the way a user error must: its exit code, one `error:` line, no stack. */
function expectUserError(r: { code: number | null; stdout: string; stderr: string }, code: number, ...fragments: (string | RegExp)[]): string {
  expect(r.code, r.stderr).toBe(code);
  const lines = r.stderr.split('\n').filter((l) => l.startsWith('error: '));
  expect(lines, r.stderr).toHaveLength(1);
  for (const f of fragments) expect(lines[0]).toMatch(f);
  // neither a stack trace nor the "this is a bug" report
  expect(r.stderr).not.toMatch(/^\s+at /m);
  expect(r.stderr).not.toContain('internal error');
  return lines[0];
}

const capture = (file: string, timeoutMs = 90_000) => runCtrelay(['capture', '-c', file], {}, timeoutMs);

beforeAll(async () => {
  db = await createPgDatabase('caperr');
  bare = await createPgDatabase('capbare');
  admin = new pg.Client({ connectionString: db.url });
  await admin.connect();
  await admin.query(`
    CREATE TABLE good (id int PRIMARY KEY, name text);
    CREATE TABLE shapes (id int PRIMARY KEY, name text, p point);
    CREATE TABLE spans (id int PRIMARY KEY, d interval);
    CREATE TABLE nokey (id int, name text);
    CREATE TABLE untracked (id int PRIMARY KEY, name text);
    INSERT INTO good VALUES (1, 'one');
    INSERT INTO shapes VALUES (1, 'a', point(1, 2)), (2, 'b', NULL);`);
  await ctEnable(db.url, [{ schema: 'public', table: 'good' }, { schema: 'public', table: 'shapes' }, { schema: 'public', table: 'spans' }]);
  kafka = testKafka(kafkaBrokers());
});

afterAll(async () => {
  for (const p of procs) await p.kill();
  await kafka?.close();
  await admin?.end();
  await db?.drop();
  await bare?.drop();
});

describe('capture refuses bad input with a clear error', () => {
  it('an unsupported column type names table and column and points to excludeColumns', async () => {
    const r = await capture(config(['public.shapes']));
    expectUserError(r, EXIT_SOURCE, 'public.shapes', '"p"', 'point', 'excludeColumns');
    const r2 = await capture(config(['public.spans']));
    expectUserError(r2, EXIT_SOURCE, 'public.spans', '"d"', 'interval', 'excludeColumns');
  });

  it('the same table with the column in excludeColumns captures the other columns', async () => {
    const prefix = uniquePrefix('excl');
    const p = spawnCtrelay(['capture', '-c', config([{ name: 'public.shapes', excludeColumns: ['p'] }], { prefix })]);
    procs.push(p);
    await p.waitFor('capture running');
    const v = BigInt((await admin.query(`SELECT ctrelay.current_version()::text AS v`)).rows[0].v);
    await waitForVersion(kafka, prefix, 'src', v);
    const captured = await readCaptured(kafka, prefix, [{ schema: 'public', table: 'shapes' }]);
    const rows = [...(captured.fold.tables.get('public.shapes')?.rows.values() ?? [])];
    expect(rows).toEqual([{ id: 1, name: 'a' }, { id: 2, name: 'b' }]);
    expect(captured.metas.get('public.shapes')!.columns.map((c) => c.name)).toEqual(['id', 'name']);
    await p.kill('SIGTERM');
    expect(await p.exited, p.stderr()).toBe(0);
    expect(p.stderr()).toContain('capture stopped');
  });

  it('an excluded column that does not exist is named', async () => {
    const r = await capture(config([{ name: 'public.shapes', excludeColumns: ['nosuch'] }]));
    expectUserError(r, EXIT_SOURCE, 'public.shapes', '"nosuch"', 'does not exist');
  });

  it('a table without primary key: ct enable refuses it, and capture names it', async () => {
    const e = await runCtrelay(['ct', 'enable', '--url', db.url, 'public.nokey']);
    expectUserError(e, EXIT_SOURCE, 'public.nokey', 'no primary key');
    // nothing was installed for it
    const n = await admin.query(`SELECT count(*)::int AS n FROM ctrelay.tables WHERE table_name = 'nokey'`);
    expect(n.rows[0].n).toBe(0);
    const r = await capture(config(['public.nokey']));
    expectUserError(r, EXIT_SOURCE, 'public.nokey', 'no primary key');
  });

  it('a table that is not change-tracked: tells to run ctrelay ct enable', async () => {
    const r = await capture(config(['public.good', 'public.untracked']));
    expectUserError(r, EXIT_SOURCE, 'public.untracked', 'not change-tracked', 'ctrelay ct enable');
    // a database where change tracking was never installed
    const r2 = await capture(config(['public.good'], { url: bare.url }));
    expectUserError(r2, EXIT_SOURCE, 'change tracking is not installed', 'ctrelay ct enable');
  });

  it('a missing table names it', async () => {
    const r = await capture(config(['public.good', 'public.nosuch']));
    expectUserError(r, EXIT_SOURCE, 'public.nosuch', 'does not exist');
  });

  it('an unreachable database names the server with the password redacted', async () => {
    const url = 'postgres://u:s3cret@127.0.0.1:1/x';
    const r = await capture(config(['public.good'], { url }));
    const line = expectUserError(r, EXIT_SOURCE, 'postgres://127.0.0.1:1/x', 'connecting');
    expect(line).toMatch(/ECONNREFUSED/);
    expect(r.stdout + r.stderr).not.toContain('s3cret');
  });

  it('an unreachable broker names it and exits in bounded time', async () => {
    const started = Date.now();
    const r = await capture(config(['public.good'], { brokers: ['127.0.0.1:1'] }), 120_000);
    const elapsed = Date.now() - started;
    expectUserError(r, EXIT_KAFKA, '127.0.0.1:1', /Kafka/);
    expect(elapsed).toBeLessThan(60_000);
  });

  it('sync mode without a standby is a config error naming standby.id', async () => {
    const r = await capture(config(['public.good'], { extra: { mode: 'sync' } }));
    expectUserError(r, EXIT_CONFIG, 'standby.id', 'sync');
  });
});
