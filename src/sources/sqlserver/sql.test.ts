// Properties of the statements the SQL Server source sends (sql.ts), checked without a server: the
// documented change-tracking poll shape, batch boundaries, quoting, parameter types, paging order
// and the result aliases the decoders read. No whole-statement copies: a copy of the SQL would only
// restate the code.
import { describe, expect, it } from 'vitest';
import type { TableMeta } from '../../core/model.ts';
import { POLL_TRANSACTION_GONE } from './errors.ts';
import { lines, orders, selectedNames } from './fixtures.test-util.ts';
import { quoteIdent } from '../../drivers/sqlserver/quote.ts';
import {
  ABORT_POLL_SQL,
  beginPollSql,
  changesStatement,
  END_POLL_SQL,
  MIN_VALID_VERSION_SQL,
  objectName,
  snapshotChunkStatement,
  TRANSACTION_GUARD_SQL,
  type ChangesInput,
} from './sql.ts';
import { afterPredicate, keysetPageStatement } from '../../drivers/sqlserver/keyset.ts';
import { castTypeOf } from '../../drivers/sqlserver/reads.ts';
import { toParam } from '../../drivers/sqlserver/values.ts';

/** An @parameter (not @@TRANCOUNT): a statement with one runs through sp_executesql, without one as a plain batch. */
const PARAMETER = /(?<!@)@\w/;

const linesKey = { tenant: '0b9e1b4c-5a53-4d9e-9a4e-2f3c4d5e6f70', day: '2024-02-29', 'line no': 7 };

function changes(table: TableMeta, over: Partial<ChangesInput> = {}) {
  return changesStatement(table, { since: 5n, until: 9n, after: null, limit: 1000, columnIds: null, commitTime: 'utc', ...over });
}

/** `CAST(@after_k<i> AS <column type>)` for each key column, in key order. */
function keyCasts(table: TableMeta): string[] {
  return table.key.map((k, i) => `CAST(@after_k${i} AS ${castTypeOf(table.columns.find((c) => c.name === k)!)})`);
}

describe('the poll transaction (documented CT pattern: one snapshot, its version, then the reads)', () => {
  it('sets SNAPSHOT isolation, begins the transaction, then reads CHANGE_TRACKING_CURRENT_VERSION() inside it, in one plain batch', () => {
    const text = beginPollSql(true);
    const at = (s: string) => text.indexOf(s);
    expect(at('SET TRANSACTION ISOLATION LEVEL SNAPSHOT;')).toBe(0);
    expect(at('BEGIN TRANSACTION;')).toBeGreaterThan(0);
    expect(at('SELECT CHANGE_TRACKING_CURRENT_VERSION() AS current_version')).toBeGreaterThan(at('BEGIN TRANSACTION;'));
    // parameterless, so execute() runs it as a batch: SET and BEGIN TRANSACTION keep session scope
    expect(text).not.toMatch(PARAMETER);
  });

  it('uses READ COMMITTED only for the non-snapshot fallback', () => {
    expect(beginPollSql(false)).toMatch(/^SET TRANSACTION ISOLATION LEVEL READ COMMITTED;/);
    expect(beginPollSql(false)).not.toContain('SNAPSHOT');
  });

  it.each([
    ['END_POLL_SQL', END_POLL_SQL, 'COMMIT TRANSACTION'],
    ['ABORT_POLL_SQL', ABORT_POLL_SQL, 'ROLLBACK TRANSACTION'],
  ])('%s ends only an open transaction, then resets the pooled connection to READ COMMITTED', (_name, text, verb) => {
    expect(text).toContain(`IF @@TRANCOUNT > 0 ${verb};`);
    expect(text.indexOf('SET TRANSACTION ISOLATION LEVEL READ COMMITTED;')).toBeGreaterThan(text.indexOf(verb));
    expect(text).not.toMatch(PARAMETER);
  });

  it('every read inside the poll first checks that its transaction still exists, with the error the classifier treats as transient', () => {
    expect(TRANSACTION_GUARD_SQL).toMatch(/^IF @@TRANCOUNT = 0 THROW /);
    expect(TRANSACTION_GUARD_SQL).toContain(`THROW ${POLL_TRANSACTION_GONE},`);
    for (const text of [MIN_VALID_VERSION_SQL, changes(orders).sql, snapshotChunkStatement(orders, null, 10).sql]) {
      expect(text.startsWith(`${TRANSACTION_GUARD_SQL}\n`)).toBe(true);
    }
  });

  it('validates the min valid version of the table inside that transaction, by its quoted name', () => {
    expect(MIN_VALID_VERSION_SQL).toContain("CHANGE_TRACKING_MIN_VALID_VERSION(OBJECT_ID(@qualifiedName, N'U')) AS min_valid_version");
    expect(objectName({ schema: 'dbo', table: 'orders' })).toBe('[dbo].[orders]');
    expect(objectName(lines)).toBe('[sales data].[order]]lines]');
  });
});


describe('changesStatement', () => {
  it('reads CHANGETABLE(CHANGES ...) since @since and joins the current row on every key column (hostile names quoted)', () => {
    const { sql } = changes(lines);
    expect(sql).toContain('FROM CHANGETABLE(CHANGES [sales data].[order]]lines], @since) AS ct');
    expect(sql).toContain('LEFT JOIN [sales data].[order]]lines] AS t ON t.[tenant] = ct.[tenant] AND t.[day] = ct.[day] AND t.[line no] = ct.[line no]');
  });

  it('bounds the window by the poll version V, orders by (version, key in key order) and pages by TOP (@limit)', () => {
    const { sql } = changes(lines);
    expect(sql).toMatch(/\nWHERE ct\.SYS_CHANGE_VERSION <= @until\n/);
    expect(sql).toMatch(/\nORDER BY ct\.SYS_CHANGE_VERSION, ct\.\[tenant\], ct\.\[day\], ct\.\[line no\];$/);
    expect(sql).toContain('SELECT TOP (@limit) ');
  });

  it('continues strictly after (version, key), with the key parameters cast to the column types', () => {
    const st = changes(lines, { after: { version: 40n, key: linesKey } });
    const expected = afterPredicate(['ct.SYS_CHANGE_VERSION', ...lines.key.map((k) => `ct.${quoteIdent(k)}`)], ['@after_version', ...keyCasts(lines)]);
    expect(st.sql).toContain(`WHERE ct.SYS_CHANGE_VERSION <= @until AND ${expected}\n`);
    expect(keyCasts(lines)).toEqual(['CAST(@after_k0 AS uniqueidentifier)', 'CAST(@after_k1 AS date)', 'CAST(@after_k2 AS smallint)']);
  });

  it('types every parameter explicitly', () => {
    const st = changes(lines, { after: { version: 40n, key: linesKey }, columnIds: new Map([['at', 4], ['price', 5]]) });
    expect(st.params).toEqual({
      limit: { sqlType: 'int', value: 1000 },
      since: { sqlType: 'bigint', value: 5n },
      until: { sqlType: 'bigint', value: 9n },
      after_version: { sqlType: 'bigint', value: 40n },
      ...Object.fromEntries(lines.key.map((k, i) => [`after_k${i}`, toParam(lines.columns.find((c) => c.name === k)!.type, linesKey[k as keyof typeof linesKey])])),
      cid3: { sqlType: 'int', value: 4 },
      cid4: { sqlType: 'int', value: 5 },
    });
  });

  it('names results positionally (k<i> key, c<i> column, m<i> mask bit of a tracked non-key column), as decodeChangeRow reads them', () => {
    const withMasks = changes(orders, { columnIds: new Map([['amount', 2], ['note', 3]]) });
    expect(selectedNames(withMasks.sql)).toEqual(['ct_version', 'ct_operation', 'ct_columns', 'ct_commit_time', 'k0', 'row_found', 'c0', 'c1', 'c2', 'm1', 'm2']);
    expect(withMasks.sql).toContain('CHANGE_TRACKING_IS_COLUMN_IN_MASK(@cid1, ct.SYS_CHANGE_COLUMNS) AS [m1]');
    // no masks without TRACK_COLUMNS_UPDATED
    expect(selectedNames(changes(lines).sql)).toEqual(['ct_version', 'ct_operation', 'ct_columns', 'ct_commit_time', 'k0', 'k1', 'k2', 'row_found', 'c0', 'c1', 'c2', 'c3', 'c4']);
  });

  it.each([
    ['utc', 'CONVERT(varchar(23), tc.commit_time, 121) AS [ct_commit_time]', true],
    ['server-local', 'CONVERT(varchar(23), DATEADD(minute, -DATEPART(TZOFFSET, SYSDATETIMEOFFSET()), tc.commit_time), 121) AS [ct_commit_time]', true],
    ['off', 'CAST(NULL AS varchar(23)) AS [ct_commit_time]', false],
  ] as const)('commit time %s', (commitTime, selected, readsDmv) => {
    const { sql } = changes(orders, { commitTime });
    expect(sql).toContain(selected);
    expect(sql.includes('LEFT JOIN sys.dm_tran_commit_table AS tc ON tc.commit_ts = ct.SYS_CHANGE_VERSION')).toBe(readsDmv);
  });

  it('never interpolates a value: hostile key values stay in parameters', () => {
    const t = { ...orders, key: ['note'], columns: orders.columns };
    const st = changes(t, { after: { version: 1n, key: { note: "x'; DROP TABLE y; --" } } });
    expect(st.sql).not.toContain('DROP');
    expect(st.params.after_k0).toEqual({ sqlType: 'nvarchar', value: "x'; DROP TABLE y; --" });
    expect(st.sql).toContain('CAST(@after_k0 AS nvarchar(100))');
  });

  it('rejects a paging position that lacks a key column', () => {
    expect(() => changes(lines, { after: { version: 1n, key: { tenant: 'x' } } })).toThrow(/day/);
  });
});

describe('snapshotChunkStatement', () => {
  it('reads every column positionally, in key order, TOP (@limit), from the quoted table', () => {
    const st = snapshotChunkStatement(lines, null, 100);
    expect(selectedNames(st.sql)).toEqual(['c0', 'c1', 'c2', 'c3', 'c4']);
    expect(st.sql).toContain('SELECT TOP (@limit) ');
    expect(st.sql).toMatch(/\nFROM \[sales data\]\.\[order\]\]lines\] AS t\nORDER BY t\.\[tenant\], t\.\[day\], t\.\[line no\];$/);
    expect(st.params).toEqual({ limit: { sqlType: 'int', value: 100 } });
  });

  it('continues strictly after the last key, with cast key parameters', () => {
    const st = snapshotChunkStatement(lines, linesKey, 100);
    expect(st.sql).toContain(`\nWHERE ${afterPredicate(lines.key.map((k) => `t.${quoteIdent(k)}`), keyCasts(lines))}\n`);
    expect(Object.keys(st.params)).toEqual(['limit', 'after_k0', 'after_k1', 'after_k2']);
  });

  it('is guarded inside a poll (the driver\'s keyset page, which the standby reads with, is not)', () => {
    expect(snapshotChunkStatement(orders, null, 1).sql.startsWith(TRANSACTION_GUARD_SQL)).toBe(true);
    expect(keysetPageStatement(orders, null, 1).sql).not.toContain('@@TRANCOUNT');
  });
});
