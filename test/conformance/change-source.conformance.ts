// The change-source contract (src/core/change-source.ts, DESIGN section 2) as ONE suite that every
// source kind runs through a SourceHarness (test/support/source-harness.ts). Runners:
//   test/integration/conformance-postgres.test.ts          (PostgreSQL, in the normal `npm test`)
//   test/conformance/sqlserver/*.mssql-test.ts             (SQL Server, vitest.mssql.config.ts only)
//
// The tests assert only what the contract promises on every engine: versions are compared by
// order, never by their distance (SQL Server need not number densely), and commit timestamps only
// by form. The error contract (src/core/errors.ts) is tested by provoking each failure for real: a
// killed session is transient, a revoked grant and a table no longer tracked are permanent.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChangePosition, ChangeRow, ChangeSource, PollSession } from '../../src/core/change-source.ts';
import { isTransient, SourceError } from '../../src/core/errors.ts';
import { qualifiedName, type Row, type TableMeta } from '../../src/core/model.ts';
import {
  currentVersion as versionOf,
  pollTable,
  rejection,
  type HarnessDatabase,
  type HarnessTable,
  type SourceHarness,
  type TableSpec,
} from '../support/source-harness.ts';

export interface ConformanceOptions {
  /** source kind, for the suite's name */
  kind: string;
  /** creates the harness; null skips every test (print skipReason before calling) */
  harness: (() => SourceHarness) | null;
  skipReason?: string;
}

const ITEMS: TableSpec = {
  name: 'items',
  columns: [
    { name: 'id', type: { kind: 'int32' } },
    { name: 'name', type: { kind: 'varchar', length: 100 } },
    { name: 'qty', type: { kind: 'decimal', precision: 10, scale: 2 } },
  ],
  key: ['id'],
};

const PAIRS: TableSpec = {
  name: 'pairs',
  columns: [
    { name: 'k', type: { kind: 'varchar', length: 20 } },
    { name: 'n', type: { kind: 'int64' } },
    { name: 'v', type: { kind: 'text' } },
  ],
  key: ['k', 'n'],
};

const TYPED: TableSpec = {
  name: 'typed',
  columns: [
    { name: 'id', type: { kind: 'int64' } },
    { name: 'i', type: { kind: 'int32' } },
    { name: 'big', type: { kind: 'int64' } },
    { name: 'dec', type: { kind: 'decimal', precision: 38, scale: 10 } },
    { name: 'txt', type: { kind: 'text' } },
    { name: 'bin', type: { kind: 'bytes' } },
    { name: 'd', type: { kind: 'date' } },
    { name: 'ts', type: { kind: 'timestamp', precision: 6 } },
  ],
  key: ['id'],
};

const TRUNC: TableSpec = { name: 'trunc', columns: [{ name: 'id', type: { kind: 'int32' } }, { name: 'v', type: { kind: 'text' } }], key: ['id'] };

/** a column with a default and one the database computes */
const DEFAULTS: TableSpec = {
  name: 'defaults',
  columns: [
    { name: 'id', type: { kind: 'int32' } },
    { name: 'n', type: { kind: 'int32' } },
    { name: 'd', type: { kind: 'int32' }, defaultValue: 7 },
    { name: 'g', type: { kind: 'int32' }, doubleOf: 'n' },
  ],
  key: ['id'],
};

/** fixed-length text, as key and as value */
const PADDED: TableSpec = {
  name: 'padded',
  columns: [{ name: 'c', type: { kind: 'char', length: 5 } }, { name: 'p', type: { kind: 'char', length: 3 } }, { name: 'v', type: { kind: 'int32' } }],
  key: ['c'],
};
const CLEANED: TableSpec = { ...TRUNC, name: 'cleaned' };
const NOKEY: TableSpec = { name: 'nokey', columns: [{ name: 'a', type: { kind: 'int32' } }], key: [] };

const MIN64 = -9223372036854775808n;
const MAX64 = 9223372036854775807n;

/** Canonical values (src/core/model.ts) every source must hand back exactly. */
export const TYPED_ROWS: Row[] = [
  {
    id: MIN64, i: -2147483648, big: MIN64, dec: '-9999999999999999999999999999.9999999999',
    txt: '', bin: Buffer.alloc(0), d: '0001-01-01', ts: '0001-01-01T00:00:00.000000',
  },
  {
    id: 0n, i: 0, big: 0n, dec: '0.0000000000',
    txt: 'héllo wörld 😀 — ✓ "quotes" \'single\' back\\slash 名前 \u00a0tab\tnl\n',
    bin: Buffer.from([0, 1, 0, 255, 0]), d: '2024-02-29', ts: '2024-02-29T12:34:56.123456',
  },
  {
    id: 1n, i: null, big: null, dec: '0.0000000001', txt: null, bin: null, d: null, ts: null,
  },
  {
    id: MAX64, i: 2147483647, big: MAX64, dec: '9999999999999999999999999999.9999999999',
    txt: 'x'.repeat(9000) + '😀', bin: Buffer.from(Array.from({ length: 256 }, (_, i) => i)), d: '9999-12-31', ts: '9999-12-31T23:59:59.999999',
  },
];

const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

function byKeyOrder(a: Row, b: Row): number {
  const x = a.id as bigint;
  const y = b.id as bigint;
  return x < y ? -1 : x > y ? 1 : 0;
}

export function changeSourceConformance(opts: ConformanceOptions): void {
  const suite = opts.harness ? describe : describe.skip;
  const title = opts.harness ? `ChangeSource conformance: ${opts.kind}` : `ChangeSource conformance: ${opts.kind} (skipped: ${opts.skipReason ?? 'no server'})`;

  suite(title, () => {
    let harness: SourceHarness;
    let db: HarnessDatabase;
    let source: ChangeSource;
    let items: TableMeta;
    let pairs: TableMeta;
    let typed: TableMeta;
    let trunc: TableMeta;
    let cleaned: TableMeta;
    let defaults: TableMeta;
    let padded: TableMeta;
    const t: Record<string, HarnessTable> = {};
    const currentVersion = () => versionOf(source);
    const poll = (meta: TableMeta, since: bigint) => pollTable(source, meta, since);

    /** Every change since `since`, page by page (each strictly after the last of the one before), in one poll. */
    async function pagesOf(meta: TableMeta, since: bigint, size: number): Promise<ChangeRow[][]> {
      const s = await source.beginPoll();
      const pages: ChangeRow[][] = [];
      try {
        let after: ChangePosition | null = null;
        for (let guard = 0; guard < 100; guard++) {
          const page = await s.changes(meta, since, after, size);
          if (page.length === 0) return pages;
          pages.push(page);
          const last = page[page.length - 1];
          after = { version: last.version, key: last.key };
        }
        throw new Error(`paging ${qualifiedName(meta)} did not end`);
      } finally {
        await s.end();
      }
    }

    async function inTransaction(...statements: string[]): Promise<void> {
      const tx = await db.begin();
      try {
        for (const st of statements) await tx.exec(st);
      } catch (err) {
        await tx.rollback().catch(() => undefined);
        throw err;
      }
      await tx.commit();
    }

    beforeAll(async () => {
      harness = opts.harness!();
      db = await harness.createDatabase('ctr_conf');
      for (const spec of [ITEMS, PAIRS, TYPED, TRUNC, CLEANED, NOKEY, DEFAULTS, PADDED]) t[spec.name] = await db.createTable(spec);
      await db.enableTracking([t.items, t.pairs, t.typed, t.trunc, t.cleaned, t.defaults, t.padded]);
      source = await db.createSource();
      const ref = (n: string) => t[n].ref;
      [items, pairs, typed, trunc, cleaned, defaults, padded] = await source.describe(
        [ref('items'), ref('pairs'), ref('typed'), ref('trunc'), ref('cleaned'), ref('defaults'), ref('padded')]);
    });

    afterAll(async () => {
      await source?.close().catch(() => undefined);
      await db?.drop();
      await harness?.close();
    });

    it('describes tables with their key in primary-key order and every column', () => {
      expect(items.key).toEqual(['id']);
      expect(items.columns.map((c) => c.name)).toEqual(['id', 'name', 'qty']);
      expect(pairs.key).toEqual(['k', 'n']);
      expect(typed.columns.map((c) => c.name)).toEqual(TYPED.columns.map((c) => c.name));
    });

    it('gives one version per transaction and net changes with the current row', async () => {
      const v0 = await currentVersion();
      await inTransaction(db.insertSql(t.items, [{ id: 1, name: 'a', qty: '1.50' }, { id: 2, name: 'b', qty: '2.00' }]));
      await inTransaction(
        db.updateSql(t.items, { name: 'a2' }, { id: 1 }),
        db.updateSql(t.items, { name: 'a3' }, { id: 1 }),
        db.insertSql(t.items, [{ id: 3, name: 'c', qty: '3.00' }]),
      );
      const { version, rows } = await poll(items, v0);
      expect(rows.map((r) => [r.op, r.key, r.row])).toEqual([
        ['I', { id: 2 }, { id: 2, name: 'b', qty: '2.00' }],
        ['I', { id: 1 }, { id: 1, name: 'a3', qty: '1.50' }],
        ['I', { id: 3 }, { id: 3, name: 'c', qty: '3.00' }],
      ]);
      const [va, vb, vc] = rows.map((r) => r.version);
      // the first transaction has one version, the second another (later) one, shared by its statements
      expect(va).toBeGreaterThan(v0);
      expect(vb).toBeGreaterThan(va);
      expect(vc).toBe(vb);
      expect(version).toBe(vb);
      for (const r of rows) {
        expect(typeof r.version).toBe('bigint');
        if (r.commitTs !== null) expect(r.commitTs).toMatch(ISO_UTC);
      }
      // relative to the version after the first transaction, key 1 existed: U; key 3 did not: I
      const rel = await poll(items, va);
      expect(rel.rows.map((r) => [r.op, r.key.id, r.version])).toEqual([['U', 1, vb], ['I', 3, vb]]);
      // nothing after the current version
      expect((await poll(items, version)).rows).toEqual([]);
    });

    it('delivers a delete as D with the key only, also for a key inserted and deleted after the since-version', async () => {
      const v = await currentVersion();
      await inTransaction(db.updateSql(t.items, { name: 'b2' }, { id: 2 }));
      await db.exec(db.deleteSql(t.items, { id: 2 }));
      await inTransaction(db.insertSql(t.items, [{ id: 4, name: 'short-lived', qty: '0.00' }]));
      await inTransaction(db.deleteSql(t.items, { id: 4 }));
      const { rows } = await poll(items, v);
      expect(rows.map((r) => [r.op, r.key, r.row])).toEqual([
        ['D', { id: 2 }, null],
        ['D', { id: 4 }, null],
      ]);
    });

    it('delivers a long transaction that commits after a later one in the poll after its commit', async () => {
      const start = await currentVersion();
      const t1 = await db.begin();
      try {
        await t1.exec(db.insertSql(t.items, [{ id: 100, name: 'long', qty: '0.00' }]));
        await inTransaction(db.insertSql(t.items, [{ id: 101, name: 'short', qty: '0.00' }]));
        const p1 = await poll(items, start);
        expect(p1.rows.map((r) => r.key.id)).toEqual([101]);
        await t1.commit();
        const p2 = await poll(items, p1.version);
        expect(p2.rows.map((r) => [r.op, r.key.id, r.row?.name])).toEqual([['I', 100, 'long']]);
        expect(p2.version).toBeGreaterThan(p1.version);
        expect(p2.rows[0].version).toBeGreaterThan(p1.version);
      } catch (err) {
        await t1.rollback().catch(() => undefined);
        throw err;
      }
    });

    it('shows a primary key update as delete of the old key and insert of the new', async () => {
      const v = await currentVersion();
      await db.exec(db.updateSql(t.items, { id: 200 }, { id: 101 }));
      const { rows } = await poll(items, v);
      expect(rows.map((r) => [r.op, r.key.id]).sort()).toEqual([['D', 101], ['I', 200]]);
      expect(rows.find((r) => r.op === 'D')!.row).toBeNull();
      expect(rows.find((r) => r.op === 'I')!.row).toEqual({ id: 200, name: 'short', qty: '0.00' });
    });

    // A snapshot that started only at the poll's first read (SQL Server: a SNAPSHOT transaction's
    // snapshot starts at its first data read, not at BEGIN TRANSACTION) would show this commit in
    // rows and chunks labelled with the older version.
    it('pins the snapshot when beginPoll returns: a transaction committed afterwards is invisible to every read of the poll', async () => {
      const v = await currentVersion();
      await inTransaction(db.insertSql(t.items, [{ id: 500, name: 'before', qty: '5.00' }]));
      const s = await source.beginPoll();
      const pinned = s.currentVersion;
      try {
        await inTransaction(db.updateSql(t.items, { name: 'after' }, { id: 500 }), db.insertSql(t.items, [{ id: 501, name: 'after', qty: '5.00' }]));
        const rows = await s.changes(items, v, null, 1000);
        expect(rows.map((r) => [r.op, r.row])).toEqual([['I', { id: 500, name: 'before', qty: '5.00' }]]);
        expect(rows[0].version).toBeLessThanOrEqual(s.currentVersion);
        const chunk = await s.snapshotChunk(items, { id: 499 }, 10);
        expect(chunk.filter((r) => (r.id as number) >= 500 && (r.id as number) <= 501)).toEqual([{ id: 500, name: 'before', qty: '5.00' }]);
      } finally {
        await s.end();
      }
      // and the next poll sees the commit, at a version after the pinned one
      const next = await poll(items, pinned);
      expect(next.rows.map((r) => [r.op, r.key.id, r.row?.name])).toEqual([['U', 500, 'after'], ['I', 501, 'after']]);
      for (const r of next.rows) expect(r.version).toBeGreaterThan(pinned);
    });

    it('ignores rolled-back transactions and rolled-back savepoints', async () => {
      const v = await currentVersion();
      const rb = await db.begin();
      await rb.exec(db.insertSql(t.items, [{ id: 300, name: 'x', qty: '0.00' }]));
      await rb.rollback();
      const sp = await db.begin();
      await sp.savepoint('s1');
      await sp.exec(db.insertSql(t.items, [{ id: 301, name: 'x', qty: '0.00' }]));
      await sp.rollbackToSavepoint('s1');
      await sp.exec(db.insertSql(t.items, [{ id: 302, name: 'y', qty: '0.00' }]));
      await sp.commit();
      const { rows, version } = await poll(items, v);
      expect(rows.map((r) => [r.op, r.key.id])).toEqual([['I', 302]]);
      expect(rows[0].version).toBe(version);
    });

    it('pages a window by (version, key)', async () => {
      const v = await currentVersion();
      const ids = Array.from({ length: 100 }, (_, i) => 1000 + i);
      await inTransaction(db.insertSql(t.items, ids.map((id) => ({ id, name: 'p', qty: '0.00' }))));
      // a later transaction moves ten keys to a later version: they must come last
      await inTransaction(...ids.slice(0, 10).map((id) => db.updateSql(t.items, { name: 'p2' }, { id })));
      const pages = await pagesOf(items, v, 30);
      for (const page of pages) expect(page.length).toBeLessThanOrEqual(30);
      expect(pages.flat().map((r) => r.key.id)).toEqual([...ids.slice(10), ...ids.slice(0, 10)]);
    });

    it('pages a window by (version, composite key)', async () => {
      const v = await currentVersion();
      const row = (k: string, n: number) => ({ k, n: BigInt(n), v: `${k}${n}` });
      const range = (k: string, from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => row(k, from + i));
      await inTransaction(db.insertSql(t.pairs, [...range('b', 1, 10), ...range('a', 1, 10)]));
      await inTransaction(db.insertSql(t.pairs, [...range('c', 1, 5), ...range('a', 11, 15)]));
      await inTransaction(db.updateSql(t.pairs, { v: 'moved' }, { k: 'b', n: 3n }), db.updateSql(t.pairs, { v: 'moved' }, { k: 'a', n: 2n }));
      const all = (await poll(pairs, v)).rows;
      expect(all).toHaveLength(30);
      const keyText = (r: ChangeRow) => `${r.key.k}:${r.key.n}`;
      // ordered by version, then k, then n
      for (let i = 1; i < all.length; i++) {
        const a = all[i - 1];
        const b = all[i];
        const ordered = a.version < b.version || (a.version === b.version &&
          ((a.key.k as string) < (b.key.k as string) || (a.key.k === b.key.k && (a.key.n as bigint) < (b.key.n as bigint))));
        expect(ordered, `${keyText(a)}@${a.version} before ${keyText(b)}@${b.version}`).toBe(true);
      }
      expect(all.slice(-2).map(keyText)).toEqual(['a:2', 'b:3']);
      const paged = (await pagesOf(pairs, v, 4)).flat();
      expect(paged.map(keyText)).toEqual(all.map(keyText));
      expect(paged.find((r) => r.key.k === 'b' && r.key.n === 3n)!.row).toEqual({ k: 'b', n: 3n, v: 'moved' });
    });

    it('round-trips values of common types into their canonical form', async () => {
      const v = await currentVersion();
      await inTransaction(db.insertSql(t.typed, TYPED_ROWS));
      const { rows } = await poll(typed, v);
      const expected = [...TYPED_ROWS].sort(byKeyOrder);
      expect(rows.map((r) => r.op)).toEqual(['I', 'I', 'I', 'I']);
      expect(rows.map((r) => r.key)).toEqual(expected.map((r) => ({ id: r.id })));
      expect(rows.map((r) => r.row)).toEqual(expected);
      // keys at the int64 edges work as paging positions and snapshot cursors
      const s = await source.beginPoll();
      try {
        const after = await s.changes(typed, v, { version: rows[0].version, key: { id: MIN64 } }, 10);
        expect(after.map((r) => r.key.id)).toEqual([0n, 1n, MAX64]);
        expect(await s.snapshotChunk(typed, null, 10)).toEqual(expected);
        expect(await s.snapshotChunk(typed, { id: 1n }, 10)).toEqual([expected[3]]);
        expect(await s.snapshotChunk(typed, { id: MAX64 }, 10)).toEqual([]);
      } finally {
        await s.end();
      }
    });

    it('raises the min valid version above every older cursor on TRUNCATE', async () => {
      await inTransaction(db.insertSql(t.trunc, [{ id: 1, v: 'a' }, { id: 2, v: 'b' }]));
      const before = await poll(trunc, 0n);
      await db.truncate(t.trunc);
      const after = await poll(trunc, before.version);
      // a consumer at the pre-TRUNCATE version must re-snapshot: its cursor is no longer valid
      expect(after.minValid).toBeGreaterThan(before.version);
      expect(after.minValid).toBeGreaterThan(before.minValid);
      expect(after.minValid).toBeLessThanOrEqual(after.version);
      // and a snapshot at the new version is empty
      const s = await source.beginPoll();
      try {
        expect(await s.snapshotChunk(trunc, null, 10)).toEqual([]);
      } finally {
        await s.end();
      }
    });

    it('reports which columns have a default and which the database computes', async () => {
      expect(defaults.columns.map((c) => [c.name, c.hasDefault === true, c.generated === true])).toEqual([
        ['id', false, false], ['n', false, false], ['d', true, false], ['g', false, true],
      ]);
      // and reads their values like any other column's
      const v = await currentVersion();
      await inTransaction(db.insertSql(t.defaults, [{ id: 1, n: 21 }]));
      expect((await poll(defaults, v)).rows.map((r) => r.row)).toEqual([{ id: 1, n: 21, d: 7, g: 42 }]);
    });

    it('keeps the padding of fixed-length text, in values and keys, in changes and snapshots', async () => {
      const v = await currentVersion();
      await inTransaction(db.insertSql(t.padded, [{ c: 'ab', p: 'x', v: 1 }, { c: 'abc', p: null, v: 2 }, { c: 'abcde', p: 'xyz', v: 3 }]));
      const expected = [{ c: 'ab   ', p: 'x  ', v: 1 }, { c: 'abc  ', p: null, v: 2 }, { c: 'abcde', p: 'xyz', v: 3 }];
      const { rows } = await poll(padded, v);
      expect(rows.map((r) => r.key)).toEqual(expected.map((r) => ({ c: r.c })));
      expect(rows.map((r) => r.row)).toEqual(expected);
      const s = await source.beginPoll();
      try {
        expect(await s.snapshotChunk(padded, null, 10)).toEqual(expected);
        // a padded key is a paging position
        expect(await s.snapshotChunk(padded, { c: 'ab   ' }, 10)).toEqual(expected.slice(1));
        expect((await s.changes(padded, v, { version: rows[0].version, key: { c: 'abc  ' } }, 10)).map((r) => r.key)).toEqual([{ c: 'abcde' }]);
      } finally {
        await s.end();
      }
      const beforeDelete = await currentVersion();
      await inTransaction(db.deleteSql(t.padded, { c: 'ab   ' }));
      expect((await poll(padded, beforeDelete)).rows.map((r) => [r.op, r.key])).toEqual([['D', { c: 'ab   ' }]]);
    });

    it('refuses a table without a primary key, naming it', async () => {
      await expect(db.enableTracking([t.nokey])).rejects.toThrow(/nokey[\s\S]*primary key|primary key[\s\S]*nokey/i);
      await expect(source.describe([t.nokey.ref])).rejects.toThrow(new RegExp(`${db.schema}\\.nokey`));
    });

    it('raises the min valid version on retention cleanup', async (ctx) => {
      if (!db.forceCleanup) {
        console.warn(`[conformance ${opts.kind}] cleanup case skipped: ${db.cleanupSkipReason}`);
        ctx.skip(db.cleanupSkipReason);
        return;
      }
      await inTransaction(db.insertSql(t.cleaned, [{ id: 1, v: 'old' }]));
      const before = await poll(cleaned, 0n);
      const changed = before.rows[0].version;
      const cutoff = await db.forceCleanup([t.cleaned]);
      const after = await poll(cleaned, before.version);
      // a cursor from before the change is gone (re-snapshot), never silently advanced
      expect(after.minValid).toBeGreaterThanOrEqual(changed);
      expect(after.minValid).toBeGreaterThan(before.minValid);
      expect(after.minValid).toBeLessThanOrEqual(after.version);
      if (cutoff !== null) expect(after.minValid).toBe(cutoff);
    });

    describe('re-enabling tracking invalidates every earlier cursor', () => {
      let rdb: HarnessDatabase;
      let src: ChangeSource;
      const rt: Record<string, HarnessTable> = {};
      const rm: Record<string, TableMeta> = {};

      beforeAll(async () => {
        rdb = await harness.createDatabase('ctr_reen');
        for (const name of ['toggled', 'reenabled', 'intact']) rt[name] = await rdb.createTable({ ...TRUNC, name });
        await rdb.enableTracking(Object.values(rt));
        src = await rdb.createSource();
        for (const meta of await src.describe(Object.values(rt).map((x) => x.ref))) rm[meta.table] = meta;
        for (const tb of Object.values(rt)) await rdb.exec(rdb.insertSql(tb, [{ id: 1, v: 'a' }, { id: 2, v: 'b' }]));
      });

      afterAll(async () => {
        await src?.close().catch(() => undefined);
        await rdb?.drop();
      });

      /** a cursor as capture holds it: the version of a poll that read every change of the table */
      async function cursorOf(meta: TableMeta): Promise<bigint> {
        const p = await pollTable(src, meta, 0n);
        expect(p.minValid).toBeLessThanOrEqual(p.version);
        return p.version;
      }

      it('switched off and on again by hand, with a write in between: the min valid version is above the earlier cursor', async () => {
        const cursor = await cursorOf(rm.toggled);
        await rdb.suspendTracking(rt.toggled);
        await rdb.exec(rdb.updateSql(rt.toggled, { v: 'written while untracked' }, { id: 1 }));
        await rdb.resumeTracking(rt.toggled);
        const after = await pollTable(src, rm.toggled, cursor);
        expect(after.minValid).toBeGreaterThan(cursor);
        expect(after.minValid).toBeLessThanOrEqual(after.version);
      });

      it('disabled and enabled again (ctrelay ct disable / enable), with a write in between: the min valid version is above the earlier cursor', async () => {
        const cursor = await cursorOf(rm.reenabled);
        await rdb.disableTracking([rt.reenabled]);
        await rdb.exec(rdb.updateSql(rt.reenabled, { v: 'written while untracked' }, { id: 2 }));
        await rdb.enableTracking([rt.reenabled]);
        // the same source, as a running capture would poll it
        const after = await pollTable(src, rm.reenabled, cursor);
        expect(after.minValid).toBeGreaterThan(cursor);
        expect(after.minValid).toBeLessThanOrEqual(after.version);
        // and the table's changes are read again after the new min valid version
        await rdb.exec(rdb.updateSql(rt.reenabled, { v: 'tracked again' }, { id: 1 }));
        const next = await pollTable(src, rm.reenabled, after.version);
        expect(next.rows.map((r) => [r.op, r.row])).toEqual([['U', { id: 1, v: 'tracked again' }]]);
      });

      it('enabling tracking again on a table whose tracking is intact keeps its min valid version (no re-snapshot)', async () => {
        const before = await pollTable(src, rm.intact, 0n);
        await rdb.enableTracking([rt.intact]);
        const after = await pollTable(src, rm.intact, before.version);
        expect(after.minValid).toBe(before.minValid);
        expect(after.rows).toEqual([]);
      });
    });

    describe('version 0', () => {
      let fresh: HarnessDatabase;
      let src: ChangeSource;
      let tb: HarnessTable;
      let meta: TableMeta;

      beforeAll(async () => {
        fresh = await harness.createDatabase('ctr_v0');
        tb = await fresh.createTable(ITEMS);
        await fresh.enableTracking([tb]);
        src = await fresh.createSource();
        [meta] = await src.describe([tb.ref]);
      });

      afterAll(async () => {
        await src?.close().catch(() => undefined);
        await fresh?.drop();
      });

      // A fresh database starts at its first version: 0 on SQL Server; on PostgreSQL the enabling
      // transaction takes a version of its own (enabling invalidates every earlier cursor), so the
      // first version there is 1. Either is a real version: a valid cursor and a paging position.
      it('is a real version: a fresh database\'s first version works as a cursor and a paging position, and so does 0', async () => {
        let s = await src.beginPoll();
        let first: bigint;
        try {
          first = s.currentVersion;
          expect(first).toBeGreaterThanOrEqual(0n);
          expect(first).toBeLessThanOrEqual(1n);
          expect(await s.minValidVersion(meta)).toBeLessThanOrEqual(first);
          expect(await s.changes(meta, first, null, 10)).toEqual([]);
        } finally {
          await s.end();
        }
        await fresh.exec(fresh.insertSql(tb, [{ id: 0, name: 'zero', qty: '0.00' }]));
        s = await src.beginPoll();
        try {
          expect(s.currentVersion).toBeGreaterThan(first);
          // a cursor at the first version is still valid: the change must come as a change, not as a reason to re-snapshot
          expect(await s.minValidVersion(meta)).toBeLessThanOrEqual(first);
          const rows = await s.changes(meta, first, null, 10);
          expect(rows.map((r) => [r.op, r.key, r.row])).toEqual([['I', { id: 0 }, { id: 0, name: 'zero', qty: '0.00' }]]);
          expect(rows[0].version).toBe(s.currentVersion);
          // a paging position at version 0 (and key 0) is before every change of the window
          expect((await s.changes(meta, first, { version: 0n, key: { id: 0 } }, 10)).map((r) => r.key.id)).toEqual([0]);
          expect(await s.changes(meta, first, { version: rows[0].version, key: { id: 0 } }, 10)).toEqual([]);
        } finally {
          await s.end();
        }
      });
    });

    describe('error contract: transient vs permanent, decided by the error type', () => {
      let edb: HarnessDatabase;
      let src: ChangeSource;
      let v0: bigint;
      const et: Record<string, HarnessTable> = {};
      const em: Record<string, TableMeta> = {};
      type Read = (s: PollSession) => Promise<unknown>;

      beforeAll(async () => {
        edb = await harness.createDatabase('ctr_err');
        for (const name of ['killed', 'revoked', 'untracked', 'suspended']) et[name] = await edb.createTable({ ...TRUNC, name });
        const all = Object.values(et);
        await edb.enableTracking(all);
        src = await edb.createSource();
        for (const meta of await src.describe(all.map((x) => x.ref))) em[meta.table] = meta;
        v0 = await versionOf(src);
        for (const tb of all) await edb.exec(edb.insertSql(tb, [{ id: 1, v: 'a' }]));
      });

      afterAll(async () => {
        await src?.close().catch(() => undefined);
        await edb?.drop();
      });

      /**
       * Each read in a poll of its own: after an error a PostgreSQL transaction accepts nothing more.
       * A source may already refuse the poll itself (SQL Server starts each poll's snapshot with a
       * read of a captured table): that refusal is the read's failure.
       */
      async function failures(source: ChangeSource, reads: Read[]): Promise<Error[]> {
        const out: Error[] = [];
        for (const read of reads) {
          let s: PollSession;
          try {
            s = await source.beginPoll();
          } catch (err) {
            out.push(err as Error);
            continue;
          }
          try {
            out.push(await rejection(read(s)));
          } finally {
            await s.end().catch(() => undefined);
          }
        }
        return out;
      }

      function expectPermanentNaming(err: Error, table: HarnessTable): void {
        expect(err, err.stack).toBeInstanceOf(SourceError);
        expect(isTransient(err), err.message).toBe(false);
        expect((err as SourceError).exitCode).toBe(3);
        expect(err.message).toContain(qualifiedName(table.ref));
      }

      it('a session killed during an open poll: the next read rejects with a transient error, and a new poll works', async () => {
        const s = await src.beginPoll();
        let err: Error;
        try {
          expect(await edb.killSourceConnections()).toBeGreaterThan(0);
          err = await rejection(s.changes(em.killed, v0, null, 10));
        } finally {
          await s.end().catch(() => undefined);
        }
        expect(err, err.stack).toBeInstanceOf(SourceError);
        expect(isTransient(err), err.message).toBe(true);
        expect(err.message).toContain(edb.name);
        // the source recovers by itself: the next poll gets a working connection
        const again = await pollTable(src, em.killed, v0);
        expect(again.rows.map((r) => [r.op, r.key])).toEqual([['I', { id: 1 }]]);
      });

      it('SELECT revoked on a tracked table: a permanent error (exit 3) naming the table', async () => {
        const login = await edb.createCaptureLogin([et.revoked]);
        const limited = await edb.createSource(login.url);
        try {
          const [meta] = await limited.describe([et.revoked.ref]);
          // with its grants the login reads the table's changes and rows
          expect((await pollTable(limited, meta, v0)).rows.map((r) => r.key)).toEqual([{ id: 1 }]);
          await login.revokeSelect(et.revoked);
          const errs = await failures(limited, [(s) => s.changes(meta, v0, null, 10), (s) => s.snapshotChunk(meta, null, 10)]);
          for (const err of errs) expectPermanentNaming(err, et.revoked);
        } finally {
          await limited.close();
        }
      });

      it('tracking switched off by hand (outside ctrelay): a permanent error naming the table and the way out, in every poll', async () => {
        await edb.suspendTracking(et.suspended);
        try {
          await edb.exec(edb.updateSql(et.suspended, { v: 'untracked' }, { id: 1 }));
          const errs = await failures(src, [(s) => s.minValidVersion(em.suspended), (s) => s.changes(em.suspended, v0, null, 10)]);
          for (const err of errs) {
            expectPermanentNaming(err, et.suspended);
            expect(err.message).toMatch(/ctrelay ct enable/);
          }
          // the other tables are read as before
          expect((await pollTable(src, em.killed, v0)).rows.map((r) => r.key)).toEqual([{ id: 1 }]);
        } finally {
          await edb.resumeTracking(et.suspended);
        }
      });

      it('change tracking disabled on a table: a permanent error naming the table and how to enable it again', async () => {
        await edb.disableTracking([et.untracked]);
        const errs = await failures(src, [(s) => s.minValidVersion(em.untracked), (s) => s.changes(em.untracked, v0, null, 10)]);
        for (const err of errs) {
          expectPermanentNaming(err, et.untracked);
          expect(err.message).toMatch(/ctrelay ct enable/);
        }
      });
    });
  });
}
