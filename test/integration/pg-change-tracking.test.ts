// What is specific to ctrelay's PostgreSQL change tracking, beyond the change-source contract that
// test/integration/conformance-postgres.test.ts runs (test/conformance/change-source.conformance.ts):
// dense versions, concurrent commits and the poll's wait for drawn versions, exact min valid
// versions after TRUNCATE and cleanup, status and disable.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canListChangedTables, type PollSession } from '../../src/core/change-source.ts';
import type { TableMeta } from '../../src/core/model.ts';
import { ctCleanup, ctDisable, ctEnable, ctStatus } from '../../src/sources/postgres/ct-admin.ts';
import { PostgresSource } from '../../src/sources/postgres/source.ts';
import { createPgDatabase, type ThrowawayDb } from '../support/db.ts';
import { currentVersion as versionOf } from '../support/source-harness.ts';

let db: ThrowawayDb;
let admin: pg.Client;
let source: PostgresSource;
let items: TableMeta;
const currentVersion = () => versionOf(source);

beforeAll(async () => {
  db = await createPgDatabase('ct');
  admin = new pg.Client({ connectionString: db.url });
  await admin.connect();
  await admin.query(`CREATE TABLE items (id int PRIMARY KEY, name text, qty numeric(10,2))`);
  await ctEnable(db.url, [{ schema: 'public', table: 'items' }]);
  source = new PostgresSource(db.url);
  await source.connect();
  [items] = await source.describe([{ schema: 'public', table: 'items' }]);
});

afterAll(async () => {
  await source?.close();
  await admin?.end();
  await db?.drop();
});

describe('PostgreSQL change tracking specifics', () => {
  it('tracks a table whose columns are named like the triggers\' own names (x, s, o, n, is_new)', async () => {
    await admin.query(`CREATE TABLE hostile ("x" int PRIMARY KEY, s text, o text, n text, is_new boolean)`);
    await ctEnable(db.url, [{ schema: 'public', table: 'hostile' }]);
    const [meta] = await source.describe([{ schema: 'public', table: 'hostile' }]);
    const v0 = await currentVersion();
    await admin.query(`INSERT INTO hostile VALUES (1, 's', 'o', 'n', true), (2, 's', 'o', 'n', false)`);
    await admin.query(`UPDATE hostile SET "x" = 3, n = 'moved' WHERE "x" = 2`);
    await admin.query(`DELETE FROM hostile WHERE "x" = 1`);
    const s = await source.beginPoll();
    try {
      const changes = await s.changes(meta, v0, null, 100);
      // in (version, key) order: the key update's transaction first, then the delete's
      expect(changes.map((c) => [c.op, c.key.x])).toEqual([['D', 2], ['I', 3], ['D', 1]]);
      expect(changes.find((c) => c.key.x === 3)?.row).toEqual({ x: 3, s: 's', o: 'o', n: 'moved', is_new: false });
    } finally {
      await s.end();
      await ctDisable(db.url, [{ schema: 'public', table: 'hostile' }]);
      await admin.query(`DROP TABLE hostile`);
    }
  });

  it('numbers committed writing transactions densely; rolled-back ones take no version', async () => {
    const v0 = await currentVersion();
    await admin.query(`INSERT INTO items VALUES (1, 'a', 1.5)`);
    await admin.query(`BEGIN; INSERT INTO items VALUES (2, 'x', 0); ROLLBACK`);
    await admin.query(`BEGIN; UPDATE items SET name = 'a2' WHERE id = 1; UPDATE items SET name = 'a3' WHERE id = 1; COMMIT`);
    expect(await currentVersion()).toBe(v0 + 2n);
  });

  it('lets writers commit side by side, and a poll never sees a version without every version below it', async () => {
    // T1 draws its version in its commit trigger, then waits in a deferred trigger of its own (on
    // lock 4242, held here) before its commit completes. T2 commits meanwhile with the next
    // version: it is visible first. A poll taken now must wait for T1, else a cursor at T2's
    // version would skip T1's change for good.
    await admin.query(`CREATE TABLE gate (id int);
      CREATE FUNCTION wait_gate() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_advisory_xact_lock(4242); RETURN NULL; END $$;
      CREATE CONSTRAINT TRIGGER gate_wait AFTER INSERT ON gate DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION wait_gate()`);
    const t1 = new pg.Client({ connectionString: db.url });
    const t2 = new pg.Client({ connectionString: db.url });
    await t1.connect();
    await t2.connect();
    const v0 = await currentVersion();
    await admin.query('SELECT pg_advisory_lock(4242)');
    let gateHeld = true;
    let poll: Promise<PollSession> | undefined;
    try {
      // ctrelay's version trigger was queued by the first statement, so it fires before the gate
      await t1.query('BEGIN');
      await t1.query(`INSERT INTO items VALUES (101, 'first to draw', 1)`);
      await t1.query('INSERT INTO gate VALUES (1)');
      const t1Commit = t1.query('COMMIT');
      const waitingAtGate = async () =>
        (await admin.query(`SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND objid = 4242 AND NOT granted`)).rows[0].n === 1;
      for (let i = 0; !(await waitingAtGate()); i++) {
        if (i > 200) throw new Error('T1 never reached its deferred gate trigger');
        await new Promise((r) => setTimeout(r, 25));
      }
      // T1 holds its drawn version (the version lock, shared) while it waits
      const held = await admin.query(`SELECT mode FROM pg_locks WHERE locktype = 'advisory' AND classid = 7406011 AND objid = 1 AND granted`);
      expect(held.rows.map((r) => r.mode)).toEqual(['ShareLock']);
      // T2 is not held up by T1's commit
      await t2.query(`INSERT INTO items VALUES (102, 'first to commit', 2)`);
      const seen = await admin.query(`SELECT array_agg(id ORDER BY id) AS ids FROM items WHERE id IN (101, 102)`);
      expect(seen.rows[0].ids).toEqual([102]);

      let polled = false;
      poll = source.beginPoll().then((s) => ((polled = true), s));
      await new Promise((r) => setTimeout(r, 500));
      expect(polled).toBe(false);
      await admin.query('SELECT pg_advisory_unlock(4242)');
      gateHeld = false;
      await t1Commit;
      const s = await poll;
      try {
        const changes = await s.changes(items, v0, null, 100);
        expect(changes.map((c) => [c.key.id, c.version - v0])).toEqual([[101, 1n], [102, 2n]]);
        expect(s.currentVersion).toBe(v0 + 2n);
      } finally {
        await s.end();
      }
    } finally {
      if (gateHeld) await admin.query('SELECT pg_advisory_unlock(4242)');
      await poll?.then((s) => s.end()).catch(() => undefined);
      await t1.end();
      await t2.end();
      await admin.query('DROP TABLE gate; DROP FUNCTION wait_gate()');
    }
  });

  it('names in one statement exactly the tables with a change after a version', async () => {
    await admin.query(`CREATE TABLE other (id int PRIMARY KEY)`);
    await ctEnable(db.url, [{ schema: 'public', table: 'other' }]);
    const [, other] = await source.describe([{ schema: 'public', table: 'items' }, { schema: 'public', table: 'other' }]);
    try {
      const v0 = await currentVersion();
      await admin.query(`INSERT INTO items VALUES (201, 'changed', 0)`);
      const v1 = await currentVersion();
      await admin.query(`INSERT INTO other VALUES (1)`);
      const s = await source.beginPoll();
      try {
        if (!canListChangedTables(s)) throw new Error('the PostgreSQL poll session lists changed tables');
        expect(await s.changedTables([items, other], v0)).toEqual(new Set(['public.items', 'public.other']));
        expect(await s.changedTables([items, other], v1)).toEqual(new Set(['public.other']));
        expect(await s.changedTables([items, other], s.currentVersion)).toEqual(new Set());
      } finally {
        await s.end();
      }
    } finally {
      await ctDisable(db.url, [{ schema: 'public', table: 'other' }]);
      await admin.query(`DROP TABLE other`);
    }
  });

  it('sets the min valid version to the TRUNCATE transaction and the cleanup cutoff exactly', async () => {
    await admin.query(`TRUNCATE items`);
    let s = await source.beginPoll();
    expect(await s.minValidVersion(items)).toBe(s.currentVersion);
    await s.end();
    await admin.query(`INSERT INTO items VALUES (1, 'z', 0)`);
    const cutoff = await ctCleanup(db.url, '0 seconds');
    expect(cutoff).not.toBeNull();
    s = await source.beginPoll();
    expect(await s.minValidVersion(items)).toBe(cutoff);
    expect(s.currentVersion).toBe(cutoff);
    await s.end();
  });

  it('reports status and disables cleanly', async () => {
    const st = await ctStatus(db.url);
    expect(st.installed).toBe(true);
    expect(st.tables.map((t) => t.table)).toEqual(['public.items']);
    await ctDisable(db.url, [{ schema: 'public', table: 'items' }]);
    expect((await ctStatus(db.url)).tables).toEqual([]);
    await admin.query(`INSERT INTO items VALUES (5000, 'after disable', 0)`);
    await ctEnable(db.url, [{ schema: 'public', table: 'items' }]);
    expect((await ctStatus(db.url)).tables.map((t) => t.table)).toEqual(['public.items']);
  });
});
