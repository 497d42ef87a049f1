// ctrelay's PostgreSQL change tracking against a real PostgreSQL: SQL Server CT semantics.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChangeRow } from '../../src/core/change-source.ts';
import type { TableMeta } from '../../src/core/model.ts';
import { ctCleanup, ctDisable, ctEnable, ctStatus } from '../../src/sources/postgres/ct-admin.ts';
import { PostgresSource } from '../../src/sources/postgres/source.ts';
import { createPgDatabase, type ThrowawayDb } from '../support/db.ts';

let db: ThrowawayDb;
let admin: pg.Client;
let source: PostgresSource;
let items: TableMeta;

async function changesSince(since: bigint): Promise<{ version: bigint; rows: ChangeRow[] }> {
  const s = await source.beginPoll();
  try {
    return { version: s.currentVersion, rows: await s.changes(items, since, null, 1000) };
  } finally {
    await s.end();
  }
}

beforeAll(async () => {
  db = await createPgDatabase('ct');
  admin = new pg.Client({ connectionString: db.url });
  await admin.connect();
  await admin.query(`CREATE TABLE items (id int PRIMARY KEY, name text, qty numeric(10,2))`);
  await admin.query(`CREATE TABLE nokey (a int)`);
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

describe('PostgreSQL change tracking', () => {
  it('gives one version per transaction and net changes with the current row', async () => {
    const v0 = (await changesSince(0n)).version;
    await admin.query(`INSERT INTO items VALUES (1, 'a', 1.5), (2, 'b', 2)`);
    await admin.query(`BEGIN; UPDATE items SET name = 'a2' WHERE id = 1; UPDATE items SET name = 'a3' WHERE id = 1; COMMIT`);
    const { version, rows } = await changesSince(v0);
    expect(version).toBe(v0 + 2n);
    expect(rows.map((r) => [r.op, r.key.id, r.row?.name, r.row?.qty])).toEqual([
      ['I', 2, 'b', '2.00'],
      ['I', 1, 'a3', '1.50'],
    ]);
    // relative to the version after the insert, key 1 is an update
    const rel = await changesSince(v0 + 1n);
    expect(rel.rows.map((r) => [r.op, r.key.id, r.version])).toEqual([['U', 1, v0 + 2n]]);
  });

  it('delivers a long transaction that commits after a later one in the poll after its commit', async () => {
    const start = (await changesSince(0n)).version;
    const t1 = new pg.Client({ connectionString: db.url });
    await t1.connect();
    try {
      await t1.query('BEGIN');
      await t1.query(`INSERT INTO items VALUES (100, 'long', 0)`);
      await admin.query(`INSERT INTO items VALUES (101, 'short', 0)`);
      const p1 = await changesSince(start);
      expect(p1.rows.map((r) => r.key.id)).toEqual([101]);
      await t1.query('COMMIT');
      const p2 = await changesSince(p1.version);
      expect(p2.rows.map((r) => [r.op, r.key.id, r.row?.name])).toEqual([['I', 100, 'long']]);
      expect(p2.version).toBeGreaterThan(p1.version);
    } finally {
      await t1.end();
    }
  });

  it('shows a primary key update as delete of the old key and insert of the new', async () => {
    const v = (await changesSince(0n)).version;
    await admin.query(`UPDATE items SET id = 200 WHERE id = 101`);
    const { rows } = await changesSince(v);
    expect(rows.map((r) => [r.op, r.key.id]).sort()).toEqual([['D', 101], ['I', 200]]);
    expect(rows.find((r) => r.op === 'D')!.row).toBeNull();
  });

  it('ignores rolled-back transactions and savepoints', async () => {
    const v = (await changesSince(0n)).version;
    await admin.query(`BEGIN; INSERT INTO items VALUES (300, 'x', 0); ROLLBACK`);
    await admin.query(`BEGIN; SAVEPOINT s; INSERT INTO items VALUES (301, 'x', 0); ROLLBACK TO SAVEPOINT s; INSERT INTO items VALUES (302, 'y', 0); COMMIT`);
    const { rows, version } = await changesSince(v);
    expect(rows.map((r) => r.key.id)).toEqual([302]);
    expect(version).toBe(v + 1n);
  });

  it('pages a window by (version, key)', async () => {
    const v = (await changesSince(0n)).version;
    await admin.query(`INSERT INTO items SELECT g, 'p', 0 FROM generate_series(1000, 1099) g`);
    const s = await source.beginPoll();
    const seen: number[] = [];
    let after = null;
    for (;;) {
      const page: ChangeRow[] = await s.changes(items, v, after, 30);
      if (page.length === 0) break;
      seen.push(...page.map((r) => r.key.id as number));
      const last = page[page.length - 1];
      after = { version: last.version, key: last.key };
    }
    await s.end();
    expect(seen).toEqual(Array.from({ length: 100 }, (_, i) => 1000 + i));
  });

  it('raises the min valid version on TRUNCATE and on retention cleanup', async () => {
    let s = await source.beginPoll();
    const before = await s.minValidVersion(items);
    await s.end();
    await admin.query(`TRUNCATE items`);
    s = await source.beginPoll();
    const afterTruncate = await s.minValidVersion(items);
    expect(afterTruncate).toBe(s.currentVersion);
    expect(afterTruncate).toBeGreaterThan(before);
    await s.end();
    await admin.query(`INSERT INTO items VALUES (1, 'z', 0)`);
    const cutoff = await ctCleanup(db.url, '0 seconds');
    expect(cutoff).not.toBeNull();
    s = await source.beginPoll();
    expect(await s.minValidVersion(items)).toBe(cutoff);
    expect(s.currentVersion).toBe(cutoff);
    await s.end();
  });

  it('refuses a table without a primary key, naming it', async () => {
    await expect(ctEnable(db.url, [{ schema: 'public', table: 'nokey' }])).rejects.toThrow(/public\.nokey has no primary key/);
    await expect(source.describe([{ schema: 'public', table: 'nokey' }])).rejects.toThrow(/public\.nokey has no primary key/);
  });

  it('reports status and disables cleanly', async () => {
    const st = await ctStatus(db.url);
    expect(st.installed).toBe(true);
    expect(st.tables.map((t) => t.table)).toEqual(['public.items']);
    await ctDisable(db.url, [{ schema: 'public', table: 'items' }]);
    expect((await ctStatus(db.url)).tables).toEqual([]);
    await admin.query(`INSERT INTO items VALUES (5000, 'after disable', 0)`);
    await ctEnable(db.url, [{ schema: 'public', table: 'items' }]);
  });
});
