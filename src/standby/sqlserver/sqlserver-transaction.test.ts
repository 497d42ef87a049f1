// The SQL Server apply transaction on pre-created tables against a FAKE server (no SQL Server runs
// here): what it sends for a table with an IDENTITY and a computed column, that IDENTITY_INSERT is
// never left on for the pooled connection when the upsert batch fails, and that enabled triggers
// and foreign keys are refused by name. The real server runs the conformance suite where reachable.
import { describe, expect, it } from 'vitest';
import type { ColumnType, TableMeta } from '../../core/model.ts';
import type { Statement } from '../../drivers/sqlserver/params.ts';
import { fakeTransaction } from './fake-server.test-util.ts';

const col = (name: string, type: ColumnType, nullable = true) => ({ name, type, nullable, sourceType: type.kind });
const items: TableMeta = {
  schema: 'standby',
  table: 'items',
  key: ['id'],
  columns: [col('id', { kind: 'int64' }, false), col('qty', { kind: 'int32' }, false), col('price', { kind: 'decimal', precision: 10, scale: 2 }, false), col('total', { kind: 'decimal', precision: 20, scale: 2 })],
};
/** sys.columns rows of the pre-created table: id IDENTITY, total computed, site standby-only with a default */
const catalog = [
  { name: 'total', type_name: 'decimal', max_length: 13, precision: 20, scale: 2, is_nullable: true, in_key: false, is_identity: false, is_computed: true, has_default: false },
  { name: 'site', type_name: 'nvarchar', max_length: 40, precision: 0, scale: 0, is_nullable: false, in_key: false, is_identity: false, is_computed: false, has_default: true },
  { name: 'price', type_name: 'decimal', max_length: 9, precision: 10, scale: 2, is_nullable: false, in_key: false, is_identity: false, is_computed: false, has_default: false },
  { name: 'id', type_name: 'bigint', max_length: 8, precision: 19, scale: 0, is_nullable: false, in_key: true, is_identity: true, is_computed: false, has_default: false },
  { name: 'qty', type_name: 'int', max_length: 4, precision: 10, scale: 0, is_nullable: false, in_key: false, is_identity: false, is_computed: false, has_default: false },
];

const catalogAnswer = (blockers: Record<string, unknown>[] = []) => (st: Statement): Record<string, unknown>[] => {
  if (st.sql.includes('FROM sys.columns')) return catalog;
  if (st.sql.includes('FROM sys.triggers')) return blockers;
  return [];
};
const row = { id: 5n, qty: 2, price: '1.50', total: '3.00' };

describe('SQL Server apply transaction on a pre-created table (fake server)', () => {
  it('inserts the identity under IDENTITY_INSERT, never writes the computed column, and compares it after the write', async () => {
    const base = catalogAnswer();
    const { tx, fake, sent } = fakeTransaction((st) => (st.sql.startsWith('SELECT') && st.sql.includes('AS [c1]') ? [{ c0: '5', c1: '3.00' }] : base(st)));
    await tx.upsert(items, [row]);
    await tx.commit();
    const upsert = sent.find((s) => s.sql.includes('INSERT INTO [standby].[items]'))!.sql;
    expect(upsert).toContain('UPDATE t SET t.[qty] = s.[qty], t.[price] = s.[price]\n');
    expect(upsert).toContain('SET IDENTITY_INSERT [standby].[items] ON;');
    expect(upsert).toContain('INSERT INTO [standby].[items] ([id], [qty], [price])');
    expect(upsert).toContain('SET IDENTITY_INSERT [standby].[items] OFF;');
    expect(upsert).not.toContain('[total]');
    expect(upsert).not.toContain('[site]');
    const readBack = sent[sent.length - 1].sql;
    expect(readBack).toMatch(/^SELECT .*t\.\[id\].* AS \[c0\], .*t\.\[total\].* AS \[c1\]\nFROM \[standby\]\.\[items\] AS t\nINNER JOIN #ctrelay_rows AS s ON t\.\[id\] = s\.\[id\];\nDROP TABLE #ctrelay_rows;$/);
    expect(fake.ended).toEqual(['COMMIT']);
    expect(fake.closed).toBe(0);
  });

  it('a computed value that differs from the source is refused and the transaction rolls back', async () => {
    const base = catalogAnswer();
    const { tx, fake } = fakeTransaction((st) => (st.sql.startsWith('SELECT') && st.sql.includes('AS [c1]') ? [{ c0: '5', c1: '3.01' }] : base(st)));
    await expect(tx.upsert(items, [row])).rejects.toThrow(/SQL Server standby table standby\.items at key \(id=5\): column total is computed by the standby as '3\.01' but the source has '3\.00'/);
    await expect(tx.commit()).rejects.toThrow(/rolled back/);
    expect(fake.ended).toEqual(['ROLLBACK']);
  });

  it('an upsert batch that fails with IDENTITY_INSERT on: turned off before the ROLLBACK, the connection stays pooled', async () => {
    const base = catalogAnswer();
    const { tx, fake, sent } = fakeTransaction((st) => {
      if (st.sql.includes('IDENTITY_INSERT [standby].[items] ON')) throw new Error('Violation of CHECK constraint');
      return base(st);
    });
    await expect(tx.upsert(items, [row])).rejects.toThrow(/Violation of CHECK constraint/);
    await tx.rollback();
    expect(sent[sent.length - 1].sql).toBe('SET IDENTITY_INSERT [standby].[items] OFF;');
    expect(fake.ended).toEqual(['ROLLBACK']);
    expect(fake.closed).toBe(0);
  });

  it('when IDENTITY_INSERT cannot be turned off, or the server aborted the transaction, the connection is closed, never pooled', async () => {
    const base = catalogAnswer();
    const failing = fakeTransaction((st) => {
      if (st.sql.includes('IDENTITY_INSERT')) throw new Error('connection reset');
      return base(st);
    });
    await expect(failing.tx.upsert(items, [row])).rejects.toThrow();
    await failing.tx.rollback();
    expect(failing.fake.ended).toEqual(['ROLLBACK']);
    expect(failing.fake.closed).toBe(1);

    const aborted = fakeTransaction((st) => {
      if (st.sql.includes('IDENTITY_INSERT [standby].[items] ON')) {
        aborted.fake.emit('rollback', true); // a deadlock victim: mssql ended the transaction itself
        throw Object.assign(new Error('deadlock victim'), { number: 1205 });
      }
      return base(st);
    });
    await expect(aborted.tx.upsert(items, [row])).rejects.toThrow(/deadlock/);
    const before = aborted.sent.length;
    await aborted.tx.rollback();
    expect(aborted.sent.length).toBe(before); // nothing more sent on a connection mssql already took back
    expect(aborted.fake.ended).toEqual([]);
    expect(aborted.fake.closed).toBe(1);
  });

  it('refuses a table with an enabled trigger or foreign key, naming them and how to disable them, before writing anything', async () => {
    const blockers = [
      { kind: 'foreign key', name: 'child_items', on_table: '[standby].[child]' },
      { kind: 'trigger', name: 'items_audit', on_table: '[standby].[items]' },
    ];
    const { tx, sent } = fakeTransaction(catalogAnswer(blockers));
    const err = await tx.delete(items, [{ id: 5n }]).then(() => null, (e: unknown) => e as Error);
    expect(err!.message).toContain('table standby.items has foreign key [child_items] on [standby].[child], trigger [items_audit] on [standby].[items] enabled');
    expect(err!.message).toContain('ALTER TABLE [standby].[child] NOCHECK CONSTRAINT [child_items]; DISABLE TRIGGER [items_audit] ON [standby].[items]');
    expect(sent.some((s) => s.sql.includes('DELETE'))).toBe(false);
    await tx.rollback();
  });
});
