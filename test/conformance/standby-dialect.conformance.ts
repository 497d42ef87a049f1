// The standby-dialect contract (src/standby/dialect.ts, the lifecycle of
// src/standby/sql-transaction.ts and the error contract of src/core/errors.ts) as ONE suite that
// every standby kind runs through a StandbyHarness (test/support/standby-harness.ts). Runners:
//   test/integration/standby-conformance.test.ts              (PostgreSQL, MariaDB; `npm test`)
//   test/conformance/sqlserver/standby-sqlserver.mssql-test.ts (SQL Server; vitest.mssql.config.ts)
//
// What an engine cannot do is declared in its harness's `limits`, never tested around silently.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConcurrentApplierError, isTransient } from '../../src/core/errors.ts';
import type { ColumnMeta, Row, TableMeta } from '../../src/core/model.ts';
import { canLoad, type StandbyDialect, type StandbyTransaction } from '../../src/standby/dialect.ts';
import { ColumnChangeRefusedError } from '../../src/standby/column-change.ts';
import { StandbyTables } from '../../src/apply/plan.ts';
import type { PrecreatedTables, StandbyDatabase, StandbyHarness, StandbyLimits } from '../support/standby-harness.ts';
import { applyTx, col, rejection } from './standby-helpers.ts';
import { standbyKeyCases } from './standby-keys.conformance.ts';

export interface StandbyConformanceOptions {
  /** standby kind, for the suite's name */
  kind: string;
  /** creates the harness; null skips every test (print skipReason before calling) */
  harness: (() => StandbyHarness) | null;
  skipReason?: string;
}

/** A table with a column of every ColumnType (and the precisions that differ in storage). */
function allTypes(schema: string, table: string): TableMeta {
  return {
    schema,
    table,
    key: ['id'],
    columns: [
      col('id', { kind: 'int64' }, false),
      col('b', { kind: 'boolean' }),
      col('i16', { kind: 'int16' }),
      col('i32', { kind: 'int32' }),
      col('i64', { kind: 'int64' }),
      col('f32', { kind: 'float32' }),
      col('f64', { kind: 'float64' }),
      col('dec', { kind: 'decimal', precision: 38, scale: 10 }),
      col('dec4', { kind: 'decimal', precision: 10, scale: 4 }),
      col('s', { kind: 'string', maxLength: 100 }),
      col('fixed', { kind: 'string', maxLength: 10, fixedLength: true }),
      col('long', { kind: 'string' }),
      col('bin', { kind: 'bytes', maxLength: 16 }),
      col('blob', { kind: 'bytes' }),
      col('u', { kind: 'uuid' }),
      col('j', { kind: 'json' }),
      col('x', { kind: 'xml' }),
      col('d', { kind: 'date' }),
      col('t0', { kind: 'time', precision: 0 }),
      col('t3', { kind: 'time', precision: 3 }),
      col('t7', { kind: 'time', precision: 7 }),
      col('ts0', { kind: 'timestamp', precision: 0 }),
      col('ts6', { kind: 'timestamp', precision: 6 }),
      col('ts7', { kind: 'timestamp', precision: 7 }),
      col('tz3', { kind: 'timestamptz', precision: 3 }),
      col('tz7', { kind: 'timestamptz', precision: 7 }),
      col('dto0', { kind: 'datetimeoffset', precision: 0 }),
      col('dto7', { kind: 'datetimeoffset', precision: 7 }),
    ],
  };
}

/** Extreme canonical values of every column of allTypes (the third row: NULLs). */
function edgeRows(limits: StandbyLimits): Row[] {
  return [
    {
      id: 1n, b: true, i16: 32767, i32: 2147483647, i64: 9223372036854775807n,
      f32: 0.10000000149011612, f64: 1.7976931348623157e308,
      dec: '9999999999999999999999999999.9999999999', dec4: '0.0000',
      s: 'héllo wörld 😀 — ✓ "quotes" \'single\' back\\slash', fixed: 'abc       ', long: 'x'.repeat(70_000),
      bin: Buffer.from([0, 1, 0, 255, 0]), blob: Buffer.from([0, 0, 0]),
      u: '0f8fad5b-d9cb-469f-a165-70867728950e', j: '{"a": 1,  "b":[1 ,2], "c": "\\u00e9"}', x: '<a b="1">t&amp;</a>',
      d: '0001-01-01', t0: '00:00:00', t3: '23:59:59.999', t7: '23:59:59.9999999',
      ts0: '9999-12-31T23:59:59', ts6: '2024-02-29T12:34:56.123456', ts7: '9999-12-31T23:59:59.9999999',
      tz3: '2024-01-01T00:00:00.001Z', tz7: '2024-06-30T23:59:59.0000001Z',
      dto0: '2024-03-10T08:15:30+05:45', dto7: '2024-03-10T08:15:30.1234567+05:45',
    },
    {
      id: -9223372036854775808n, b: false, i16: -32768, i32: -2147483648, i64: -9223372036854775807n,
      // the smallest subnormal double, or the smallest normal one where the engine has no subnormals
      f32: -3.4028234663852886e38, f64: limits.subnormalFloats ? 5e-324 : 2.2250738585072014e-308,
      dec: '-9999999999999999999999999999.9999999999', dec4: '-0.0001',
      // a fixed-length value is always full width in canonical form
      s: '', fixed: '          ', long: '', bin: Buffer.alloc(0), blob: Buffer.alloc(0),
      u: 'ffffffff-ffff-ffff-ffff-ffffffffffff', j: '[]', x: '', d: '9999-12-31',
      t0: '23:59:59', t3: '00:00:00.000', t7: '00:00:00.0000000',
      ts0: '1000-01-01T00:00:00', ts6: '1970-01-01T00:00:00.000000', ts7: '2024-01-01T00:00:00.0000000',
      tz3: '1999-12-31T23:59:59.999Z', tz7: '1970-01-01T00:00:00.0000000Z',
      dto0: '2024-03-10T00:00:00-08:00', dto7: '0001-01-01T00:00:00.0000000-14:00',
    },
    {
      id: 0n, b: null, i16: null, i32: null, i64: null, f32: null, f64: null, dec: '0.0000000000', dec4: null,
      s: null, fixed: null, long: null, bin: null, blob: null, u: null, j: null, x: null, d: null,
      t0: null, t3: null, t7: null, ts0: null, ts6: null, ts7: null, tz3: null, tz7: null, dto0: null, dto7: null,
    },
  ];
}

const byId = (rows: Row[]) => [...rows].sort((a, b) => ((a.id as bigint) < (b.id as bigint) ? -1 : 1));

export function standbyDialectConformance(opts: StandbyConformanceOptions): void {
  const suite = opts.harness ? describe : describe.skip;
  suite(`${opts.kind} standby dialect${opts.harness ? '' : ` (skipped: ${opts.skipReason ?? 'no server'})`}`, () => {
    let harness: StandbyHarness;
    let db: StandbyDatabase;
    let d: StandbyDialect;
    let schema: string;
    let limits: StandbyLimits;
    let rows: Row[];

    /** A two-column table (int key, string value of `length`) created through the dialect. */
    async function smallTable(name: string, length = 100): Promise<TableMeta> {
      const t: TableMeta = { schema, table: name, key: ['id'], columns: [col('id', { kind: 'int32' }, false), col('name', { kind: 'string', maxLength: length })] };
      await d.ensureTable(t);
      return t;
    }

    /** smallTable, then its value column narrowed to 5 characters behind the dialect's back. */
    async function narrowedTable(name: string): Promise<TableMeta> {
      const t = await smallTable(name);
      await db.exec(db.narrowColumnSql(t, 'name', 5));
      return t;
    }

    beforeAll(async () => {
      harness = opts.harness!();
      limits = harness.limits;
      rows = edgeRows(limits);
      db = await harness.createDatabase('ctr_sb');
      schema = db.schema;
      d = db.createDialect();
      await d.connect();
      await d.ensureStateTable();
    });

    afterAll(async () => {
      await d?.close();
      await db?.drop();
      await harness?.close();
    });

    describe('values and rows', () => {
      it('round-trips every column type to its exact canonical value, idempotently', async () => {
        const t = allTypes(schema, 'all_types');
        await d.ensureTable(t);
        await applyTx(d, (tx) => tx.upsert(t, rows));
        expect(byId(await d.scan(t, null, 100))).toEqual(byId(rows));
        // idempotent: the same rows again leave the same state
        await applyTx(d, (tx) => tx.upsert(t, rows));
        expect(byId(await d.scan(t, null, 100))).toEqual(byId(rows));
      });

      it('bulk load, where the dialect has one (PostgreSQL: COPY): every type exact, control characters included; a key already there is named', async () => {
        const t = allTypes(schema, 'loaded');
        await d.ensureTable(t);
        // what COPY's text format must escape: tab, newline, CR, backslash, a \N and a \. of the data itself
        const tricky = { ...rows[2], id: 5n, s: 'tab\there\nnewline\rcr \\N back\\slash\\', long: '\\.', x: '\\N' };
        const tx = await d.begin();
        if (!canLoad(tx)) {
          await tx.rollback();
          expect(opts.kind).not.toBe('postgres');
          return;
        }
        await tx.deleteAll(t);
        await tx.load(t, [...rows, tricky]);
        await tx.commit();
        expect(byId(await d.scan(t, null, 100))).toEqual(byId([...rows, tricky]));
        const again = await d.begin();
        const err = await rejection((again as StandbyTransaction & { load: (t: TableMeta, r: Row[]) => Promise<void> }).load(t, [{ ...rows[2], id: 7n }, rows[0]]));
        await again.rollback();
        expect(isTransient(err)).toBe(false);
        expect(err.message).toContain(`${schema}.loaded`);
        expect(err.message).toContain('id=1');
        expect(byId(await d.scan(t, null, 100))).toEqual(byId([...rows, tricky]));
      });

      it('updates through upsert, keeps the last image of a key repeated in one call, deletes by key', async () => {
        const t = allTypes(schema, 'updates');
        await d.ensureTable(t);
        await applyTx(d, (tx) => tx.upsert(t, rows));
        const changed = { ...rows[2], s: 'first', dec4: '1.5000' };
        const last = { ...rows[2], s: 'last', dec4: '-2.2500', b: true };
        await applyTx(d, (tx) => tx.upsert(t, [changed, last]));
        expect((await d.scan(t, null, 100)).find((r) => r.id === 0n)).toEqual(last);
        // absent keys and a key repeated in one call are no error
        await applyTx(d, (tx) => tx.delete(t, [{ id: 0n }, { id: 424242n }, { id: 1n }, { id: 1n }]));
        expect(await d.scan(t, null, 100)).toEqual([rows[1]]);
      });

      it('deleteAll empties the table in the transaction', async () => {
        const t = await smallTable('emptied');
        await applyTx(d, (tx) => tx.upsert(t, [{ id: 1, name: 'a' }, { id: 2, name: 'b' }]));
        const tx = await d.begin();
        await tx.deleteAll(t);
        await tx.upsert(t, [{ id: 3, name: 'c' }]);
        await tx.rollback();
        expect(await d.scan(t, null, 10)).toHaveLength(2);
        await applyTx(d, async (tx2) => {
          await tx2.deleteAll(t);
          await tx2.upsert(t, [{ id: 3, name: 'c' }]);
        });
        expect(await d.scan(t, null, 10)).toEqual([{ id: 3, name: 'c' }]);
      });

      it('applies many rows in several statements and deletes them again', async () => {
        const t: TableMeta = {
          schema,
          table: 'bulk',
          key: ['k', 'n'],
          columns: [col('k', { kind: 'string', maxLength: 20 }, false), col('n', { kind: 'int64' }, false), col('v', { kind: 'string' })],
        };
        await d.ensureTable(t);
        const many = Array.from({ length: 30_000 }, (_, i) => ({ k: `k${i % 7}`, n: BigInt(i), v: `value ${i} ${'y'.repeat(i % 300)}` }));
        await applyTx(d, (tx) => tx.upsert(t, many));
        let seen = 0;
        let after: Row | null = null;
        for (;;) {
          const page = await d.scan(t, after, 7_000);
          if (page.length === 0) break;
          seen += page.length;
          after = { k: page[page.length - 1].k, n: page[page.length - 1].n };
        }
        expect(seen).toBe(30_000);
        await applyTx(d, (tx) => tx.delete(t, many.slice(0, 29_990).map((r) => ({ k: r.k, n: r.n }))));
        expect(await d.scan(t, null, 100)).toHaveLength(10);
      });

      it('splits statements by bytes, so multi-byte text never exceeds a packet limit', async () => {
        const t: TableMeta = { schema, table: 'cjk', key: ['id'], columns: [col('id', { kind: 'int32' }, false), col('v', { kind: 'string' })] };
        await d.ensureTable(t);
        // ~27 MB of UTF-8 in ~9 M UTF-16 units: counted in characters, one statement would hold it all
        const cjk = Array.from({ length: 3_000 }, (_, i) => ({ id: i, v: `${i}${'名'.repeat(3_000)}` }));
        await applyTx(d, (tx) => tx.upsert(t, cjk));
        expect(await d.scan(t, { id: 2_997 }, 10)).toEqual(cjk.slice(2_998));
      });
    });

    describe('tables', () => {
      it('ensureTable on an existing table adds the new column and keeps the data', async () => {
        const t: TableMeta = { schema, table: 'grows', key: ['id'], columns: [col('id', { kind: 'int32' }, false), col('a', { kind: 'string', maxLength: 20 })] };
        await d.ensureTable(t);
        await applyTx(d, (tx) => tx.upsert(t, [{ id: 1, a: 'x' }]));
        await d.ensureTable(t); // no-op
        const t2: TableMeta = { ...t, columns: [...t.columns, col('added', { kind: 'decimal', precision: 12, scale: 2 }, false)] };
        await d.ensureTable(t2);
        expect(await d.scan(t2, null, 10)).toEqual([{ id: 1, a: 'x', added: null }]);
        await applyTx(d, (tx) => tx.upsert(t2, [{ id: 2, a: 'y', added: '-12.50' }]));
        expect(await d.scan(t2, null, 10)).toEqual([{ id: 1, a: 'x', added: null }, { id: 2, a: 'y', added: '-12.50' }]);
      });

      it('quotes hostile identifiers, and pages a composite key', async () => {
        const t: TableMeta = {
          schema: db.hostileSchema,
          table: 'select',
          key: ['a column', 'quo"te'],
          columns: [
            col('a column', { kind: 'string', maxLength: 50 }, false),
            col('quo"te', { kind: 'int32' }, false),
            col('back`tick]', { kind: 'string' }),
            col("it's", { kind: 'int64' }),
            col('ünïcødé 名前', { kind: 'boolean' }),
          ],
        };
        await d.ensureTable(t);
        const hostile: Row[] = [
          { 'a column': 'a', 'quo"te': 1, 'back`tick]': '`; DROP TABLE x; --', "it's": 1n, 'ünïcødé 名前': true },
          { 'a column': 'a', 'quo"te': 2, 'back`tick]': "'); --", "it's": null, 'ünïcødé 名前': false },
          // a key that differs only by a trailing space, where the engine keeps them apart
          { 'a column': limits.trailingSpaceKeys ? 'a ' : 'a_', 'quo"te': 1, 'back`tick]': null, "it's": -1n, 'ünïcødé 名前': null },
          { 'a column': 'b', 'quo"te': 0, 'back`tick]': '', "it's": 0n, 'ünïcødé 名前': true },
        ];
        await applyTx(d, (tx) => tx.upsert(t, hostile));
        // keyset paging over a composite key, two rows at a time
        const page1 = await d.scan(t, null, 2);
        const page2 = await d.scan(t, { 'a column': page1[1]['a column'], 'quo"te': page1[1]['quo"te'] }, 2);
        const page3 = await d.scan(t, { 'a column': page2[1]['a column'], 'quo"te': page2[1]['quo"te'] }, 2);
        expect(page3).toEqual([]);
        expect([...page1, ...page2]).toEqual(expect.arrayContaining(hostile));
        await applyTx(d, (tx) => tx.delete(t, [{ 'a column': hostile[2]['a column'], 'quo"te': 1 }, { 'a column': 'zz', 'quo"te': 9 }]));
        expect(await d.scan(t, null, 10)).toHaveLength(3);
      });

      it('scan of an absent table returns no rows', async () => {
        expect(await d.scan(allTypes(schema, 'nope'), null, 10)).toEqual([]);
        expect(await d.describeTable({ schema, table: 'nope' })).toBeNull();
      });
    });

    describe('schema changes', () => {
      /** a table of every widenable kind, before (`wide` false) or after the source widened it */
      const shape = (name: string, wide: boolean): TableMeta => ({
        schema,
        table: name,
        key: ['id'],
        columns: [
          col('id', { kind: 'int32' }, false),
          col('n', wide ? { kind: 'int32' } : { kind: 'int16' }),
          col('s', { kind: 'string', maxLength: wide ? 200 : 20 }),
          col('price', { kind: 'decimal', precision: wide ? 16 : 12, scale: wide ? 6 : 2 }, false),
          col('r', wide ? { kind: 'float64' } : { kind: 'float32' }),
          col('at', { kind: 'timestamp', precision: wide ? 6 : 3 }),
        ],
      });
      const before: Row[] = [
        { id: 1, n: -32768, s: 'x'.repeat(20), price: '-9999999999.99', r: 0.10000000149011612, at: '2024-01-02T03:04:05.123' },
        { id: 2, n: null, s: null, price: '0.50', r: null, at: null },
      ];
      /** the same rows as the widened table reads them: only the decimal's digits after the point grow */
      const beforeWide: Row[] = [
        { ...before[0], price: '-9999999999.990000', at: '2024-01-02T03:04:05.123000' },
        { ...before[1], price: '0.500000' },
      ];
      const needsWide: Row = { id: 3, n: 100_000, s: 'é'.repeat(150), price: '1234567890.123456', r: 1e300, at: '2024-01-02T03:04:05.123456' };

      it('ensureTable widens every widened column in place, keeping the data, and the wider values then go in exactly', async () => {
        const narrow = shape('widens', false);
        const wide = shape('widens', true);
        await d.ensureTable(narrow);
        await applyTx(d, (tx) => tx.upsert(narrow, before));
        const typesBefore = (await d.describeTable(narrow))!.map((c) => c.nativeType);
        await d.ensureTable(wide);
        const typesAfter = (await d.describeTable(wide))!.map((c) => c.nativeType);
        // every column but the key changed type; nothing was added or dropped
        expect(typesAfter.filter((t, i) => t !== typesBefore[i])).toHaveLength(5);
        expect(typesAfter).toHaveLength(6);
        expect(byId(await d.scan(wide, null, 10))).toEqual(beforeWide);
        await applyTx(d, (tx) => tx.upsert(wide, [needsWide]));
        expect(byId(await d.scan(wide, null, 10))).toEqual([...beforeWide, needsWide]);
        await d.ensureTable(wide); // idempotent
        expect((await d.describeTable(wide))!.map((c) => c.nativeType)).toEqual(typesAfter);
      });

      it('inside a transaction where the engine allows it: the widening rolls back with the rows, or is refused', async () => {
        const narrow = shape('widens_tx', false);
        const wide = shape('widens_tx', true);
        await d.ensureTable(narrow);
        const typesBefore = (await d.describeTable(narrow))!.map((c) => c.nativeType);
        const tx = await d.begin();
        if (d.transactionalDdl) {
          await tx.ensureTable(wide);
          await tx.upsert(wide, [needsWide]);
          await tx.rollback();
          expect((await d.describeTable(narrow))!.map((c) => c.nativeType)).toEqual(typesBefore);
          expect(await d.scan(narrow, null, 10)).toEqual([]);
          await applyTx(d, async (tx2) => {
            await tx2.ensureTable(wide);
            await tx2.upsert(wide, [needsWide]);
          });
          expect(await d.scan(wide, null, 10)).toEqual([needsWide]);
        } else {
          // DDL would commit the transaction: refused, and nothing changed
          await rejection(tx.ensureTable(wide));
          await tx.rollback();
          expect((await d.describeTable(narrow))!.map((c) => c.nativeType)).toEqual(typesBefore);
        }
      });

      it('refuses a narrowing or a conversion with a named error, and leaves the table and its rows as they were', async () => {
        const wide = shape('narrows', true);
        await d.ensureTable(wide);
        await applyTx(d, (tx) => tx.upsert(wide, [needsWide]));
        const types = (await d.describeTable(wide))!.map((c) => c.nativeType);
        const narrower: TableMeta = { ...wide, columns: wide.columns.map((c) => (c.name === 's' ? col('s', { kind: 'string', maxLength: 20 }) : c)) };
        const err = await rejection(d.ensureTable(narrower));
        expect(err).toBeInstanceOf(ColumnChangeRefusedError);
        expect(isTransient(err)).toBe(false);
        expect(err.message).toContain(`${schema}.narrows`);
        expect(err.message).toMatch(/column s: the standby column is \S.*, the source's is .* now and needs .*20.* here/);
        expect(err.message).toContain('ctrelay ct enable');
        const converted: TableMeta = { ...wide, columns: wide.columns.map((c) => (c.name === 'n' ? col('n', { kind: 'string' }) : c)) };
        expect((await rejection(d.ensureTable(converted))).message).toMatch(/column n: .*a change of kind/);
        const fewerDecimals: TableMeta = { ...wide, columns: wide.columns.map((c) => (c.name === 'price' ? col('price', { kind: 'decimal', precision: 16, scale: 2 }, false) : c)) };
        expect((await rejection(d.ensureTable(fewerDecimals))).message).toMatch(/column price:/);
        expect((await d.describeTable(wide))!.map((c) => c.nativeType)).toEqual(types);
        expect(await d.scan(wide, null, 10)).toEqual([needsWide]);
      });

      it('a column the source no longer has stays with its values and stops refusing rows without it', async () => {
        const t: TableMeta = { schema, table: 'drops', key: ['id'], columns: [col('id', { kind: 'int32' }, false), col('old', { kind: 'string', maxLength: 10 }, false)] };
        await d.ensureTable(t);
        await applyTx(d, (tx) => tx.upsert(t, [{ id: 1, old: 'kept' }]));
        const renamed: TableMeta = { ...t, columns: [t.columns[0], col('new', { kind: 'string', maxLength: 10 }, false)] };
        await d.ensureTable(renamed);
        await applyTx(d, (tx) => tx.upsert(renamed, [{ id: 2, new: 'two' }]));
        const all: TableMeta = { ...t, columns: [...t.columns.map((c) => ({ ...c, nullable: true })), renamed.columns[1]] };
        expect(byId(await d.scan(all, null, 10))).toEqual([{ id: 1, old: 'kept', new: null }, { id: 2, old: null, new: 'two' }]);
      });
    });

    describe('exact types', () => {
      it('float32 and fixed-length strings round-trip exactly, keys included', async () => {
        const t: TableMeta = {
          schema,
          table: 'exact',
          key: ['code'],
          columns: [col('code', { kind: 'string', maxLength: 5, fixedLength: true }, false), col('r', { kind: 'float32' }), col('c', { kind: 'string', maxLength: 5, fixedLength: true })],
        };
        await d.ensureTable(t);
        const floats = [
          0.10000000149011612, 16777216, -3.4028234663852886e38, 3.4028234663852886e38, 1.1754943508222875e-38,
          limits.subnormalFloats ? 1.401298464324817e-45 : 1.1754943508222875e-38, 0, 1.5,
        ];
        const rows: Row[] = floats.map((r, i) => ({ code: `k${i}   `, r, c: i % 2 === 0 ? 'ab   ' : '     ' }));
        rows.push({ code: 'abcde', r: null, c: null });
        await applyTx(d, (tx) => tx.upsert(t, rows));
        const read = await d.scan(t, null, 100);
        const byCode = (a: Row, b: Row) => ((a.code as string) < (b.code as string) ? -1 : 1);
        expect([...read].sort(byCode)).toEqual([...rows].sort(byCode));
        for (const r of read) if (typeof r.r === 'number') expect(Math.fround(r.r)).toBe(r.r);
        // padded keys find their rows: update and delete by the canonical (padded) key
        await applyTx(d, (tx) => tx.upsert(t, [{ code: 'k1   ', r: 2.5, c: 'x    ' }]));
        await applyTx(d, (tx) => tx.delete(t, [{ code: 'k0   ' }, { code: 'abcde' }]));
        const after = await d.scan(t, null, 100);
        expect(after.map((r) => r.code).sort()).toEqual(rows.slice(1, floats.length).map((r) => r.code).sort());
        expect(after.find((r) => r.code === 'k1   ')).toEqual({ code: 'k1   ', r: 2.5, c: 'x    ' });
      });

      it('text columns hold the exact canonical string of every value, NaN, infinities and -0 included', async () => {
        const source: TableMeta = {
          schema: 'src',
          table: 'floats',
          key: ['id'],
          columns: [col('id', { kind: 'int32' }, false), col('x', { kind: 'float64' }), col('y', { kind: 'float32' }), col('dropped', { kind: 'string' })],
        };
        const target = new StandbyTables(() => ({ schema, table: 'text_cols' }), new Map([['src.floats', { exclude: ['dropped'], text: ['x', 'y'] }]])).target(source);
        await d.ensureTable(target.meta);
        const xs = [Number.NaN, Infinity, -Infinity, -0, 1e308, 5e-324, 0.1, null];
        await applyTx(d, (tx) => tx.upsert(target.meta, xs.map((x, i) => target.row({ id: i, x, y: i === 0 ? 0.10000000149011612 : null, dropped: 'never written' }))));
        const read = byId(await d.scan(target.meta, null, 100));
        expect(read.map((r) => r.x)).toEqual(['NaN', 'Infinity', '-Infinity', '-0', '1e+308', '5e-324', '0.1', null]);
        expect(read[0].y).toBe('0.10000000149011612');
        expect((await d.describeTable(target.meta))!.map((c) => c.name)).toEqual(['id', 'x', 'y']);
      });

      it('a value its column would round or cut is refused naming table, column and key, never stored changed', async () => {
        const t: TableMeta = {
          schema,
          table: 'no_rounding',
          key: ['id'],
          columns: [col('id', { kind: 'int32' }, false), col('price', { kind: 'decimal', precision: 12, scale: 2 }), col('s', { kind: 'string', maxLength: 5 })],
        };
        await d.ensureTable(t);
        for (const bad of [{ id: 7, price: '1.234', s: null }, { id: 7, price: null, s: 'ab    ' }]) {
          const tx = await d.begin();
          const err = await rejection(tx.upsert(t, [{ id: 1, price: '1.00', s: 'ok' }, bad]));
          await tx.rollback();
          expect(isTransient(err)).toBe(false);
          expect(err.message).toContain(`${schema}.no_rounding`);
          expect(err.message).toContain(bad.price ? 'column price' : 'column s');
          expect(err.message).toContain('id=7');
        }
        expect(await d.scan(t, null, 10)).toEqual([]);
      });
    });

    // keys the source keeps apart stay apart, or are refused loudly (standby-keys.conformance.ts)
    describe('keys', () => standbyKeyCases(() => ({ d, schema, limits })));

    describe('transactions and state', () => {
      it('rollback leaves nothing; commit makes data and state visible together', async () => {
        const t = allTypes(schema, 'txn');
        await d.ensureTable(t);
        const tx = await d.begin();
        await tx.upsert(t, rows);
        await tx.writeState({ sourceId: 'rb', batchSeq: 1n, version: 10n, batchOffset: 5n });
        await tx.rollback();
        await tx.rollback(); // idempotent
        expect(await d.scan(t, null, 10)).toEqual([]);
        expect(await d.readState('rb')).toBeNull();

        const tx2 = await d.begin();
        await tx2.upsert(t, rows);
        await tx2.writeState({ sourceId: 'rb', batchSeq: 2n, version: 20n, batchOffset: 6n });
        // other connections see neither until commit
        expect(await d.scan(t, null, 10)).toEqual([]);
        expect(await d.readState('rb')).toBeNull();
        await tx2.commit();
        expect(await d.scan(t, null, 10)).toHaveLength(3);
        expect(await d.readState('rb')).toMatchObject({ batchSeq: 2n, version: 20n, batchOffset: 6n });
      });

      it('round-trips the apply state', async () => {
        await d.ensureStateTable(); // idempotent
        expect(await d.readState('src-a')).toBeNull();
        const before = Date.now();
        await applyTx(d, (tx) => tx.writeState({ sourceId: 'src-a', batchSeq: 7n, version: 9007199254740993n, batchOffset: 0n }));
        const s = await d.readState('src-a');
        expect(s).toMatchObject({ sourceId: 'src-a', batchSeq: 7n, version: 9007199254740993n, batchOffset: 0n });
        expect(s!.appliedAt!.getTime()).toBeGreaterThanOrEqual(before - 2000);
        await applyTx(d, (tx) => tx.writeState({ sourceId: 'src-a', batchSeq: 8n, version: 9007199254740995n, batchOffset: 1n }));
        expect(await d.readState('src-a')).toMatchObject({ batchSeq: 8n, version: 9007199254740995n, batchOffset: 1n });
      });

      it('moves the state only forward: a stale write is ConcurrentApplierError and its data rolls back with it', async () => {
        const t = await smallTable('forward');
        const write = (seq: bigint, id: number) =>
          applyTx(d, async (tx) => {
            await tx.upsert(t, [{ id, name: null }]);
            await tx.writeState({ sourceId: 'fwd', batchSeq: seq, version: seq, batchOffset: seq });
          });
        await write(5n, 1);
        await expect(write(5n, 2)).rejects.toBeInstanceOf(ConcurrentApplierError);
        await expect(write(4n, 3)).rejects.toBeInstanceOf(ConcurrentApplierError);
        await write(6n, 4);
        expect((await d.readState('fwd'))?.batchSeq).toBe(6n);
        expect((await d.scan(t, null, 10)).map((r) => r.id)).toEqual([1, 4]);
      });

      it('a commit after a failed statement rolls back, says so, and keeps the failure permanent', async () => {
        const t = await narrowedTable('failed_commit');
        const tx = await d.begin();
        await tx.upsert(t, [{ id: 1, name: 'fine' }]);
        const failed = await rejection(tx.upsert(t, [{ id: 2, name: 'far too long' }]));
        expect(isTransient(failed)).toBe(false);
        // nothing more is sent in a poisoned transaction
        expect((await rejection(tx.upsert(t, [{ id: 3, name: 'ok' }]))).message).toMatch(/failed, roll it back/);
        const commit = await rejection(tx.commit());
        expect(commit.message).toMatch(/rolled back/);
        expect(isTransient(commit)).toBe(false);
        await tx.rollback(); // after commit: nothing
        expect(await d.scan(t, null, 10)).toEqual([]);
      });
    });

    describe('pre-created tables (a schema restored before replication starts)', () => {
      let pre: PrecreatedTables;
      const s20 = { kind: 'string', maxLength: 20 } as const;
      const items = (): TableMeta => ({
        schema,
        table: 'pc_items',
        key: ['id'],
        columns: [
          col('id', { kind: 'int64' }, false),
          col('name', { kind: 'string', maxLength: 50 }),
          col('qty', { kind: 'int32' }, false),
          col('price', { kind: 'decimal', precision: 10, scale: 2 }, false),
          col('total', { kind: 'decimal', precision: 20, scale: 2 }),
        ],
      });
      const small = (table: string, ...more: ColumnMeta[]): TableMeta => ({ schema, table, key: ['id'], columns: [col('id', { kind: 'int32' }, false), ...more] });

      beforeAll(async () => {
        pre = db.precreated();
        for (const statement of pre.create) await db.exec(statement);
      });

      it('writes by column name: identity columns take the source values, generated columns are computed by the standby, standby-only columns keep their defaults', async () => {
        const t = items();
        const before = await d.describeTable(t);
        await d.ensureTable(t);
        const after = (await d.describeTable(t))!;
        // the operator's table is left as it is: column order, the standby-only NOT NULL column
        expect(after).toEqual(before);
        expect(after.map((c) => c.name)).toEqual(['total', 'site', 'price', 'id', 'qty', 'name']);
        const byName = new Map(after.map((c) => [c.name, c]));
        expect(byName.get('total')).toMatchObject({ generated: true });
        expect(byName.get('site')).toMatchObject({ nullable: false, hasDefault: true, generated: false });
        expect(byName.get('id')!.identity).not.toBeNull();
        expect(byName.get('id')!.inKey).toBe(true);

        const rows: Row[] = [
          { id: 100n, name: 'a', qty: 2, price: '1.50', total: '3.00' },
          { id: 7n, name: null, qty: 1, price: '0.99', total: '0.99' },
        ];
        await applyTx(d, (tx) => tx.upsert(t, rows));
        expect(byId(await d.scan(t, null, 10))).toEqual(byId(rows));
        // again: idempotent
        await applyTx(d, (tx) => tx.upsert(t, rows));
        expect(byId(await d.scan(t, null, 10))).toEqual(byId(rows));
        const withSite: TableMeta = { ...t, columns: [...t.columns, col('site', s20)] };
        expect((await d.scan(withSite, null, 10)).map((r) => r.site)).toEqual(['standby', 'standby']);
        // an update: the standby computes the new total
        await applyTx(d, (tx) => tx.upsert(t, [{ ...rows[0], qty: 3, total: '4.50' }]));
        expect(byId(await d.scan(t, null, 10))).toEqual(byId([rows[1], { ...rows[0], qty: 3, total: '4.50' }]));

        // what the standby computes differs from what the source holds: refused, named, nothing written
        const tx = await d.begin();
        const err = await rejection(tx.upsert(t, [{ id: 5n, name: 'x', qty: 1, price: '1.00', total: '9.99' }]));
        await tx.rollback();
        expect(isTransient(err)).toBe(false);
        expect(err.message).toContain(`${schema}.pc_items`);
        expect(err.message).toContain('id=5');
        expect(err.message).toContain("column total is computed by the standby as '1.00' but the source has '9.99'");
        expect((await d.scan(t, null, 10)).map((r) => r.id)).toEqual([7n, 100n]);
      });

      it('an identity column outside the key: written with the source value; a changed value is updated or refused, never kept silently', async () => {
        const t = small('pc_seq', col('seq', { kind: 'int64' }, false), col('v', s20));
        await d.ensureTable(t);
        await applyTx(d, (tx) => tx.upsert(t, [{ id: 1, seq: 41n, v: 'a' }, { id: 2, seq: 7n, v: null }]));
        await applyTx(d, (tx) => tx.upsert(t, [{ id: 1, seq: 41n, v: 'b' }]));
        expect(await d.scan(t, null, 10)).toEqual([{ id: 1, seq: 41n, v: 'b' }, { id: 2, seq: 7n, v: null }]);
        const changed = { id: 1, seq: 42n, v: 'c' };
        if (limits.updatesIdentity) {
          await applyTx(d, (tx) => tx.upsert(t, [changed]));
          expect((await d.scan(t, null, 1))[0]).toEqual(changed);
        } else {
          const tx = await d.begin();
          const err = await rejection(tx.upsert(t, [changed]));
          await tx.rollback();
          expect(isTransient(err)).toBe(false);
          expect(err.message).toContain(`${schema}.pc_seq at key (id=1)`);
          expect(err.message).toContain('identity column seq holds 41 on the standby but the source has 42');
          expect((await d.scan(t, null, 1))[0]).toEqual({ id: 1, seq: 41n, v: 'b' });
        }
      });

      it('runs as a replica: a foreign key violated inside a transaction and fixed later in it commits, and the standby never cascades by itself', async () => {
        const parent = small('pc_parent', col('name', s20));
        const child = small('pc_child', col('parent_id', { kind: 'int32' }, false), col('v', s20));
        await d.ensureTable(parent);
        await d.ensureTable(child);
        if (limits.refusesForeignKeys) {
          for (const [t, row] of [[child, { id: 1, parent_id: 10, v: 'c' }], [parent, { id: 10, name: 'p' }]] as const) {
            const tx = await d.begin();
            const err = await rejection(tx.upsert(t, [row]));
            await tx.rollback();
            expect(isTransient(err)).toBe(false);
            expect(err.message).toContain('pc_child_parent');
          }
          for (const statement of pre.disableForeignKey) await db.exec(statement);
        }
        // the children first, their parent after them, in one transaction
        await applyTx(d, async (tx) => {
          await tx.upsert(child, [{ id: 1, parent_id: 10, v: 'c1' }, { id: 2, parent_id: 10, v: 'c2' }]);
          await tx.upsert(parent, [{ id: 10, name: 'p' }]);
        });
        expect(await d.scan(parent, null, 10)).toEqual([{ id: 10, name: 'p' }]);
        expect(await d.scan(child, null, 10)).toHaveLength(2);
        // a cascade at the source arrives as the deletes of its children; the parent's delete alone cascades nothing
        await applyTx(d, (tx) => tx.delete(parent, [{ id: 10 }]));
        expect(await d.scan(child, null, 10)).toEqual([{ id: 1, parent_id: 10, v: 'c1' }, { id: 2, parent_id: 10, v: 'c2' }]);
        await applyTx(d, (tx) => tx.delete(child, [{ id: 1 }, { id: 2 }]));
        // a re-snapshot empties the parent table; its children on the standby stay until their own changes arrive
        await applyTx(d, async (tx) => {
          await tx.upsert(parent, [{ id: 11, name: 'q' }]);
          await tx.upsert(child, [{ id: 3, parent_id: 11, v: 'c3' }]);
        });
        await applyTx(d, (tx) => tx.deleteAll(parent));
        expect(await d.scan(parent, null, 10)).toEqual([]);
        expect(await d.scan(child, null, 10)).toEqual([{ id: 3, parent_id: 11, v: 'c3' }]);
      });

      it('a standby trigger never fires for applied changes: it is kept still, or its table is refused naming it', async () => {
        const trig = small('pc_trig', col('v', s20));
        const audit: TableMeta = { schema, table: 'pc_audit', key: ['n'], columns: [col('n', { kind: 'int64' }, false), col('what', { kind: 'string', maxLength: 100 })] };
        await d.ensureTable(trig);
        if (limits.refusesTriggers) {
          for (const write of [(tx: StandbyTransaction) => tx.upsert(trig, [{ id: 1, v: 'a' }]), (tx: StandbyTransaction) => tx.delete(trig, [{ id: 1 }])]) {
            const tx = await d.begin();
            const err = await rejection(write(tx));
            await tx.rollback();
            expect(isTransient(err)).toBe(false);
            expect(err.message).toContain(`${schema}.pc_trig`);
            expect(err.message).toContain('pc_trig_audit');
          }
          expect(await d.scan(trig, null, 10)).toEqual([]);
          for (const statement of pre.disableTrigger) await db.exec(statement);
        } else {
          // the trigger is real: outside apply it writes its audit row
          await db.exec(`INSERT INTO ${schema}.pc_trig (id, v) VALUES (99, 'outside')`);
          expect(await d.scan(audit, null, 10)).toHaveLength(1);
          await applyTx(d, (tx) => tx.deleteAll(audit));
          await applyTx(d, (tx) => tx.delete(trig, [{ id: 99 }]));
        }
        await applyTx(d, (tx) => tx.upsert(trig, [{ id: 1, v: 'a' }, { id: 2, v: 'b' }]));
        await applyTx(d, (tx) => tx.upsert(trig, [{ id: 1, v: 'c' }]));
        await applyTx(d, (tx) => tx.delete(trig, [{ id: 2 }]));
        expect(await d.scan(trig, null, 10)).toEqual([{ id: 1, v: 'c' }]);
        await applyTx(d, (tx) => tx.deleteAll(trig));
        expect(await d.scan(audit, null, 10)).toEqual([]);
      });

      it('a login that may not run apply transactions as a replica is stopped at start, naming the setting and the grant', async () => {
        if (!limits.replicaModeGrant) return; // the engine needs no grant for it (see StandbyLimits)
        const t = small('pc_parent', col('name', s20));
        const other = db.createDialect(await db.noReplicaModeUrl!());
        await other.connect();
        try {
          for (const attempt of [() => other.ensureStateTable(), () => other.begin()]) {
            const err = await rejection(attempt());
            expect(isTransient(err)).toBe(false);
            expect(err.message).toContain('may not set session_replication_role');
            expect(err.message).toMatch(/GRANT SET ON PARAMETER session_replication_role TO "?\w+_norep"?/);
          }
          // reading needs no such right
          expect(await other.scan(t, null, 10)).toEqual([]);
        } finally {
          await other.close();
        }
      });
    });

    describe('errors', () => {
      it('a value too long for a narrowed column is a permanent StandbyError naming the table and key', async () => {
        const t = await narrowedTable('narrow');
        const many = Array.from({ length: 100 }, (_, i) => ({ id: i, name: i === 73 ? 'much too long' : 'ok' }));
        const tx = await d.begin();
        const err = await rejection(tx.upsert(t, many));
        await tx.rollback();
        expect(isTransient(err)).toBe(false);
        expect(err.message).toContain(`${schema}.narrow`);
        if (limits.namesRefusedKey) expect(err.message).toContain('id=73');
        expect(await d.scan(t, null, 10)).toEqual([]);
      });

      it('a connection killed inside a transaction makes the next statement and the commit transient; the next transaction works', async () => {
        const t = await smallTable('killed');
        const tx = await d.begin();
        await tx.upsert(t, [{ id: 1, name: 'before' }]);
        expect(await db.killDialectSessions()).toBeGreaterThan(0);
        const upsert = await rejection(tx.upsert(t, [{ id: 2, name: 'after' }]));
        expect(isTransient(upsert)).toBe(true);
        const commit = await rejection(tx.commit());
        expect(isTransient(commit)).toBe(true);
        await tx.rollback();
        // the pool replaced the killed connections
        await applyTx(d, (tx2) => tx2.upsert(t, [{ id: 3, name: 'again' }]));
        expect(await d.scan(t, null, 10)).toEqual([{ id: 3, name: 'again' }]);
      });

      it('a connection killed before COMMIT makes the commit transient, and nothing is applied', async () => {
        const t = await smallTable('killed_commit');
        const tx = await d.begin();
        await tx.upsert(t, [{ id: 1, name: 'lost' }]);
        await tx.writeState({ sourceId: 'killed', batchSeq: 1n, version: 1n, batchOffset: 1n });
        await db.killDialectSessions();
        expect(isTransient(await rejection(tx.commit()))).toBe(true);
        expect(await d.scan(t, null, 10)).toEqual([]);
        expect(await d.readState('killed')).toBeNull();
      });

      it('a login without write permission gets a permanent StandbyError naming the table', async () => {
        const t = await smallTable('guarded');
        const ro = db.createDialect(await db.readOnlyUrl());
        await ro.connect();
        try {
          expect(await ro.scan(t, null, 10)).toEqual([]); // it may read
          const tx = await ro.begin();
          const err = await rejection(tx.upsert(t, [{ id: 1, name: 'x' }]));
          expect(isTransient(err)).toBe(false);
          expect(err.message).toContain(`${schema}.guarded`);
          expect(isTransient(await rejection(tx.commit()))).toBe(false);
        } finally {
          await ro.close();
        }
      });

      it('an unreachable server is a transient StandbyError that names it without the password', async () => {
        const bad = db.createDialect(harness.unreachableUrl('s3cretpw'));
        const err = await rejection(bad.connect());
        expect(isTransient(err)).toBe(true);
        expect(err.message).toContain('127.0.0.1:1');
        expect(err.message).not.toContain('s3cretpw');
        expect(err.message).not.toContain('ctr:');
      });

      it('a login the server refuses is a permanent StandbyError, without the password', async () => {
        const bad = db.createDialect(db.refusedLoginUrl('wr0ngpw-x'));
        try {
          const err = await rejection(bad.connect());
          expect(isTransient(err)).toBe(false);
          expect(err.message).not.toContain('wr0ngpw-x');
        } finally {
          await bad.close();
        }
      });
    });
  });
}
