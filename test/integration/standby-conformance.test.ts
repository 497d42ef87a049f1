// The standby-dialect conformance suite (test/conformance/standby-dialect.conformance.ts) against
// the local PostgreSQL and MariaDB, plus what only MariaDB limits.
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StandbyError } from '../../src/core/errors.ts';
import type { ColumnMeta, ColumnType, TableMeta } from '../../src/core/model.ts';
import { createDialect } from '../../src/standby/create-dialect.ts';
import type { StandbyDialect } from '../../src/standby/dialect.ts';
import { standbyDialectConformance } from '../conformance/standby-dialect.conformance.ts';
import { createMariaDatabase, MYSQL_ADMIN_URL, type ThrowawayDb } from '../support/db.ts';
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
