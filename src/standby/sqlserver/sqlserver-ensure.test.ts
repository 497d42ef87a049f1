// ensureTable of the SQL Server standby against a FAKE catalog (no SQL Server runs here): the
// statements it sends for an absent table, an equal one, a widening, a refusal; and the type
// spelling of sys.columns rows. The real server runs the conformance suite where one is reachable.
import { describe, expect, it } from 'vitest';
import type { Statement } from '../../drivers/sqlserver/params.ts';
import type { ColumnType, TableMeta } from '../../core/model.ts';
import { ColumnChangeRefusedError } from '../column-change.ts';
import { checkRowsFit } from '../value-fit.ts';
import { SqlServerDialect } from './sqlserver-dialect.ts';
import { storedShape } from './sqlserver-transaction.ts';
import * as T from './sqlserver-statements.ts';
import { nativeTypeOf, parseSqlServerType } from './sqlserver-types.ts';

const col = (name: string, type: ColumnType, nullable = true) => ({ name, type, nullable, sourceType: type.kind });
const table: TableMeta = {
  schema: 'dbo',
  table: 'items',
  key: ['id'],
  columns: [col('id', { kind: 'int32' }, false), col('qty', { kind: 'int32' }), col('price', { kind: 'decimal', precision: 16, scale: 6 }, false), col('code', { kind: 'string', maxLength: 5, fixedLength: true }), col('r', { kind: 'float32' })],
};

/** a sys.columns row as existingColumnsStatement returns it */
const row = (name: string, type_name: string, max_length: number, precision = 0, scale = 0, nullable = true, inKey = false) => ({
  name, type_name, max_length, precision, scale, is_nullable: nullable, in_key: inKey, is_identity: false,
});

/** A fake server: answers the catalog query with `catalog` (then `after`), records every other statement. */
function fake(catalog: Record<string, unknown>[], after = catalog) {
  const sent: Statement[] = [];
  let reads = 0;
  const send = async (st: Statement): Promise<Record<string, unknown>[]> => {
    if (st.sql.includes('FROM sys.columns')) return reads++ === 0 ? catalog : after;
    sent.push(st);
    return [];
  };
  return { sent, send };
}

const dialect = () => new SqlServerDialect({ url: 'mssql://sa:pw@127.0.0.1:1433/db?encrypt=false' });

describe('SQL Server ensureTable (fake catalog)', () => {
  it('creates an absent table with nchar(n) and real, in its schema', async () => {
    const f = fake([], [row('id', 'int', 4, 10, 0, false, true)]);
    await dialect().ensureOn(table, (st) => f.send(st));
    expect(f.sent).toHaveLength(3);
    expect(f.sent[0].sql).toContain('CREATE SCHEMA');
    expect(f.sent[1].sql).toContain('[code] nchar(5) NULL');
    expect(f.sent[1].sql).toContain('[r] real NULL');
    // a protected standby protects the new table too (standby/sqlserver/sqlserver-promotion.ts)
    expect(f.sent[2].sql).toContain('ADD BLOCK PREDICATE');
    expect(f.sent[2].params.qualifiedName).toEqual({ sqlType: 'nvarchar', value: '[dbo].[items]' });
  });

  it('sends nothing when the table already holds the definition', async () => {
    const f = fake([row('id', 'int', 4, 10, 0, false, true), row('qty', 'int', 4, 10), row('price', 'decimal', 9, 16, 6, false), row('code', 'nchar', 10), row('r', 'real', 4, 24)]);
    await dialect().ensureOn(table, (st) => f.send(st));
    expect(f.sent).toEqual([]);
  });

  it('widens one column per ALTER, restating nullability; adds what is missing', async () => {
    const f = fake([row('id', 'int', 4, 10, 0, false, true), row('qty', 'smallint', 2, 5), row('price', 'decimal', 9, 12, 2, false), row('r', 'real', 4, 24)]);
    await dialect().ensureOn(table, (st) => f.send(st));
    expect(f.sent.map((s) => s.sql)).toEqual([
      'ALTER TABLE [dbo].[items] ADD [code] nchar(5) NULL;',
      'ALTER TABLE [dbo].[items] ALTER COLUMN [qty] int NULL;',
      'ALTER TABLE [dbo].[items] ALTER COLUMN [price] decimal(16,6) NOT NULL;',
    ]);
    // DDL runs as plain batches, no parameters
    for (const s of f.sent) expect(s.params).toEqual({});
  });

  it('refuses a narrowing before sending anything', async () => {
    const f = fake([row('id', 'int', 4, 10, 0, false, true), row('qty', 'bigint', 8, 19), row('price', 'decimal', 9, 16, 6, false), row('code', 'nchar', 10), row('r', 'real', 4, 24)]);
    const err = await dialect().ensureOn(table, (st) => f.send(st)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ColumnChangeRefusedError);
    expect((err as Error).message).toMatch(/SQL Server standby table dbo\.items: column qty: the standby column is bigint, .*needs int here/);
    expect(f.sent).toEqual([]);
  });

  it("spells sys.columns rows as SQL Server's DDL does", () => {
    expect(nativeTypeOf(row('a', 'nvarchar', -1))).toBe('nvarchar(max)');
    expect(nativeTypeOf(row('a', 'nvarchar', 40))).toBe('nvarchar(20)');
    expect(nativeTypeOf(row('a', 'nchar', 10))).toBe('nchar(5)');
    expect(nativeTypeOf(row('a', 'varbinary', 16))).toBe('varbinary(16)');
    expect(nativeTypeOf(row('a', 'decimal', 9, 12, 2))).toBe('decimal(12,2)');
    expect(nativeTypeOf(row('a', 'datetime2', 8, 27, 7))).toBe('datetime2(7)');
    expect(nativeTypeOf(row('a', 'float', 8, 53))).toBe('float');
    expect(nativeTypeOf(row('a', 'real', 4, 24))).toBe('real');
    expect(parseSqlServerType('nvarchar(max)')).toMatchObject({ family: 'nvarchar', size: Infinity });
    expect(parseSqlServerType('float(24)')).toMatchObject({ family: 'float', size: 4 });
    expect(parseSqlServerType('datetime2(3)')).toMatchObject({ family: 'datetime2', size: 3 });
  });

  it('describes columns through one parameterised catalog query that also says which are key columns', () => {
    const st = T.existingColumnsStatement(table);
    expect(st.params).toEqual({ qualifiedName: { sqlType: 'nvarchar', value: '[dbo].[items]' } });
    expect(st.sql).toContain('is_primary_key = 1');
    expect(T.standbyColumnsOf([row('id', 'int', 4, 10, 0, false, true)])).toEqual([
      { name: 'id', nativeType: 'int', nullable: false, inKey: true, generated: false, identity: null, hasDefault: false },
    ]);
    expect(T.standbyColumnsOf([{ ...row('id', 'int', 4, 10, 0, false, true), is_identity: true }, { ...row('total', 'decimal', 9, 20, 2), is_computed: 1 }, { ...row('site', 'nvarchar', 40, 0, 0, false), has_default: 1 }])).toEqual([
      { name: 'id', nativeType: 'int', nullable: false, inKey: true, generated: false, identity: 'always', hasDefault: true },
      { name: 'total', nativeType: 'decimal(20,2)', nullable: true, inKey: false, generated: true, identity: null, hasDefault: true },
      { name: 'site', nativeType: 'nvarchar(20)', nullable: false, inKey: false, generated: false, identity: null, hasDefault: true },
    ]);
  });

  it("checks values against the standby's own lengths: an unbounded key is nvarchar(450) here, and a longer one is refused naming both lengths and why", () => {
    const t: TableMeta = { schema: 'dbo', table: 'k', key: ['k'], columns: [col('k', { kind: 'string' }, false), col('b', { kind: 'bytes' }), col('note', { kind: 'string' })] };
    const shape = storedShape(t);
    expect(shape.columns.map((c) => c.type)).toEqual([{ kind: 'string', maxLength: 450 }, { kind: 'bytes' }, { kind: 'string' }]);
    expect(() => checkRowsFit(shape, [{ k: 'x'.repeat(450), b: null, note: 'y'.repeat(10_000) }], 'SQL Server', 'utf16')).not.toThrow();
    expect(() => checkRowsFit(shape, [{ k: 'x'.repeat(451), b: null, note: null }], 'SQL Server', 'utf16')).toThrow(/column k \(nvarchar\(450\), the longest key SQL Server indexes \(900 bytes\); the source's key column is longer\) of table dbo\.k at key \(k='x+\.\.\.'\): a string of 451 UTF-16 code units does not fit the column's length 450/);
    // a character outside the BMP is two UTF-16 code units in an nvarchar
    expect(() => checkRowsFit(shape, [{ k: '😀'.repeat(226), b: null, note: null }], 'SQL Server', 'utf16')).toThrow(/452 UTF-16/);
  });
});
