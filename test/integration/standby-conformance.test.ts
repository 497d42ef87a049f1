// The standby-dialect conformance suite (test/conformance/standby-dialect.conformance.ts) against
// the local PostgreSQL and MariaDB, plus what only MariaDB limits.
import mysql from 'mysql2/promise';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isTransient, StandbyError } from '../../src/core/errors.ts';
import type { ColumnMeta, ColumnType, TableMeta } from '../../src/core/model.ts';
import { createDialect } from '../../src/standby/create-dialect.ts';
import type { StandbyDialect } from '../../src/standby/dialect.ts';
import { standbyDialectConformance } from '../conformance/standby-dialect.conformance.ts';
import { createMariaDatabase, createPgDatabase, MYSQL_ADMIN_URL, type ThrowawayDb } from '../support/db.ts';
import { mariaDbStandbyHarness } from '../support/standby-harness-mariadb.ts';
import { postgresStandbyHarness } from '../support/standby-harness-postgres.ts';

standbyDialectConformance({ kind: 'postgres', harness: postgresStandbyHarness });
standbyDialectConformance({ kind: 'mariadb', harness: mariaDbStandbyHarness });

describe('mariadb limits', () => {
  it('refuses a decimal wider than DECIMAL(65) naming table and column', async () => {
    const d = createDialect('mariadb', MYSQL_ADMIN_URL);
    await d.connect();
    try {
      const t: TableMeta = {
        schema: 'ctr_never_created',
        table: 'wide',
        key: ['id'],
        columns: [
          { name: 'id', type: { kind: 'int32' }, nullable: false, sourceType: 'int' },
          { name: 'big', type: { kind: 'decimal', precision: 76, scale: 0 }, nullable: true, sourceType: 'numeric(76,0)' },
        ],
      };
      await expect(d.ensureTable(t)).rejects.toThrow(/ctr_never_created\.wide column big .*DECIMAL/);
    } finally {
      await d.close();
    }
  });
});

describe('mariadb: values it cannot store, or would change with only a note', () => {
  let db: ThrowawayDb;
  let d: StandbyDialect;
  const col = (name: string, type: ColumnType, nullable = true): ColumnMeta => ({ name, type, nullable, sourceType: type.kind });

  beforeAll(async () => {
    db = await createMariaDatabase('ctr_sbm');
    d = createDialect('mariadb', db.url);
    await d.connect();
  });
  afterAll(async () => {
    await d?.close();
    await db?.drop();
  });

  it.each([['NaN', Number.NaN], ['Infinity', Infinity], ['-Infinity', -Infinity], ['-0', -0]])(
    'a float %s stops the write naming table, column, value and both options; nothing is written',
    async (shown, value) => {
      const t: TableMeta = { schema: db.name, table: 'floats', key: ['id'], columns: [col('id', { kind: 'int32' }, false), col('x', { kind: 'float64' })] };
      await d.ensureTable(t);
      const tx = await d.begin();
      const err = await tx.upsert(t, [{ id: 1, x: 1.5 }, { id: 2, x: value }]).then(() => null, (e: unknown) => e as StandbyError);
      await tx.rollback();
      expect(err).toBeInstanceOf(StandbyError);
      expect(err!.message).toContain(`column x (float64) of table ${db.name}.floats at key (id=2)`);
      expect(err!.message).toContain(`float value ${shown}`);
      expect(err!.message).toContain('textColumns');
      expect(err!.message).toContain('excludeColumns');
      expect(await d.scan(t, null, 10)).toEqual([]);
    },
  );

  it('a row larger than max_allowed_packet stops the write naming table, key, column, sizes and the setting (never a dropped connection retried for ever)', async () => {
    const t: TableMeta = { schema: db.name, table: 'huge', key: ['id'], columns: [col('id', { kind: 'int32' }, false), col('blob', { kind: 'bytes' })] };
    await d.ensureTable(t);
    // what the server's max_allowed_packet would be on a standby with the default 16 MB, scaled
    // down so the test needs no 16 MB value (the check runs before anything is sent)
    (d as unknown as { maxPacketBytes: number }).maxPacketBytes = 1 << 20;
    try {
      const tx = await d.begin();
      const err = await tx.upsert(t, [{ id: 1, blob: Buffer.alloc(10) }, { id: 7, blob: Buffer.alloc(2 << 20, 1) }]).then(() => null, (e: unknown) => e as StandbyError);
      await tx.rollback();
      expect(err).toBeInstanceOf(StandbyError);
      expect(isTransient(err)).toBe(false);
      expect(err!.message).toMatch(new RegExp(`table ${db.name}\\.huge at key \\(id=7\\) needs a statement of \\d+ bytes \\(column blob: 2097152 bytes\\)`));
      expect(err!.message).toContain('max_allowed_packet of 1048576 bytes');
      expect(await d.scan(t, null, 10)).toEqual([]);
    } finally {
      await d.close();
      d = createDialect('mariadb', db.url);
      await d.connect();
    }
  });

  it('a DECIMAL MariaDB would round with only a note (column narrowed behind ctrelay) is an error naming the row', async () => {
    const t: TableMeta = { schema: db.name, table: 'noted', key: ['id'], columns: [col('id', { kind: 'int32' }, false), col('price', { kind: 'decimal', precision: 12, scale: 2 })] };
    await d.ensureTable(t);
    const admin = await mysql.createConnection(db.url);
    try {
      await admin.query('ALTER TABLE noted MODIFY price DECIMAL(12,1) NULL');
    } finally {
      await admin.end();
    }
    const tx = await d.begin();
    const err = await tx.upsert(t, [{ id: 1, price: '1.00' }, { id: 2, price: '1.25' }]).then(() => null, (e: unknown) => e as StandbyError);
    expect(err).toBeInstanceOf(StandbyError);
    expect(err!.message).toMatch(/changed a value instead of storing it as it is \(MariaDB said: Note 1265: Data truncated for column 'price' at row 2\)/);
    expect(err!.message).toContain('at key (id=2)');
    await expect(tx.commit()).rejects.toThrow(/rolled back/);
    expect(await d.scan(t, null, 10)).toEqual([]);
    // and ensureTable sees the narrowed column: it refuses instead of writing into it
    await expect(d.ensureTable(t)).rejects.toThrow(/column price: the standby column is decimal\(12,1\)/);
  });
});

describe('postgres: triggers that fire in replica mode', () => {
  let db: ThrowawayDb;
  let d: StandbyDialect;
  const col = (name: string, type: ColumnType, nullable = true): ColumnMeta => ({ name, type, nullable, sourceType: type.kind });
  const t: TableMeta = { schema: 'public', table: 'stamped', key: ['id'], columns: [col('id', { kind: 'int32' }, false), col('v', { kind: 'string', maxLength: 20 })] };
  const admin = async (sql: string) => {
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    try {
      return (await c.query(sql)).rows;
    } finally {
      await c.end();
    }
  };

  beforeAll(async () => {
    db = await createPgDatabase('ctr_sbpt');
    d = createDialect('postgres', db.url);
    await d.connect();
    await d.ensureTable(t);
    // a trigger that changes every row written: as an ordinary trigger it stays still during apply
    await admin(`CREATE FUNCTION public.stamp() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.v := 'stamped'; RETURN NEW; END $$;
                 CREATE TRIGGER stamp BEFORE INSERT OR UPDATE ON public.stamped FOR EACH ROW EXECUTE FUNCTION public.stamp()`);
  });
  afterAll(async () => {
    await d?.close();
    await db?.drop();
  });

  it('an ordinary BEFORE ROW trigger does not fire; enabled ALWAYS it is refused naming it, and nothing is written', async () => {
    let tx = await d.begin();
    await tx.upsert(t, [{ id: 1, v: 'as sent' }]);
    await tx.commit();
    expect(await d.scan(t, null, 10)).toEqual([{ id: 1, v: 'as sent' }]);

    await admin('ALTER TABLE public.stamped ENABLE ALWAYS TRIGGER stamp');
    tx = await d.begin();
    const err = await tx.upsert(t, [{ id: 2, v: 'as sent' }]).then(() => null, (e: unknown) => e as StandbyError);
    await tx.rollback();
    expect(err).toBeInstanceOf(StandbyError);
    expect(err!.message).toContain('table public.stamped has BEFORE ROW trigger(s) enabled ALWAYS or REPLICA ("stamp")');
    expect(err!.message).toContain('ALTER TABLE "public"."stamped" ENABLE TRIGGER "stamp"');
    expect(await d.scan(t, null, 10)).toEqual([{ id: 1, v: 'as sent' }]);

    await admin('ALTER TABLE public.stamped ENABLE TRIGGER stamp');
    tx = await d.begin();
    await tx.upsert(t, [{ id: 2, v: 'as sent' }]);
    await tx.commit();
    expect(await d.scan(t, null, 10)).toEqual([{ id: 1, v: 'as sent' }, { id: 2, v: 'as sent' }]);
  });
});

describe('mariadb: pre-created tables', () => {
  let db: ThrowawayDb;
  let d: StandbyDialect;
  const col = (name: string, type: ColumnType, nullable = true): ColumnMeta => ({ name, type, nullable, sourceType: type.kind });
  const admin = async (sql: string) => {
    const c = await mysql.createConnection(db.url);
    try {
      return (await c.query(sql))[0] as Record<string, unknown>[];
    } finally {
      await c.end();
    }
  };

  beforeAll(async () => {
    db = await createMariaDatabase('ctr_sbmp');
    d = createDialect('mariadb', db.url);
    await d.connect();
  });
  afterAll(async () => {
    await d?.close();
    await db?.drop();
  });

  it('a string key column that compares case-insensitively or ignores trailing spaces is refused naming it', async () => {
    await admin('CREATE TABLE ci (code VARCHAR(20) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci NOT NULL PRIMARY KEY, v INT NULL)');
    const t: TableMeta = { schema: db.name, table: 'ci', key: ['code'], columns: [col('code', { kind: 'string', maxLength: 20 }, false), col('v', { kind: 'int32' })] };
    const err = await d.ensureTable(t).then(() => null, (e: unknown) => e as StandbyError);
    expect(err).toBeInstanceOf(StandbyError);
    expect(err!.message).toContain(`MariaDB standby table ${db.name}.ci: key column(s) code (collation utf8mb4_general_ci)`);
    expect(err!.message).toContain('COLLATE utf8mb4_nopad_bin');
    // the way out it names works
    await admin('ALTER TABLE ci MODIFY COLUMN code VARCHAR(20) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin NOT NULL');
    await d.ensureTable(t);
    const tx = await d.begin();
    await tx.upsert(t, [{ code: 'a', v: 1 }, { code: 'A', v: 2 }, { code: 'a ', v: 3 }]);
    await tx.commit();
    expect(await d.scan(t, null, 10)).toHaveLength(3);
  });

  it('widening a column keeps its default, ON UPDATE and AUTO_INCREMENT', async () => {
    await admin(`CREATE TABLE w (id SMALLINT NOT NULL AUTO_INCREMENT PRIMARY KEY, n SMALLINT NOT NULL DEFAULT 7, note VARCHAR(10) NOT NULL DEFAULT 'x',
                   at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3))`);
    const t = (wide: boolean): TableMeta => ({
      schema: db.name,
      table: 'w',
      key: ['id'],
      columns: [
        col('id', { kind: wide ? 'int32' : 'int16' }, false),
        col('n', { kind: wide ? 'int32' : 'int16' }, false),
        col('at', { kind: 'timestamp', precision: wide ? 6 : 3 }, false),
      ],
    });
    await d.ensureTable(t(false)); // nothing to change
    await d.ensureTable(t(true));
    const cols = await admin(`SELECT column_name AS c, column_type AS t, column_default AS d, extra AS x, is_nullable AS nl FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = 'w' ORDER BY ordinal_position`);
    expect(cols).toEqual([
      { c: 'id', t: 'int(11)', d: null, x: 'auto_increment', nl: 'NO' },
      { c: 'n', t: 'int(11)', d: '7', x: '', nl: 'NO' },
      // a standby-only NOT NULL column with a default keeps its NOT NULL
      { c: 'note', t: 'varchar(10)', d: "'x'", x: '', nl: 'NO' },
      // at its new precision: MariaDB refuses current_timestamp(3) on a DATETIME(6)
      { c: 'at', t: 'datetime(6)', d: 'current_timestamp(6)', x: 'on update current_timestamp(6)', nl: 'NO' },
    ]);
  });
});
