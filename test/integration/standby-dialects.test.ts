// Both standby dialects against the real local servers: every ColumnType round-trips to its exact
// canonical value, upserts are idempotent, transactions are all-or-nothing, and errors name the
// table and row.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import mysql from 'mysql2/promise';
import type { ColumnMeta, ColumnType, Row, TableMeta } from '../../src/core/model.ts';
import { StandbyError } from '../../src/core/errors.ts';
import type { StandbyDialect } from '../../src/standby/dialect.ts';
import { createDialect, type StandbyKind } from '../../src/standby/create-dialect.ts';
import { createMariaDatabase, createPgDatabase, type ThrowawayDb } from '../support/db.ts';

function col(name: string, type: ColumnType, nullable = true): ColumnMeta {
  return { name, type, nullable, sourceType: type.kind };
}

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

const edgeRows: Row[] = [
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
    f32: -3.4028234663852886e38, f64: 5e-324,
    dec: '-9999999999999999999999999999.9999999999', dec4: '-0.0001',
    s: '', fixed: '', long: '', bin: Buffer.alloc(0), blob: Buffer.alloc(0),
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

function byKey(rows: Row[]): Row[] {
  return [...rows].sort((a, b) => (BigInt(a.id as bigint) < BigInt(b.id as bigint) ? -1 : 1));
}

async function rawExec(kind: StandbyKind, url: string, sql: string): Promise<void> {
  if (kind === 'postgres') {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      await c.query(sql);
    } finally {
      await c.end();
    }
  } else {
    const c = await mysql.createConnection(url);
    try {
      await c.query(sql);
    } finally {
      await c.end();
    }
  }
}

async function applyTx(d: StandbyDialect, fn: (tx: Awaited<ReturnType<StandbyDialect['begin']>>) => Promise<void>) {
  const tx = await d.begin();
  try {
    await fn(tx);
    await tx.commit();
  } catch (err) {
    await tx.rollback();
    throw err;
  }
}

const kinds: StandbyKind[] = ['postgres', 'mariadb'];

describe.each(kinds)('%s standby dialect', (kind) => {
  let db: ThrowawayDb;
  let d: StandbyDialect;
  let schema: string;
  const q = (s: string, t: string) => (kind === 'postgres' ? `"${s}"."${t}"` : `\`${s}\`.\`${t}\``);

  beforeAll(async () => {
    db = kind === 'postgres' ? await createPgDatabase('ctr_sb') : await createMariaDatabase('ctr_sb');
    // PostgreSQL tables go in a schema of the throwaway database; MariaDB's "schema" is a database.
    schema = kind === 'postgres' ? 'standby' : db.name;
    d = createDialect(kind, db.url);
    await d.connect();
    await d.ensureStateTable();
  });

  afterAll(async () => {
    await d?.close();
    await db?.drop();
  });

  it('round-trips every column type to its exact canonical value', async () => {
    const t = allTypes(schema, 'all_types');
    await d.ensureTable(t);
    await applyTx(d, (tx) => tx.upsert(t, edgeRows));
    expect(byKey(await d.scan(t, null, 100))).toEqual(byKey(edgeRows));
    // idempotent: the same rows again leave the same state
    await applyTx(d, (tx) => tx.upsert(t, edgeRows));
    expect(byKey(await d.scan(t, null, 100))).toEqual(byKey(edgeRows));
  });

  it('updates through upsert, keeps the last image of a key repeated in one call, deletes by key', async () => {
    const t = allTypes(schema, 'updates');
    await d.ensureTable(t);
    await applyTx(d, (tx) => tx.upsert(t, edgeRows));
    const changed = { ...edgeRows[2], s: 'first', dec4: '1.5000' };
    const last = { ...edgeRows[2], s: 'last', dec4: '-2.2500', b: true };
    await applyTx(d, (tx) => tx.upsert(t, [changed, last]));
    const rows = byKey(await d.scan(t, null, 100));
    expect(rows.find((r) => r.id === 0n)).toEqual(last);
    await applyTx(d, (tx) => tx.delete(t, [{ id: 0n }, { id: 424242n }, { id: 1n }, { id: 1n }]));
    expect(await d.scan(t, null, 100)).toEqual([edgeRows[1]]);
  });

  it('rollback leaves nothing; commit makes data and state visible together', async () => {
    const t = allTypes(schema, 'txn');
    await d.ensureTable(t);
    const tx = await d.begin();
    await tx.upsert(t, edgeRows);
    await tx.writeState({ sourceId: 'rb', batchSeq: 1n, version: 10n, batchOffset: 5n });
    await tx.rollback();
    expect(await d.scan(t, null, 10)).toEqual([]);
    expect(await d.readState('rb')).toBeNull();

    const tx2 = await d.begin();
    await tx2.upsert(t, edgeRows);
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

  it('quotes hostile identifiers', async () => {
    const hostileSchema = kind === 'postgres' ? 'my "schema"; drop' : schema;
    const t: TableMeta = {
      schema: hostileSchema,
      table: 'select',
      key: ['a column', 'quo"te'],
      columns: [
        col('a column', { kind: 'string', maxLength: 50 }, false),
        col('quo"te', { kind: 'int32' }, false),
        col('back`tick', { kind: 'string' }),
        col("it's", { kind: 'int64' }),
        col('ünïcødé 名前', { kind: 'boolean' }),
      ],
    };
    await d.ensureTable(t);
    const rows: Row[] = [
      { 'a column': 'a', 'quo"te': 1, 'back`tick': '`; DROP TABLE x; --', "it's": 1n, 'ünïcødé 名前': true },
      { 'a column': 'a', 'quo"te': 2, 'back`tick': "'); --", "it's": null, 'ünïcødé 名前': false },
      { 'a column': 'a ', 'quo"te': 1, 'back`tick': null, "it's": -1n, 'ünïcødé 名前': null },
      { 'a column': 'b', 'quo"te': 0, 'back`tick': '', "it's": 0n, 'ünïcødé 名前': true },
    ];
    await applyTx(d, (tx) => tx.upsert(t, rows));
    // keyset paging over a composite key, two rows at a time
    const page1 = await d.scan(t, null, 2);
    const page2 = await d.scan(t, { 'a column': page1[1]['a column'], 'quo"te': page1[1]['quo"te'] }, 2);
    const page3 = await d.scan(t, { 'a column': page2[1]['a column'], 'quo"te': page2[1]['quo"te'] }, 2);
    expect(page3).toEqual([]);
    expect([...page1, ...page2]).toEqual(expect.arrayContaining(rows));
    await applyTx(d, (tx) => tx.delete(t, [{ 'a column': 'a ', 'quo"te': 1 }, { 'a column': 'zz', 'quo"te': 9 }]));
    expect(await d.scan(t, null, 10)).toHaveLength(3);
  });

  it('a value too long for a narrowed column throws StandbyError naming the table and key', async () => {
    const t: TableMeta = {
      schema,
      table: 'narrow',
      key: ['id'],
      columns: [col('id', { kind: 'int32' }, false), col('name', { kind: 'string', maxLength: 100 })],
    };
    await d.ensureTable(t);
    await rawExec(kind, db.url, kind === 'postgres'
      ? `ALTER TABLE ${q(schema, 'narrow')} ALTER COLUMN name TYPE varchar(5)`
      : `ALTER TABLE ${q(schema, 'narrow')} MODIFY name VARCHAR(5)`);
    const rows = Array.from({ length: 100 }, (_, i) => ({ id: i, name: i === 73 ? 'much too long' : 'ok' }));
    const tx = await d.begin();
    const err = await tx.upsert(t, rows).then(() => null, (e: unknown) => e);
    await tx.rollback();
    expect(err).toBeInstanceOf(StandbyError);
    const msg = (err as Error).message;
    expect(msg).toContain(`${schema}.narrow`);
    expect(msg).toContain('id=73');
    expect(await d.scan(t, null, 10)).toEqual([]);
  });

  it('a commit after a failed statement rolls back and says so', async () => {
    const t: TableMeta = { schema, table: 'narrow', key: ['id'], columns: [col('id', { kind: 'int32' }, false), col('name', { kind: 'string', maxLength: 100 })] };
    const tx = await d.begin();
    await tx.upsert(t, [{ id: 1, name: 'fine' }]);
    await expect(tx.upsert(t, [{ id: 2, name: 'far too long' }])).rejects.toThrow(StandbyError);
    await expect(tx.commit()).rejects.toThrow(/rolled back/);
    expect(await d.scan(t, null, 10)).toEqual([]);
  });

  it('applies many rows in several statements and deletes them again', async () => {
    const t: TableMeta = {
      schema,
      table: 'bulk',
      key: ['k', 'n'],
      columns: [col('k', { kind: 'string', maxLength: 20 }, false), col('n', { kind: 'int64' }, false), col('v', { kind: 'string' })],
    };
    await d.ensureTable(t);
    const rows = Array.from({ length: 30_000 }, (_, i) => ({ k: `k${i % 7}`, n: BigInt(i), v: `value ${i} ${'y'.repeat(i % 300)}` }));
    await applyTx(d, (tx) => tx.upsert(t, rows));
    let seen = 0;
    let after: Row | null = null;
    for (;;) {
      const page = await d.scan(t, after, 7_000);
      if (page.length === 0) break;
      seen += page.length;
      after = { k: page[page.length - 1].k, n: page[page.length - 1].n };
    }
    expect(seen).toBe(30_000);
    await applyTx(d, (tx) => tx.delete(t, rows.slice(0, 29_990).map((r) => ({ k: r.k, n: r.n }))));
    expect(await d.scan(t, null, 100)).toHaveLength(10);
  });

  it('splits statements by bytes, so multi-byte text never exceeds the packet limit', async () => {
    const t: TableMeta = { schema, table: 'cjk', key: ['id'], columns: [col('id', { kind: 'int32' }, false), col('v', { kind: 'string' })] };
    await d.ensureTable(t);
    // ~27 MB of UTF-8 in ~9 M UTF-16 units: counted in characters, one statement would hold it all
    const rows = Array.from({ length: 3_000 }, (_, i) => ({ id: i, v: `${i}${'名'.repeat(3_000)}` }));
    await applyTx(d, (tx) => tx.upsert(t, rows));
    const back = await d.scan(t, { id: 2_997 }, 10);
    expect(back).toEqual(rows.slice(2_998));
  });

  it('scan of an absent table returns no rows', async () => {
    expect(await d.scan({ ...allTypes(schema, 'nope') }, null, 10)).toEqual([]);
  });

  it('an unreachable server is a StandbyError that names it without the password', async () => {
    const url = kind === 'postgres' ? 'postgres://ctr:s3cretpw@127.0.0.1:1/x' : 'mysql://ctr:s3cretpw@127.0.0.1:1/x';
    const bad = createDialect(kind, url);
    const err = await bad.connect().then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(StandbyError);
    expect((err as Error).message).toContain('127.0.0.1:1');
    expect((err as Error).message).not.toContain('s3cretpw');
    expect((err as Error).message).not.toContain('ctr:');
  });
});

describe('mariadb limits', () => {
  it('refuses a decimal wider than DECIMAL(65) naming table and column', async () => {
    const d = createDialect('mariadb', 'mysql://root@127.0.0.1:3306/');
    await d.connect();
    try {
      const t: TableMeta = { schema: 'ctr_never_created', table: 'wide', key: ['id'], columns: [col('id', { kind: 'int32' }, false), col('big', { kind: 'decimal', precision: 76, scale: 0 })] };
      await expect(d.ensureTable(t)).rejects.toThrow(/ctr_never_created\.wide column big .*DECIMAL/);
    } finally {
      await d.close();
    }
  });
});
