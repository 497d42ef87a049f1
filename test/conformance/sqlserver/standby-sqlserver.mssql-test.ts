// The SQL Server standby dialect (src/standby/sqlserver/) against a real SQL Server: the same kind of
// round trips test/integration/standby-dialects.test.ts runs for PostgreSQL and MariaDB (that file
// hard-codes its two kinds, so SQL Server gets this file). Runs only under vitest.mssql.config.ts.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { StandbyError } from '../../../src/core/errors.ts';
import type { ColumnMeta, ColumnType, Row, TableMeta } from '../../../src/core/model.ts';
import type { StandbyDialect, StandbyTransaction } from '../../../src/standby/dialect.ts';
import { SqlServerDialect } from '../../../src/standby/sqlserver/sqlserver-dialect.ts';
import { sqlServerHarness } from '../../support/source-harness-sqlserver.ts';
import type { HarnessDatabase, SourceHarness } from '../../support/source-harness.ts';

const url = inject('mssqlUrl');
if (!url) console.warn(inject('mssqlSkipReason'));

function col(name: string, type: ColumnType, nullable = true): ColumnMeta {
  return { name, type, nullable, sourceType: type.kind };
}

const SCHEMA = 'standby';

function allTypes(table: string): TableMeta {
  return {
    schema: SCHEMA,
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
      col('s', { kind: 'string', maxLength: 100 }),
      col('long', { kind: 'string' }),
      col('bin', { kind: 'bytes', maxLength: 16 }),
      col('blob', { kind: 'bytes' }),
      col('u', { kind: 'uuid' }),
      col('j', { kind: 'json' }),
      col('x', { kind: 'xml' }),
      col('d', { kind: 'date' }),
      col('t7', { kind: 'time', precision: 7 }),
      col('ts7', { kind: 'timestamp', precision: 7 }),
      col('tz7', { kind: 'timestamptz', precision: 7 }),
      col('dto7', { kind: 'datetimeoffset', precision: 7 }),
    ],
  };
}

// SQL Server's float has no subnormals (smallest positive 2.23E-308), so 5e-324 is not among them
const edgeRows: Row[] = [
  {
    id: 9223372036854775807n, b: true, i16: 32767, i32: 2147483647, i64: 9223372036854775807n,
    f32: 0.10000000149011612, f64: 1.7976931348623157e308, dec: '9999999999999999999999999999.9999999999',
    s: 'héllo wörld 😀 — ✓ "quotes" \'single\' back\\slash', long: 'x'.repeat(70_000),
    bin: Buffer.from([0, 1, 0, 255, 0]), blob: Buffer.from([0, 0, 0]), u: '0f8fad5b-d9cb-469f-a165-70867728950e',
    j: '{"a": 1,  "b":[1 ,2]}', x: '<a b="1">t&amp;</a>', d: '0001-01-01', t7: '23:59:59.9999999',
    ts7: '9999-12-31T23:59:59.9999999', tz7: '2024-06-30T23:59:59.0000001Z', dto7: '2024-03-10T08:15:30.1234567+05:45',
  },
  {
    id: -9223372036854775808n, b: false, i16: -32768, i32: -2147483648, i64: -9223372036854775807n,
    f32: -3.4028234663852886e38, f64: 2.2250738585072014e-308, dec: '-9999999999999999999999999999.9999999999',
    s: '', long: '', bin: Buffer.alloc(0), blob: Buffer.alloc(0), u: 'ffffffff-ffff-ffff-ffff-ffffffffffff',
    j: '[]', x: '', d: '9999-12-31', t7: '00:00:00.0000000', ts7: '0001-01-01T00:00:00.0000000',
    tz7: '1970-01-01T00:00:00.0000000Z', dto7: '0001-01-01T00:00:00.0000000-14:00',
  },
  {
    id: 0n, b: null, i16: null, i32: null, i64: null, f32: null, f64: null, dec: '0.0000000000', s: null, long: null,
    bin: null, blob: null, u: null, j: null, x: null, d: null, t7: null, ts7: null, tz7: null, dto7: null,
  },
];

const byKey = (rows: Row[]) => [...rows].sort((a, b) => ((a.id as bigint) < (b.id as bigint) ? -1 : 1));

async function applyTx(d: StandbyDialect, fn: (tx: StandbyTransaction) => Promise<void>) {
  const tx = await d.begin();
  try {
    await fn(tx);
    await tx.commit();
  } catch (err) {
    await tx.rollback().catch(() => undefined);
    throw err;
  }
}

(url ? describe : describe.skip)(`sqlserver standby dialect${url ? '' : ` (skipped: ${inject('mssqlSkipReason')})`}`, () => {
  let harness: SourceHarness;
  let db: HarnessDatabase;
  let d: SqlServerDialect;

  beforeAll(async () => {
    harness = sqlServerHarness(url);
    db = await harness.createDatabase('ctr_sb');
    d = new SqlServerDialect({ url: db.url });
    await d.connect();
    await d.ensureStateTable();
  });

  afterAll(async () => {
    await d?.close();
    await db?.drop();
    await harness?.close();
  });

  it('round-trips every column type to its exact canonical value, idempotently', async () => {
    const t = allTypes('all_types');
    await d.ensureTable(t);
    await applyTx(d, (tx) => tx.upsert(t, edgeRows));
    expect(byKey(await d.scan(t, null, 100))).toEqual(byKey(edgeRows));
    await applyTx(d, (tx) => tx.upsert(t, edgeRows));
    expect(byKey(await d.scan(t, null, 100))).toEqual(byKey(edgeRows));
  });

  it('updates through upsert, keeps the last image of a repeated key, deletes by key', async () => {
    const t = allTypes('updates');
    await d.ensureTable(t);
    await applyTx(d, (tx) => tx.upsert(t, edgeRows));
    const last = { ...edgeRows[2], s: 'last', b: true };
    await applyTx(d, (tx) => tx.upsert(t, [{ ...edgeRows[2], s: 'first' }, last]));
    expect((await d.scan(t, null, 100)).find((r) => r.id === 0n)).toEqual(last);
    await applyTx(d, (tx) => tx.delete(t, [{ id: 0n }, { id: 424242n }, { id: 9223372036854775807n }]));
    expect(await d.scan(t, null, 100)).toEqual([edgeRows[1]]);
  });

  it('rollback leaves nothing; commit makes data and state visible together', async () => {
    const t = allTypes('txn');
    await d.ensureTable(t);
    const tx = await d.begin();
    await tx.upsert(t, edgeRows);
    await tx.writeState({ sourceId: 'rb', batchSeq: 1n, version: 10n, batchOffset: 5n });
    await tx.rollback();
    expect(await d.scan(t, null, 10)).toEqual([]);
    expect(await d.readState('rb')).toBeNull();
    await applyTx(d, async (tx2) => {
      await tx2.upsert(t, edgeRows);
      await tx2.writeState({ sourceId: 'rb', batchSeq: 2n, version: 9007199254740993n, batchOffset: 6n });
    });
    expect(await d.scan(t, null, 10)).toHaveLength(3);
    expect(await d.readState('rb')).toMatchObject({ batchSeq: 2n, version: 9007199254740993n, batchOffset: 6n });
  });

  it('pages a composite key in key order and adds a new column keeping the data', async () => {
    const t: TableMeta = {
      schema: SCHEMA,
      table: 'bulk',
      key: ['k', 'n'],
      columns: [col('k', { kind: 'string', maxLength: 20 }, false), col('n', { kind: 'int64' }, false), col('v', { kind: 'string' })],
    };
    await d.ensureTable(t);
    const rows = Array.from({ length: 3_000 }, (_, i) => ({ k: `k${i % 7}`, n: BigInt(i), v: `value ${i}` }));
    await applyTx(d, (tx) => tx.upsert(t, rows));
    let seen = 0;
    let after: Row | null = null;
    for (;;) {
      const page = await d.scan(t, after, 700);
      if (page.length === 0) break;
      seen += page.length;
      after = { k: page[page.length - 1].k, n: page[page.length - 1].n };
    }
    expect(seen).toBe(3_000);
    const t2: TableMeta = { ...t, columns: [...t.columns, col('added', { kind: 'decimal', precision: 12, scale: 2 })] };
    await d.ensureTable(t2);
    expect((await d.scan(t2, null, 1))[0]).toMatchObject({ added: null });
  });

  it('a value too long for its column is a StandbyError naming table and key', async () => {
    const t: TableMeta = { schema: SCHEMA, table: 'narrow', key: ['id'], columns: [col('id', { kind: 'int32' }, false), col('name', { kind: 'string', maxLength: 5 })] };
    await d.ensureTable(t);
    const tx = await d.begin();
    const err = await tx.upsert(t, [{ id: 1, name: 'ok' }, { id: 73, name: 'much too long' }]).then(() => null, (e: unknown) => e);
    await tx.rollback().catch(() => undefined);
    expect(err).toBeInstanceOf(StandbyError);
    expect((err as Error).message).toContain(`${SCHEMA}.narrow`);
  });
});
