import { describe, expect, it } from 'vitest';
import { SourceError } from '../../core/errors.ts';
import { buildTableMeta, checkTablePrerequisites, describeTableRows, problemsError, readCatalogColumn, readTablePrerequisites, tablePrerequisiteProblems, trackingInfoFor } from './catalog.ts';
import { catalogRecord as rec, selectedNames } from './fixtures.test-util.ts';
import { COLUMNS_SQL, DATABASE_PREREQUISITES_SQL, TABLE_PREREQUISITES_SQL } from './sql.ts';

const ref = { schema: 'dbo', table: 'places' };
const server = 'db1:1433/shop';
const ok = { objectId: 42, changeTrackingOn: true, trackColumnsUpdated: true, canSelect: true, canViewChangeTracking: true };

describe('catalog statements select what the readers read', () => {
  it('COLUMNS_SQL: exactly the fields of a catalog record, by the quoted name, with the primary key order', () => {
    expect(selectedNames(COLUMNS_SQL).sort()).toEqual(Object.keys(rec(1, 'a', 'int')).sort());
    expect(COLUMNS_SQL).toContain("WHERE c.object_id = OBJECT_ID(@qualifiedName, N'U')");
    expect(COLUMNS_SQL).toMatch(/sys\.indexes AS i ON .*i\.is_primary_key = 1/);
  });
  it('TABLE_PREREQUISITES_SQL: what readTablePrerequisites reads, with the documented grants (SELECT, VIEW CHANGE TRACKING)', () => {
    const record = Object.fromEntries(selectedNames(TABLE_PREREQUISITES_SQL).map((n) => [n, 1]));
    expect(readTablePrerequisites(record)).toEqual({ objectId: 1, changeTrackingOn: true, trackColumnsUpdated: true, canSelect: true, canViewChangeTracking: true });
    expect(TABLE_PREREQUISITES_SQL).toContain("HAS_PERMS_BY_NAME(@qualifiedName, N'OBJECT', N'SELECT')");
    expect(TABLE_PREREQUISITES_SQL).toContain("HAS_PERMS_BY_NAME(@qualifiedName, N'OBJECT', N'VIEW CHANGE TRACKING')");
    expect(TABLE_PREREQUISITES_SQL).toContain('sys.change_tracking_tables');
  });
  it('DATABASE_PREREQUISITES_SQL: change tracking and snapshot isolation of the current database, without parameters', () => {
    expect(selectedNames(DATABASE_PREREQUISITES_SQL)).toEqual(expect.arrayContaining(['change_tracking_on', 'snapshot_isolation_state', 'snapshot_isolation_state_desc']));
    expect(DATABASE_PREREQUISITES_SQL).toContain('sys.change_tracking_databases');
    expect(DATABASE_PREREQUISITES_SQL).toContain('WHERE d.database_id = DB_ID()');
    expect(DATABASE_PREREQUISITES_SQL).not.toContain('@');
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
    rec(3, 'name', 'nvarchar', { max_length: 200, has_default: true }),
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
        { name: 'region', type: { kind: 'string', maxLength: 2, fixedLength: true }, nullable: false, sourceType: 'char(2)', hasDefault: false, generated: false },
        { name: 'id', type: { kind: 'int64' }, nullable: false, sourceType: 'bigint', hasDefault: false, generated: false },
        { name: 'name', type: { kind: 'string', maxLength: 100 }, nullable: true, sourceType: 'nvarchar(100)', hasDefault: true, generated: false },
        { name: 'label', type: { kind: 'string' }, nullable: true, sourceType: 'nvarchar(max)', hasDefault: false, generated: true },
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
  it('reports every problem of the table at once, each naming table and column', () => {
    const bad = [
      rec(1, 'a', 'int'),
      rec(2, 'shape', 'geography', { is_assembly_type: true, max_length: -1 }),
      rec(3, 'v', 'sql_variant', { max_length: 8016 }),
    ].map(readCatalogColumn);
    const r = describeTableRows(ref, server, ok, bad, new Set(['nosuch']));
    expect('problems' in r && r.problems).toEqual([
      expect.stringMatching(/excludeColumns names column nosuch of table dbo\.places/),
      expect.stringMatching(/table dbo\.places in db1:1433\/shop has no primary key/),
      expect.stringMatching(/table dbo\.places column shape has type geography/),
      expect.stringMatching(/table dbo\.places column v has type sql_variant/),
    ]);
    let err: unknown;
    try {
      buildTableMeta(ref, server, ok, bad);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SourceError);
    expect((err as Error).message).toMatch(/^3 problems with the source tables: \(1\) table dbo\.places in .* has no primary key.*; \(2\) .*column shape.*; \(3\) .*column v has type sql_variant/);
  });
  it('lists the prerequisite problems of a table together; a missing table has no other', () => {
    expect(tablePrerequisiteProblems(ref, server, { ...ok, canSelect: false, changeTrackingOn: false })).toEqual([
      expect.stringMatching(/GRANT SELECT ON \[dbo\]\.\[places\]/),
      expect.stringMatching(/change tracking is not enabled on table dbo\.places/),
    ]);
    expect(tablePrerequisiteProblems(ref, server, { ...ok, objectId: null, canSelect: false })).toHaveLength(1);
    expect(problemsError([])).toBeNull();
    expect(problemsError(['only one'])!.message).toBe('only one');
  });
  it('COLUMNS_SQL reports a default constraint as has_default (sys.columns.default_object_id, 0 = none)', () => {
    expect(COLUMNS_SQL).toContain('CASE WHEN c.default_object_id <> 0 THEN 1 ELSE 0 END AS bit) AS has_default');
    expect(readCatalogColumn(rec(1, 'a', 'int', { has_default: true })).hasDefault).toBe(true);
    expect(readCatalogColumn(rec(1, 'a', 'int')).hasDefault).toBe(false);
    // an IDENTITY column numbers the existing rows when it is added: it counts as a default
    const d = buildTableMeta(ref, server, ok, [rec(1, 'id', 'int', { key_ordinal: 1 }), rec(2, 'n', 'int', { is_identity: true })].map(readCatalogColumn));
    expect(d.meta.columns.map((c) => [c.name, c.hasDefault, c.generated])).toEqual([['id', false, false], ['n', true, false]]);
  });
  it('trackingInfoFor uses only the columns of the given meta', () => {
    const meta = buildTableMeta(ref, server, ok, rows, new Set(['shape'])).meta;
    expect(trackingInfoFor(meta, ok, rows)).toEqual({ columnIds: new Map([['name', 3]]), computed: new Set(['label']), keyCollations: new Map() });
  });
  it('keeps the collation of each character key column (the poll\'s window table declares them), and of no other column', () => {
    const collated = [
      rec(1, 'region', 'char', { max_length: 2, key_ordinal: 2, is_nullable: false, collation_name: 'Latin1_General_CS_AS' }),
      rec(2, 'id', 'bigint', { key_ordinal: 1, is_nullable: false }),
      rec(3, 'name', 'nvarchar', { max_length: 200, collation_name: 'Latin1_General_CI_AS' }),
    ].map(readCatalogColumn);
    expect(collated.map((c) => c.collation)).toEqual(['Latin1_General_CS_AS', null, 'Latin1_General_CI_AS']);
    const d = buildTableMeta(ref, server, ok, collated);
    expect(d.info.keyCollations).toEqual(new Map([['region', 'Latin1_General_CS_AS']]));
    expect(trackingInfoFor(d.meta, ok, collated).keyCollations).toEqual(new Map([['region', 'Latin1_General_CS_AS']]));
    expect(COLUMNS_SQL).toContain('c.collation_name');
  });
});
