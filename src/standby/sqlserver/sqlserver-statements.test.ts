import { describe, expect, it } from 'vitest';
import { StandbyError } from '../../core/errors.ts';
import type { ColumnType, TableMeta } from '../../core/model.ts';
import { lines, orders } from '../../sources/sqlserver/fixtures.test-util.ts';
import {
  addColumnsSql,
  createStateTableSql,
  createTableSql,
  createTempSql,
  deleteFromTempSql,
  ENSURE_SCHEMA_SQL,
  insertTempStatement,
  readStateSql,
  ROWS_TEMP,
  KEYS_TEMP,
  rowsPerStatement,
  scanStatement,
  upsertFromTempSql,
  writeStateSql,
} from './sqlserver-statements.ts';
import { ddlType } from './sqlserver-types.ts';

describe('ddlType', () => {
  it.each<[ColumnType, boolean, string]>([
    [{ kind: 'boolean' }, false, 'bit'],
    [{ kind: 'int16' }, false, 'smallint'],
    [{ kind: 'int32' }, false, 'int'],
    [{ kind: 'int64' }, false, 'bigint'],
    [{ kind: 'float32' }, false, 'real'],
    [{ kind: 'float64' }, false, 'float'],
    [{ kind: 'decimal', precision: 38, scale: 38 }, false, 'decimal(38,38)'],
    [{ kind: 'decimal', precision: 10, scale: 2 }, false, 'decimal(10,2)'],
    [{ kind: 'string', maxLength: 50 }, false, 'nvarchar(50)'],
    [{ kind: 'string', maxLength: 3, fixedLength: true }, false, 'nchar(3)'],
    [{ kind: 'string', maxLength: 4000 }, false, 'nvarchar(4000)'],
    [{ kind: 'string', maxLength: 8000 }, false, 'nvarchar(max)'],
    [{ kind: 'string' }, false, 'nvarchar(max)'],
    [{ kind: 'string' }, true, 'nvarchar(450)'],
    [{ kind: 'bytes', maxLength: 16, fixedLength: true }, false, 'binary(16)'],
    [{ kind: 'bytes', maxLength: 8000 }, false, 'varbinary(8000)'],
    [{ kind: 'bytes' }, false, 'varbinary(max)'],
    [{ kind: 'bytes' }, true, 'varbinary(900)'],
    [{ kind: 'uuid' }, false, 'uniqueidentifier'],
    [{ kind: 'json' }, false, 'nvarchar(max)'],
    [{ kind: 'xml' }, false, 'nvarchar(max)'],
    [{ kind: 'date' }, false, 'date'],
    [{ kind: 'time', precision: 7 }, false, 'time(7)'],
    [{ kind: 'timestamp', precision: 7 }, false, 'datetime2(7)'],
    [{ kind: 'timestamp', precision: 0 }, false, 'datetime2(0)'],
    [{ kind: 'timestamptz', precision: 6 }, false, 'datetimeoffset(6)'],
    [{ kind: 'datetimeoffset', precision: 7 }, false, 'datetimeoffset(7)'],
  ])('%j key=%s -> %s', (t, key, expected) => {
    expect(ddlType(t, key, 'x')).toBe(expected);
  });
  it('rejects decimals SQL Server cannot hold, naming the column', () => {
    expect(() => ddlType({ kind: 'decimal', precision: 0, scale: 0 }, false, 'public.t column n')).toThrow(StandbyError);
    expect(() => ddlType({ kind: 'decimal', precision: 50, scale: 2 }, false, 'public.t column n')).toThrow(/public\.t column n: decimal\(50,2\)/);
  });
});

describe('DDL statements (golden)', () => {
  it('schema', () => {
    expect(ENSURE_SCHEMA_SQL).toBe(`IF SCHEMA_ID(@schema) IS NULL
BEGIN
  DECLARE @ddl nvarchar(max) = N'CREATE SCHEMA ' + QUOTENAME(@schema);
  EXEC sys.sp_executesql @ddl;
END;`);
  });
  it('create table, single key', () => {
    expect(createTableSql(orders)).toBe(`IF OBJECT_ID(@qualifiedName, N'U') IS NULL
  CREATE TABLE [dbo].[orders] (
    [id] int NOT NULL,
    [amount] decimal(10,2) NULL,
    [note] nvarchar(100) NULL,
    PRIMARY KEY ([id])
  );`);
  });
  it('create table, composite key with hostile names', () => {
    expect(createTableSql(lines)).toBe(`IF OBJECT_ID(@qualifiedName, N'U') IS NULL
  CREATE TABLE [sales data].[order]]lines] (
    [line no] smallint NOT NULL,
    [tenant] uniqueidentifier NOT NULL,
    [day] date NOT NULL,
    [at] datetimeoffset(7) NULL,
    [price] decimal(19,4) NULL,
    PRIMARY KEY ([tenant], [day], [line no])
  );`);
  });
  it('added columns are nullable', () => {
    expect(addColumnsSql(lines, ['at', 'price'])).toBe('ALTER TABLE [sales data].[order]]lines] ADD [at] datetimeoffset(7) NULL, [price] decimal(19,4) NULL;');
  });
  it('state table', () => {
    expect(createStateTableSql('ctrelay')).toBe(`IF OBJECT_ID(@qualifiedName, N'U') IS NULL
  CREATE TABLE [ctrelay].[ctrelay_state] (
    source_id nvarchar(200) NOT NULL PRIMARY KEY,
    batch_seq bigint NOT NULL,
    version bigint NOT NULL,
    batch_offset bigint NOT NULL,
    applied_at datetime2(3) NOT NULL
  );`);
    expect(readStateSql('ctrelay')).toBe('SELECT batch_seq, version, batch_offset, applied_at FROM [ctrelay].[ctrelay_state] WHERE source_id = @sourceId;');
    expect(writeStateSql('ops]x')).toBe(`DECLARE @written int;
UPDATE [ops]]x].[ctrelay_state] SET batch_seq = @batchSeq, version = @version, batch_offset = @batchOffset, applied_at = SYSUTCDATETIME() WHERE source_id = @sourceId AND batch_seq < @batchSeq;
SET @written = @@ROWCOUNT;
IF @written = 0 AND NOT EXISTS (SELECT 1 FROM [ops]]x].[ctrelay_state] WITH (UPDLOCK, HOLDLOCK) WHERE source_id = @sourceId)
BEGIN
  INSERT INTO [ops]]x].[ctrelay_state] (source_id, batch_seq, version, batch_offset, applied_at) VALUES (@sourceId, @batchSeq, @version, @batchOffset, SYSUTCDATETIME());
  SET @written = @@ROWCOUNT;
END
SELECT @written AS rows_written;`);
  });
});

describe('staging and apply (golden)', () => {
  it('temp table collates character columns to the database default', () => {
    expect(createTempSql(ROWS_TEMP, orders, ['id', 'amount', 'note'])).toBe(`DROP TABLE IF EXISTS #ctrelay_rows;
CREATE TABLE #ctrelay_rows (
  [id] int NULL,
  [amount] decimal(10,2) NULL,
  [note] nvarchar(100) COLLATE DATABASE_DEFAULT NULL
);`);
  });
  it('multi-row insert with every value a typed parameter', () => {
    const st = insertTempStatement(ROWS_TEMP, orders, ['id', 'amount', 'note'], [
      { id: 1, amount: '-0.50', note: "x'); DROP TABLE t; --" },
      { id: 2, amount: null, note: '' },
    ]);
    expect(st.sql).toBe(`INSERT INTO #ctrelay_rows ([id], [amount], [note]) VALUES
(CAST(@r0c0 AS int), CAST(@r0c1 AS decimal(10,2)), CAST(@r0c2 AS nvarchar(100))),
(CAST(@r1c0 AS int), CAST(@r1c1 AS decimal(10,2)), CAST(@r1c2 AS nvarchar(100)));`);
    expect(st.params).toEqual({
      r0c0: { sqlType: 'int', value: 1 },
      r0c1: { sqlType: 'nvarchar', value: '-0.50' },
      r0c2: { sqlType: 'nvarchar', value: "x'); DROP TABLE t; --" },
      r1c0: { sqlType: 'int', value: 2 },
      r1c1: { sqlType: 'nvarchar', value: null },
      r1c2: { sqlType: 'nvarchar', value: '' },
    });
  });
  it('chunks stay under 2100 parameters and 1000 rows', () => {
    expect(rowsPerStatement(1)).toBe(1000);
    expect(rowsPerStatement(3)).toBe(666);
    expect(rowsPerStatement(1024)).toBe(1);
    expect(rowsPerStatement(3) * 3).toBeLessThan(2100);
  });
  it('update + insert upsert', () => {
    expect(upsertFromTempSql(orders, null)).toBe(`UPDATE t SET t.[amount] = s.[amount], t.[note] = s.[note]
FROM [dbo].[orders] AS t
INNER JOIN #ctrelay_rows AS s ON t.[id] = s.[id];
INSERT INTO [dbo].[orders] ([id], [amount], [note])
SELECT s.[id], s.[amount], s.[note]
FROM #ctrelay_rows AS s
WHERE NOT EXISTS (SELECT 1 FROM [dbo].[orders] AS t WHERE t.[id] = s.[id]);
DROP TABLE #ctrelay_rows;`);
  });
  it('IDENTITY tables insert with IDENTITY_INSERT and never update the identity column', () => {
    const t: TableMeta = { ...orders, key: ['amount'] };
    expect(upsertFromTempSql(t, 'id')).toBe(`UPDATE t SET t.[note] = s.[note]
FROM [dbo].[orders] AS t
INNER JOIN #ctrelay_rows AS s ON t.[amount] = s.[amount];
SET IDENTITY_INSERT [dbo].[orders] ON;
INSERT INTO [dbo].[orders] ([id], [amount], [note])
SELECT s.[id], s.[amount], s.[note]
FROM #ctrelay_rows AS s
WHERE NOT EXISTS (SELECT 1 FROM [dbo].[orders] AS t WHERE t.[amount] = s.[amount]);
SET IDENTITY_INSERT [dbo].[orders] OFF;
DROP TABLE #ctrelay_rows;`);
  });
  it('key-only tables skip the UPDATE', () => {
    const t: TableMeta = { schema: 'dbo', table: 'tags', key: ['k'], columns: [{ name: 'k', type: { kind: 'int32' }, nullable: false, sourceType: 'int' }] };
    expect(upsertFromTempSql(t, null)).not.toContain('UPDATE');
  });
  it('delete through a key temp table, composite key', () => {
    expect(deleteFromTempSql(lines)).toBe(`DELETE t
FROM [sales data].[order]]lines] AS t
INNER JOIN #ctrelay_keys AS s ON t.[tenant] = s.[tenant] AND t.[day] = s.[day] AND t.[line no] = s.[line no];
DROP TABLE #ctrelay_keys;`);
    expect(createTempSql(KEYS_TEMP, lines, lines.key)).toBe(`DROP TABLE IF EXISTS #ctrelay_keys;
CREATE TABLE #ctrelay_keys (
  [tenant] uniqueidentifier NULL,
  [day] date NULL,
  [line no] smallint NULL
);`);
  });
  it('scan reads standby types losslessly in key order', () => {
    const st = scanStatement(lines, { tenant: '6f9619ff-8b86-d011-b42d-00c04fc964ff', day: '2024-02-29', 'line no': 1 }, 10);
    expect(st.sql).toBe(`SELECT TOP (@limit) t.[line no] AS [c0],
  t.[tenant] AS [c1],
  CONVERT(varchar(10), t.[day], 23) AS [c2],
  CONVERT(varchar(40), t.[at], 121) AS [c3],
  CONVERT(varchar(50), t.[price]) AS [c4]
FROM [sales data].[order]]lines] AS t
WHERE (t.[tenant] > CAST(@after_k0 AS uniqueidentifier) OR (t.[tenant] = CAST(@after_k0 AS uniqueidentifier) AND (t.[day] > CAST(@after_k1 AS date) OR (t.[day] = CAST(@after_k1 AS date) AND t.[line no] > CAST(@after_k2 AS smallint)))))
ORDER BY t.[tenant], t.[day], t.[line no];`);
  });
  it('scan of an unbounded string key casts to the key width', () => {
    const t: TableMeta = { schema: 'p', table: 't', key: ['k'], columns: [{ name: 'k', type: { kind: 'string' }, nullable: false, sourceType: 'text' }] };
    expect(scanStatement(t, { k: 'a' }, 1).sql).toContain('t.[k] > CAST(@after_k0 AS nvarchar(450))');
  });
});
