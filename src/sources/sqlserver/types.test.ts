import { describe, expect, it } from 'vitest';
import { mapCatalogType, type CatalogColumn } from './types.ts';

function col(typeName: string, over: Partial<CatalogColumn> = {}): CatalogColumn {
  return {
    columnId: 1,
    name: 'c',
    typeName,
    baseTypeName: typeName,
    isUserDefined: false,
    isAssemblyType: false,
    maxLength: 4,
    precision: 0,
    scale: 0,
    nullable: true,
    computed: false,
    identity: false,
    keyOrdinal: null,
    ...over,
  };
}

describe('mapCatalogType', () => {
  it.each([
    ['bit', {}, { kind: 'boolean' }, 'bit'],
    ['tinyint', {}, { kind: 'int16' }, 'tinyint'],
    ['smallint', {}, { kind: 'int16' }, 'smallint'],
    ['int', {}, { kind: 'int32' }, 'int'],
    ['bigint', {}, { kind: 'int64' }, 'bigint'],
    ['real', {}, { kind: 'float32' }, 'real'],
    ['float', {}, { kind: 'float64' }, 'float'],
    ['decimal', { precision: 38, scale: 10 }, { kind: 'decimal', precision: 38, scale: 10 }, 'decimal(38,10)'],
    ['numeric', { precision: 5, scale: 0 }, { kind: 'decimal', precision: 5, scale: 0 }, 'numeric(5,0)'],
    ['money', {}, { kind: 'decimal', precision: 19, scale: 4 }, 'money'],
    ['smallmoney', {}, { kind: 'decimal', precision: 10, scale: 4 }, 'smallmoney'],
    ['char', { maxLength: 10 }, { kind: 'string', maxLength: 10, fixedLength: true }, 'char(10)'],
    ['varchar', { maxLength: 50 }, { kind: 'string', maxLength: 50 }, 'varchar(50)'],
    ['varchar', { maxLength: -1 }, { kind: 'string' }, 'varchar(max)'],
    ['nchar', { maxLength: 20 }, { kind: 'string', maxLength: 10, fixedLength: true }, 'nchar(10)'],
    ['nvarchar', { maxLength: 200 }, { kind: 'string', maxLength: 100 }, 'nvarchar(100)'],
    ['nvarchar', { maxLength: -1 }, { kind: 'string' }, 'nvarchar(max)'],
    ['text', { maxLength: 16 }, { kind: 'string' }, 'text'],
    ['ntext', { maxLength: 16 }, { kind: 'string' }, 'ntext'],
    ['binary', { maxLength: 16 }, { kind: 'bytes', maxLength: 16, fixedLength: true }, 'binary(16)'],
    ['varbinary', { maxLength: 100 }, { kind: 'bytes', maxLength: 100 }, 'varbinary(100)'],
    ['varbinary', { maxLength: -1 }, { kind: 'bytes' }, 'varbinary(max)'],
    ['image', { maxLength: 16 }, { kind: 'bytes' }, 'image'],
    ['timestamp', { maxLength: 8 }, { kind: 'bytes', maxLength: 8, fixedLength: true }, 'rowversion'],
    ['uniqueidentifier', {}, { kind: 'uuid' }, 'uniqueidentifier'],
    ['date', {}, { kind: 'date' }, 'date'],
    ['time', { scale: 7 }, { kind: 'time', precision: 7 }, 'time(7)'],
    ['time', { scale: 0 }, { kind: 'time', precision: 0 }, 'time(0)'],
    ['datetime2', { scale: 7 }, { kind: 'timestamp', precision: 7 }, 'datetime2(7)'],
    ['datetime2', { scale: 3 }, { kind: 'timestamp', precision: 3 }, 'datetime2(3)'],
    ['datetimeoffset', { scale: 7 }, { kind: 'datetimeoffset', precision: 7 }, 'datetimeoffset(7)'],
    ['datetime', { scale: 3 }, { kind: 'timestamp', precision: 3 }, 'datetime'],
    ['smalldatetime', {}, { kind: 'timestamp', precision: 0 }, 'smalldatetime'],
    ['xml', { maxLength: -1 }, { kind: 'xml' }, 'xml'],
    ['json', { maxLength: -1 }, { kind: 'json' }, 'json'],
    ['hierarchyid', { isAssemblyType: true, maxLength: 892 }, { kind: 'string', maxLength: 4000 }, 'hierarchyid'],
  ])('%s %j', (typeName, over, type, sourceType) => {
    expect(mapCatalogType(col(typeName, over))).toEqual({ ok: true, type, sourceType });
  });

  it('maps an alias type as its base type', () => {
    const m = mapCatalogType(col('Phone', { baseTypeName: 'varchar', isUserDefined: true, maxLength: 20 }));
    expect(m).toEqual({ ok: true, type: { kind: 'string', maxLength: 20 }, sourceType: 'varchar(20)' });
    expect(mapCatalogType(col('sysname', { baseTypeName: 'nvarchar', maxLength: 256 }))).toEqual({ ok: true, type: { kind: 'string', maxLength: 128 }, sourceType: 'nvarchar(128)' });
  });

  it.each([
    ['sql_variant', {}],
    ['geography', { isAssemblyType: true }],
    ['geometry', { isAssemblyType: true }],
    ['MyClrType', { isAssemblyType: true, isUserDefined: true }],
  ])('rejects %s', (typeName, over) => {
    const m = mapCatalogType(col(typeName, over));
    expect(m.ok).toBe(false);
    if (!m.ok) expect(m.sourceType).toBe(typeName);
  });
});
