// Capture end to end on real PostgreSQL and the real local broker, with the agent as a real
// process: snapshot under writes, the long transaction, kill -9, re-snapshot after cleanup.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ctCleanup, ctEnable } from '../../src/sources/postgres/ct-admin.ts';
import type { KafkaPort } from '../../src/kafka/port.ts';
import { createPgDatabase, type ThrowawayDb } from '../support/db.ts';
import { kafkaBrokers } from '../support/kafka.ts';
import {
  canonical, readCaptured, sleep, sourceRows, spawnCtrelay, testKafka, uniquePrefix, waitForVersion, writeConfig, type Proc,
} from '../support/pipeline.ts';
import { startWorkload } from '../support/workload.ts';

const ITEMS = { schema: 'public', table: 'items' };
let db: ThrowawayDb;
let admin: pg.Client;
let kafka: KafkaPort;
const procs: Proc[] = [];

function config(prefix: string, extra: Record<string, unknown> = {}) {
  return writeConfig({
    source: { id: 'src', url: db.url, tables: ['public.items'], pollIntervalMs: 100, maxBatchRows: 2000, snapshotChunkRows: 5000, ...extra },
    kafka: { brokers: kafkaBrokers(), topicPrefix: prefix, partitions: 3 },
    http: { capture: { port: 0 } },
    log: { level: 'info' },
  });
}

function capture(file: string): Proc {
  const p = spawnCtrelay(['capture', '-c', file]);
  procs.push(p);
  return p;
}

async function currentVersion(): Promise<bigint> {
  return BigInt((await admin.query(`SELECT ctrelay.current_version()::text AS v`)).rows[0].v);
}

async function expectFoldEqualsSource(prefix: string) {
  const v = await currentVersion();
  await waitForVersion(kafka, prefix, 'src', v);
  const captured = await readCaptured(kafka, prefix, [ITEMS]);
  const src = await sourceRows(db.url, ITEMS);
  expect(canonical(captured.fold.tables.get('public.items')?.rows ?? new Map())).toEqual(canonical(src.rows));
  return captured;
}

const workloadSql = {
  insert: `INSERT INTO items (id, name, qty, price, at) VALUES ($1::bigint, 'w' || $1::bigint, 1, 1.5, now())`,
  update: `UPDATE items SET qty = qty + 1, name = name || '.', at = now() WHERE id = $1`,
};

beforeAll(async () => {
  db = await createPgDatabase('cap');
  admin = new pg.Client({ connectionString: db.url });
  await admin.connect();
  await admin.query(`CREATE TABLE items (id bigint PRIMARY KEY, name text, qty int, price numeric(12,2), at timestamptz)`);
  await ctEnable(db.url, [ITEMS]);
  kafka = testKafka(kafkaBrokers());
});

afterAll(async () => {
  for (const p of procs) await p.kill();
  await kafka?.close();
  await admin?.end();
  await db?.drop();
});

describe('capture', () => {
  it('snapshots 100,000 rows while writes go on, and the folded events equal the source', async () => {
    await admin.query(`INSERT INTO items SELECT g, 'n' || g, g % 100, g / 7.0, now() FROM generate_series(1, 100000) g`);
    const prefix = uniquePrefix('snap');
    const w = startWorkload(db.url, { ...workloadSql, maxId: 200_000, rowsPerTransaction: 5, pauseMs: 5 });
    const p = capture(config(prefix));
    await p.waitFor('capture running');
    await sleep(4000);
    const { transactions } = await w.stop();
    expect(transactions).toBeGreaterThan(10);
    const captured = await expectFoldEqualsSource(prefix);
    // the snapshot really ran in chunks while streaming went on
    const snapshotBatches = captured.batches.filter((b) => b.batch.tables.some((t) => t.snapshot && !t.snapshot.done));
    expect(snapshotBatches.length).toBeGreaterThan(5);
    const streamed = [...captured.events.values()].flat().filter((e) => e.op !== 'r');
    expect(streamed.length).toBeGreaterThan(0);
    await p.kill('SIGTERM');
    expect(await p.exited).toBe(0);
  });

  it('delivers a long transaction that commits after a later one, in the poll after its commit', async () => {
    const prefix = uniquePrefix('long');
    const p = capture(config(prefix));
    await p.waitFor('capture running');
    await waitForVersion(kafka, prefix, 'src', await currentVersion());
    const t1 = new pg.Client({ connectionString: db.url });
    await t1.connect();
    try {
      await t1.query('BEGIN');
      await t1.query(`INSERT INTO items (id, name) VALUES (900001, 'long')`);
      await admin.query(`INSERT INTO items (id, name) VALUES (900002, 'short')`);
      const vShort = await currentVersion();
      await waitForVersion(kafka, prefix, 'src', vShort);
      await sleep(500); // more polls run while T1 stays open
      await t1.query('COMMIT');
    } finally {
      await t1.end();
    }
    const captured = await expectFoldEqualsSource(prefix);
    const events = [...captured.events.values()].flat();
    const long = events.find((e) => e.key.id === 900001n && e.op === 'c');
    const short = events.find((e) => e.key.id === 900002n && e.op === 'c');
    expect(long).toBeDefined();
    expect(short).toBeDefined();
    expect(long!.source.batch).toBeGreaterThan(short!.source.batch);
    await p.kill('SIGTERM');
  });

  it('survives SIGKILL at random moments: no gap, no repeat, folded events equal the source', async () => {
    const prefix = uniquePrefix('kill');
    const file = config(prefix, { maxBatchRows: 500 });
    const w = startWorkload(db.url, { ...workloadSql, maxId: 1_000_000, rowsPerTransaction: 20, pauseMs: 2 });
    let p = capture(file);
    for (let i = 0; i < 10; i++) {
      await p.waitFor('capture running');
      await sleep(300 + Math.floor(Math.random() * 1500));
      await p.kill('SIGKILL');
      p = capture(file);
    }
    await w.stop();
    await p.waitFor('capture running');
    const captured = await expectFoldEqualsSource(prefix);
    const seqs = captured.batches.map((b) => b.batch.seq);
    expect(seqs).toEqual(seqs.map((_, i) => BigInt(i)));
    // every event belongs to a batch that was committed once
    for (const [seq, events] of captured.events) expect(seqs).toContain(seq), expect(events.length).toBeGreaterThan(0);
    await p.kill('SIGTERM');
  });

  it('re-snapshots a table whose cursor fell below the min valid version, visibly, without loss', async () => {
    const prefix = uniquePrefix('resnap');
    const file = config(prefix);
    let p = capture(file);
    await p.waitFor('capture running');
    await waitForVersion(kafka, prefix, 'src', await currentVersion());
    await p.kill('SIGTERM');
    // while the agent is down: changes, deletes, then a cleanup that forgets them
    await admin.query(`UPDATE items SET qty = -1 WHERE id % 1000 = 0`);
    await admin.query(`DELETE FROM items WHERE id % 1000 = 1`);
    await admin.query(`INSERT INTO items (id, name) VALUES (950000, 'after')`);
    const cutoff = await ctCleanup(db.url, '0 seconds');
    expect(cutoff).toBe(await currentVersion());
    p = capture(file);
    await p.waitFor(/"reason":"cursor \d+ is below the min valid version/);
    const captured = await expectFoldEqualsSource(prefix);
    const epochs = captured.batches.flatMap((b) => b.batch.tables.map((t) => t.snapshot?.epoch ?? 0));
    expect(Math.max(...epochs)).toBe(2);
    await p.kill('SIGTERM');
  });
});
