// Properties of the change-window statements (window-sql.ts), checked without a server: CHANGETABLE
// is read ONCE per window into a #temp table numbered in (version, key) order, pages seek on that
// number, and the key columns keep the table's types and collations. No whole-statement copies.
import { describe, expect, it } from 'vitest';
import { SourceError } from '../../core/errors.ts';
import type { TableMeta } from '../../core/model.ts';
import { afterPredicate } from '../../drivers/sqlserver/keyset.ts';
import { toParam } from '../../drivers/sqlserver/values.ts';
import { keyCasts, lines, linesKey, orders, selectedNames } from './fixtures.test-util.ts';
import { TRANSACTION_GUARD_SQL } from './sql.ts';
import { createWindowTableSql, fillWindowStatement, windowPageStatement, windowTableName, type WindowPageInput } from './window-sql.ts';

/** An @parameter (not @@TRANCOUNT): a statement with one runs through sp_executesql, without one as a plain batch. */
const PARAMETER = /(?<!@)@\w/;
const W = windowTableName(3);
const none = new Map<string, string>();

function page(table: TableMeta, over: Partial<WindowPageInput> = {}) {
  return windowPageStatement(table, W, { position: { rn: 0n }, limit: 1000, columnIds: null, commitTime: 'utc', ...over });
}


describe('createWindowTableSql', () => {
  it('is a plain batch (a #temp table made inside sp_executesql dies with the call) inside the poll transaction', () => {
    const text = createWindowTableSql(lines, W, none);
    expect(text.startsWith(`${TRANSACTION_GUARD_SQL}\n`)).toBe(true);
    expect(text).not.toMatch(PARAMETER);
    expect(W).toBe('#ctrelay_window_3');
    expect(() => windowTableName(-1)).toThrow();
  });

  it('numbers the rows as its clustered primary key, declared inline (CREATE INDEX is refused in a snapshot transaction)', () => {
    const text = createWindowTableSql(lines, W, none);
    expect(text.indexOf(`DROP TABLE IF EXISTS ${W};`)).toBeLessThan(text.indexOf(`CREATE TABLE ${W} (`));
    expect(text).toContain('[rn] bigint NOT NULL PRIMARY KEY CLUSTERED');
    expect(text).toContain('[v] bigint NOT NULL');
    expect(text).toContain('[op] nchar(1) NOT NULL');
    expect(text).toContain('[cols] varbinary(4100) NULL');
    expect(text).not.toMatch(/CREATE (UNIQUE )?(CLUSTERED )?INDEX|ALTER TABLE/);
  });

  it('declares the key columns in key order, in their own types and collations (tempdb\'s may differ)', () => {
    const text = createWindowTableSql(lines, W, new Map([['tenant', 'Latin1_General_CS_AS']]));
    expect(text).toContain('[k0] uniqueidentifier COLLATE Latin1_General_CS_AS NOT NULL,\n  [k1] date NOT NULL,\n  [k2] smallint NOT NULL\n);');
    const rv: TableMeta = { ...orders, columns: [{ name: 'id', type: { kind: 'bytes', maxLength: 8, fixedLength: true }, nullable: false, sourceType: 'rowversion' }] };
    expect(createWindowTableSql(rv, W, none)).toContain('[k0] binary(8) NOT NULL');
  });

  it('refuses a collation name it would have to quote, naming table and column', () => {
    const bad = () => createWindowTableSql(orders, W, new Map([['id', 'x]; DROP TABLE y; --']]));
    expect(bad).toThrow(SourceError);
    expect(bad).toThrow(/table dbo\.orders key column id/);
  });
});

describe('fillWindowStatement', () => {
  const st = fillWindowStatement(lines, W, 5n, 9n, new Map([['tenant', 'Latin1_General_CS_AS']]));

  it('reads CHANGETABLE ONCE, bounded by the poll version, into the window table', () => {
    expect(st.sql.match(/CHANGETABLE\(/g)).toHaveLength(1);
    expect(st.sql).toContain('FROM CHANGETABLE(CHANGES [sales data].[order]]lines], @since) AS ct\nWHERE ct.SYS_CHANGE_VERSION <= @until;');
    expect(st.sql).toContain(`INSERT INTO ${W} ([rn], [v], [op], [cols], [k0], [k1], [k2])`);
    expect(st.sql).toContain('ct.SYS_CHANGE_VERSION, ct.SYS_CHANGE_OPERATION, ct.SYS_CHANGE_COLUMNS, ct.[tenant], ct.[day], ct.[line no]');
  });

  it('numbers rows in (version, key) order, string keys in their collation', () => {
    expect(st.sql).toContain('ROW_NUMBER() OVER (ORDER BY ct.SYS_CHANGE_VERSION, ct.[tenant] COLLATE Latin1_General_CS_AS, ct.[day], ct.[line no])');
  });

  it('reads the min valid version before and after the read, always (it is metadata: a snapshot does not hold it)', () => {
    const before = st.sql.indexOf("DECLARE @min_valid_before bigint = CHANGE_TRACKING_MIN_VALID_VERSION(OBJECT_ID(@qualifiedName, N'U'));");
    const insert = st.sql.indexOf('INSERT INTO');
    const after = st.sql.indexOf("CHANGE_TRACKING_MIN_VALID_VERSION(OBJECT_ID(@qualifiedName, N'U')) AS min_valid_after;");
    expect(before).toBeGreaterThan(0);
    expect(insert).toBeGreaterThan(before);
    expect(after).toBeGreaterThan(insert);
    expect(selectedNames(st.sql.slice(st.sql.lastIndexOf('SELECT @window_rows')).replace(/;$/, ''))).toEqual(['window_rows', 'min_valid_before', 'min_valid_after']);
    expect(st.sql).toContain('SET @window_rows = ROWCOUNT_BIG();');
  });

  it('types every parameter, and starts with the transaction guard', () => {
    expect(st.params).toEqual({
      qualifiedName: { sqlType: 'nvarchar', value: '[sales data].[order]]lines]' },
      since: { sqlType: 'bigint', value: 5n },
      until: { sqlType: 'bigint', value: 9n },
    });
    expect(st.sql.startsWith(`${TRANSACTION_GUARD_SQL}\n`)).toBe(true);
  });
});

describe('windowPageStatement', () => {
  it('pages the window table by row number: a seek, never CHANGETABLE again', () => {
    const st = page(lines, { position: { rn: 4711n } });
    expect(st.sql).not.toContain('CHANGETABLE');
    expect(st.sql).toContain(`FROM ${W} AS w\n`);
    expect(st.sql).toMatch(/\nWHERE w\.\[rn\] > @after_rn\nORDER BY w\.\[rn\];$/);
    expect(st.sql).toContain('SELECT TOP (@limit) ');
    expect(st.params).toEqual({ limit: { sqlType: 'int', value: 1000 }, after_rn: { sqlType: 'bigint', value: 4711n } });
    expect(st.sql.startsWith(`${TRANSACTION_GUARD_SQL}\n`)).toBe(true);
  });

  it('joins the current row on every key column (hostile names quoted)', () => {
    expect(page(lines).sql).toContain('LEFT JOIN [sales data].[order]]lines] AS t ON t.[tenant] = w.[k0] AND t.[day] = w.[k1] AND t.[line no] = w.[k2]');
  });

  it('continues strictly after any (version, key) position, compared in the window\'s column types', () => {
    const st = page(lines, { position: { version: 40n, key: linesKey } });
    expect(st.sql).toContain(`\nWHERE ${afterPredicate(['w.[v]', 'w.[k0]', 'w.[k1]', 'w.[k2]'], ['@after_version', ...keyCasts(lines)])}\nORDER BY w.[rn];`);
    expect(st.params).toEqual({
      limit: { sqlType: 'int', value: 1000 },
      after_version: { sqlType: 'bigint', value: 40n },
      ...Object.fromEntries(lines.key.map((k, i) => [`after_k${i}`, toParam(lines.columns.find((c) => c.name === k)!.type, linesKey[k as keyof typeof linesKey])])),
    });
  });

  it('names results positionally (ct_rn the position, k<i> key, c<i> column, m<i> mask bit), as the session and decodeChangeRow read them', () => {
    const withMasks = page(orders, { columnIds: new Map([['amount', 2], ['note', 3]]) });
    expect(selectedNames(withMasks.sql)).toEqual(['ct_rn', 'ct_version', 'ct_operation', 'ct_columns', 'ct_commit_time', 'k0', 'row_found', 'c0', 'c1', 'c2', 'm1', 'm2']);
    expect(withMasks.sql).toContain('CHANGE_TRACKING_IS_COLUMN_IN_MASK(@cid1, w.[cols]) AS [m1]');
    expect(withMasks.params.cid1).toEqual({ sqlType: 'int', value: 2 });
    expect(selectedNames(page(lines).sql)).toEqual(['ct_rn', 'ct_version', 'ct_operation', 'ct_columns', 'ct_commit_time', 'k0', 'k1', 'k2', 'row_found', 'c0', 'c1', 'c2', 'c3', 'c4']);
  });

  it.each([
    ['utc', 'CONVERT(varchar(23), tc.commit_time, 121) AS [ct_commit_time]', true],
    ['server-local', 'CONVERT(varchar(23), DATEADD(minute, -DATEPART(TZOFFSET, SYSDATETIMEOFFSET()), tc.commit_time), 121) AS [ct_commit_time]', true],
    ['off', 'CAST(NULL AS varchar(23)) AS [ct_commit_time]', false],
  ] as const)('commit time %s', (commitTime, selected, readsDmv) => {
    const { sql } = page(orders, { commitTime });
    expect(sql).toContain(selected);
    expect(sql.includes('LEFT JOIN sys.dm_tran_commit_table AS tc ON tc.commit_ts = w.[v]')).toBe(readsDmv);
  });

  it('never interpolates a value: hostile key values stay in parameters', () => {
    const t = { ...orders, key: ['note'] };
    const st = page(t, { position: { version: 1n, key: { note: "x'; DROP TABLE y; --" } } });
    expect(st.sql).not.toContain('DROP');
    expect(st.params.after_k0).toEqual({ sqlType: 'nvarchar', value: "x'; DROP TABLE y; --" });
    expect(st.sql).toContain('CAST(@after_k0 AS nvarchar(100))');
  });

  it('rejects a paging position that lacks a key column', () => {
    expect(() => page(lines, { position: { version: 1n, key: { tenant: 'x' } } })).toThrow(/day/);
  });
});
