import { describe, expect, it } from 'vitest';
import { SourceError } from '../../core/errors.ts';
import { buildTableMeta, checkTablePrerequisites, readCatalogColumn, readTablePrerequisites, trackingInfoFor } from './catalog.ts';
import { COLUMNS_SQL, DATABASE_PREREQUISITES_SQL, TABLE_PREREQUISITES_SQL } from './sql.ts';

const ref = { schema: 'dbo', table: 'places' };
const server = 'db1:1433/shop';
const ok = { objectId: 42, changeTrackingOn: true, trackColumnsUpdated: true, canSelect: true, canViewChangeTracking: true };

function rec(column_id: number, name: string, type_name: string, extra: Record<string, unknown> = {}) {
  return { column_id, name, type_name, base_type_name: type_name, is_user_defined: false, is_assembly_type: false, max_length: 4, precision: 10, scale: 0, is_nullable: true, is_computed: false, is_identity: false, key_ordinal: null, ...extra };
}

describe('catalog statements (golden)', () => {
  it('database prerequisites', () => {
    expect(DATABASE_PREREQUISITES_SQL).toBe(`SELECT DB_NAME() AS database_name,
  CAST(CASE WHEN ctd.database_id IS NULL THEN 0 ELSE 1 END AS bit) AS change_tracking_on,
  ctd.retention_period, ctd.retention_period_units_desc, ctd.is_auto_cleanup_on,
  d.snapshot_isolation_state, d.snapshot_isolation_state_desc,
  CHANGE_TRACKING_CURRENT_VERSION() AS current_version
FROM sys.databases AS d
LEFT JOIN sys.change_tracking_databases AS ctd ON ctd.database_id = d.database_id
WHERE d.database_id = DB_ID();`);
  });
  it('table prerequisites', () => {
    expect(TABLE_PREREQUISITES_SQL).toBe(`SELECT o.object_id,
  CAST(CASE WHEN ctt.object_id IS NULL THEN 0 ELSE 1 END AS bit) AS change_tracking_on,
  ctt.is_track_columns_updated_on,
  HAS_PERMS_BY_NAME(@qualifiedName, N'OBJECT', N'SELECT') AS can_select,
  HAS_PERMS_BY_NAME(@qualifiedName, N'OBJECT', N'VIEW CHANGE TRACKING') AS can_view_change_tracking
FROM (SELECT OBJECT_ID(@qualifiedName, N'U') AS object_id) AS o
LEFT JOIN sys.change_tracking_tables AS ctt ON ctt.object_id = o.object_id;`);
  });
  it('columns with primary key order', () => {
    expect(COLUMNS_SQL).toBe(`SELECT c.column_id, c.name,
  TYPE_NAME(c.user_type_id) AS type_name, TYPE_NAME(c.system_type_id) AS base_type_name,
  ty.is_user_defined, ty.is_assembly_type,
  c.max_length, c.precision, c.scale, c.is_nullable, c.is_computed, c.is_identity,
  ic.key_ordinal
FROM sys.columns AS c
JOIN sys.types AS ty ON ty.user_type_id = c.user_type_id
LEFT JOIN sys.indexes AS i ON i.object_id = c.object_id AND i.is_primary_key = 1
LEFT JOIN sys.index_columns AS ic ON ic.object_id = i.object_id AND ic.index_id = i.index_id AND ic.column_id = c.column_id
WHERE c.object_id = OBJECT_ID(@qualifiedName, N'U')
ORDER BY c.column_id;`);
  });
});

describe('checkTablePrerequisites', () => {
  it('accepts a tracked, readable table', () => {
    expect(() => checkTablePrerequisites(ref, server, ok)).not.toThrow();
  });
  it.each([
    [{ objectId: null }, /table dbo\.places not found in db1:1433\/shop/],
    [{ canSelect: false }, /GRANT SELECT ON \[dbo\]\.\[places\]/],
    [{ canViewChangeTracking: false }, /GRANT VIEW CHANGE TRACKING ON \[dbo\]\.\[places\]/],
    [{ changeTrackingOn: false }, /ALTER TABLE \[dbo\]\.\[places\] ENABLE CHANGE_TRACKING/],
  ])('%j', (over, msg) => {
    expect(() => checkTablePrerequisites(ref, server, { ...ok, ...over })).toThrow(SourceError);
    expect(() => checkTablePrerequisites(ref, server, { ...ok, ...over })).toThrow(msg);
  });
  it('reads the prerequisite record', () => {
    expect(readTablePrerequisites({ object_id: 42, change_tracking_on: true, is_track_columns_updated_on: false, can_select: 1, can_view_change_tracking: 0 })).toEqual({
      objectId: 42, changeTrackingOn: true, trackColumnsUpdated: false, canSelect: true, canViewChangeTracking: false,
    });
    expect(readTablePrerequisites(undefined).objectId).toBeNull();
  });
});

describe('buildTableMeta', () => {
  const rows = [
    rec(1, 'region', 'char', { max_length: 2, key_ordinal: 2, is_nullable: false }),
    rec(2, 'id', 'bigint', { key_ordinal: 1, is_nullable: false }),
    rec(3, 'name', 'nvarchar', { max_length: 200 }),
    rec(4, 'shape', 'geography', { is_assembly_type: true, max_length: -1 }),
    rec(5, 'label', 'nvarchar', { max_length: -1, is_computed: true }),
  ].map(readCatalogColumn);

  it('rejects an unsupported type naming table, column and the option', () => {
    expect(() => buildTableMeta(ref, server, ok, rows)).toThrow(
      'table dbo.places column shape has type geography, which ctrelay cannot replicate (spatial types have no lossless portable form ctrelay could replicate); exclude it with source.excludeColumns: { "dbo.places": ["shape"] }',
    );
  });
  it('builds the meta with the key in key order when the column is excluded', () => {
    const d = buildTableMeta(ref, server, ok, rows, new Set(['shape']));
    expect(d.meta).toEqual({
      schema: 'dbo',
      table: 'places',
      key: ['id', 'region'],
      columns: [
        { name: 'region', type: { kind: 'string', maxLength: 2, fixedLength: true }, nullable: false, sourceType: 'char(2)' },
        { name: 'id', type: { kind: 'int64' }, nullable: false, sourceType: 'bigint' },
        { name: 'name', type: { kind: 'string', maxLength: 100 }, nullable: true, sourceType: 'nvarchar(100)' },
        { name: 'label', type: { kind: 'string' }, nullable: true, sourceType: 'nvarchar(max)' },
      ],
    });
    expect(d.info.columnIds).toEqual(new Map([['name', 3]]));
    expect(d.info.computed).toEqual(new Set(['label']));
  });
  it('no column ids without TRACK_COLUMNS_UPDATED', () => {
    expect(buildTableMeta(ref, server, { ...ok, trackColumnsUpdated: false }, rows, new Set(['shape'])).info.columnIds).toBeNull();
  });
  it('rejects a table without primary key', () => {
    expect(() => buildTableMeta(ref, server, ok, [rec(1, 'a', 'int')].map(readCatalogColumn))).toThrow(/dbo\.places in db1:1433\/shop has no primary key/);
  });
  it('rejects excluding a key column or an unknown column', () => {
    expect(() => buildTableMeta(ref, server, ok, rows, new Set(['shape', 'id']))).toThrow(/part of the primary key/);
    expect(() => buildTableMeta(ref, server, ok, rows, new Set(['shpae']))).toThrow(/no such column/);
  });
  it('trackingInfoFor uses only the columns of the given meta', () => {
    const meta = buildTableMeta(ref, server, ok, rows, new Set(['shape'])).meta;
    expect(trackingInfoFor(meta, ok, rows)).toEqual({ columnIds: new Map([['name', 3]]), computed: new Set(['label']) });
  });
});
