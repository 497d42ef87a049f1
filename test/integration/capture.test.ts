// Capture end to end on real PostgreSQL and the real local broker, with the agent as a real
// process: snapshot under writes, the long transaction, kill -9, re-snapshot after cleanup.
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { ctCleanup } from '../../src/sources/postgres/ct-admin.ts';
import { usePipeline } from '../support/pipeline-fixture.ts';
import { sleep, uniquePrefix } from '../support/pipeline.ts';
import { startWorkload } from '../support/workload.ts';

const fx = usePipeline({
  name: 'cap',
  schema: `CREATE TABLE items (id bigint PRIMARY KEY, name text, qty int, price numeric(12,2), at timestamptz)`,
  tables: ['public.items'],
  config: { source: { maxBatchRows: 2000, snapshotChunkRows: 5000 }, kafka: { partitions: 3 } },
});

const workloadSql = {
  insert: `INSERT INTO items (id, name, qty, price, at) VALUES ($1::bigint, 'w' || $1::bigint, 1, 1.5, now())`,
  update: `UPDATE items SET qty = qty + 1, name = name || '.', at = now() WHERE id = $1`,
};

describe('capture', () => {
  it('snapshots 100,000 rows while writes go on, and the folded events equal the source', async () => {
    await fx.admin.query(`INSERT INTO items SELECT g, 'n' || g, g % 100, g / 7.0, now() FROM generate_series(1, 100000) g`);
    const prefix = uniquePrefix('snap');
    const w = startWorkload(fx.db.url, { ...workloadSql, maxId: 200_000, rowsPerTransaction: 5, pauseMs: 5 });
    const p = fx.capture(fx.config(prefix));
    await p.waitFor('capture running');
    await sleep(4000);
    const { transactions } = await w.stop();
    expect(transactions).toBeGreaterThan(10);
    const captured = await fx.expectFoldEqualsSource(prefix);
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
    const p = fx.capture(fx.config(prefix));
    await p.waitFor('capture running');
    await fx.waitCaptured(prefix);
    const t1 = new pg.Client({ connectionString: fx.db.url });
    await t1.connect();
    try {
      await t1.query('BEGIN');
      await t1.query(`INSERT INTO items (id, name) VALUES (900001, 'long')`);
      await fx.admin.query(`INSERT INTO items (id, name) VALUES (900002, 'short')`);
      await fx.waitCaptured(prefix);
      await sleep(500); // more polls run while T1 stays open
      await t1.query('COMMIT');
    } finally {
      await t1.end();
    }
    const captured = await fx.expectFoldEqualsSource(prefix);
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
    const file = fx.config(prefix, { source: { maxBatchRows: 500 } });
    const w = startWorkload(fx.db.url, { ...workloadSql, maxId: 1_000_000, rowsPerTransaction: 20, pauseMs: 2 });
    let p = fx.capture(file);
    for (let i = 0; i < 10; i++) {
      await p.waitFor('capture running');
      await sleep(300 + Math.floor(Math.random() * 1500));
      await p.kill('SIGKILL');
      p = fx.capture(file);
    }
    await w.stop();
    await p.waitFor('capture running');
    const captured = await fx.expectFoldEqualsSource(prefix);
    const seqs = captured.batches.map((b) => b.batch.seq);
    expect(seqs).toEqual(seqs.map((_, i) => BigInt(i)));
    // every event belongs to a batch that was committed once
    for (const [seq, events] of captured.events) expect(seqs).toContain(seq), expect(events.length).toBeGreaterThan(0);
    await p.kill('SIGTERM');
  });

  it('re-snapshots a table whose cursor fell below the min valid version, visibly, without loss', async () => {
    const prefix = uniquePrefix('resnap');
    const file = fx.config(prefix);
    let p = fx.capture(file);
    await p.waitFor('capture running');
    await fx.waitCaptured(prefix);
    await p.kill('SIGTERM');
    // while the agent is down: changes, deletes, then a cleanup that forgets them
    await fx.admin.query(`UPDATE items SET qty = -1 WHERE id % 1000 = 0`);
    await fx.admin.query(`DELETE FROM items WHERE id % 1000 = 1`);
    await fx.admin.query(`INSERT INTO items (id, name) VALUES (950000, 'after')`);
    const cutoff = await ctCleanup(fx.db.url, '0 seconds');
    expect(cutoff).toBe(await fx.currentVersion());
    p = fx.capture(file);
    await p.waitFor(/"reason":"cursor \d+ is below the min valid version/);
    const captured = await fx.expectFoldEqualsSource(prefix);
    const epochs = captured.batches.flatMap((b) => b.batch.tables.map((t) => t.snapshot?.epoch ?? 0));
    expect(Math.max(...epochs)).toBe(2);
    await p.kill('SIGTERM');
  });
});
