// What is specific to ctrelay's PostgreSQL change tracking, beyond the change-source contract that
// test/integration/conformance-postgres.test.ts runs (test/conformance/change-source.conformance.ts):
// dense versions, exact min valid versions after TRUNCATE and cleanup, status and disable.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
  it('numbers committed writing transactions densely; rolled-back ones take no version', async () => {
    const v0 = await currentVersion();
    await admin.query(`INSERT INTO items VALUES (1, 'a', 1.5)`);
    await admin.query(`BEGIN; INSERT INTO items VALUES (2, 'x', 0); ROLLBACK`);
    await admin.query(`BEGIN; UPDATE items SET name = 'a2' WHERE id = 1; UPDATE items SET name = 'a3' WHERE id = 1; COMMIT`);
    expect(await currentVersion()).toBe(v0 + 2n);
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
