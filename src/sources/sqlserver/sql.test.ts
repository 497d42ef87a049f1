// Properties of the statements the SQL Server source sends (sql.ts), checked without a server: the
// documented change-tracking poll shape, the snapshot pin, batch boundaries, quoting, parameter
// types and the result aliases the decoders read (the change window's statements: window-sql.test.ts).
// No whole-statement copies: a copy of the SQL would only restate the code.
import { describe, expect, it } from 'vitest';
import { POLL_TRANSACTION_GONE } from './errors.ts';
import { keyCasts, lines, linesKey, orders, selectedNames } from './fixtures.test-util.ts';
import { quoteIdent } from '../../drivers/sqlserver/quote.ts';
import {
  ABORT_POLL_SQL,
  beginPollSql,
  END_POLL_SQL,
  endPollSql,
  lateSnapshotPinSql,
  MIN_VALID_VERSION_SQL,
  objectName,
  snapshotChunkStatement,
  SOURCE_IDENTITY_SQL,
  TRANSACTION_GUARD_SQL,
} from './sql.ts';
import { afterPredicate, keysetPageStatement } from '../../drivers/sqlserver/keyset.ts';

/** An @parameter (not @@TRANCOUNT): a statement with one runs through sp_executesql, without one as a plain batch. */
const PARAMETER = /(?<!@)@\w/;
/** A local variable the batch DECLAREs itself is not a parameter. */
const declaredOnly = (text: string) => text.replace(/@(source_identity|version_before|pinned)\b/g, 'VAR');



describe('the poll transaction (documented CT pattern: one snapshot, its version, then the reads)', () => {
  const begin = beginPollSql(true, orders);
  const at = (s: string) => begin.indexOf(s);

  it('sets SNAPSHOT isolation, begins the transaction, then reads CHANGE_TRACKING_CURRENT_VERSION() inside it, in one plain batch', () => {
    expect(at('SET TRANSACTION ISOLATION LEVEL SNAPSHOT;')).toBeGreaterThan(0);
    expect(at('BEGIN TRANSACTION;')).toBeGreaterThan(at('SET TRANSACTION ISOLATION LEVEL SNAPSHOT;'));
    expect(at('DECLARE @version_before bigint = CHANGE_TRACKING_CURRENT_VERSION();')).toBeGreaterThan(at('BEGIN TRANSACTION;'));
    // parameterless, so execute() runs it as a batch: SET and BEGIN TRANSACTION keep session scope
    expect(declaredOnly(begin)).not.toMatch(PARAMETER);
  });

  it('pins the snapshot with a read of a captured table between two reads of the version, which the caller compares', () => {
    const pin = at('SELECT TOP (1) @pinned = 1 FROM [dbo].[orders];');
    expect(pin).toBeGreaterThan(at('DECLARE @version_before'));
    const last = begin.split('\n').at(-1)!;
    expect(last).toBe('SELECT @version_before AS version_before, CHANGE_TRACKING_CURRENT_VERSION() AS current_version, @source_identity AS source_identity;');
    expect(at(last)).toBeGreaterThan(pin);
    expect(beginPollSql(true, lines)).toContain('FROM [sales data].[order]]lines];');
  });

  it('reads the identity of the version space (database or availability-group database, and its recovery fork) before the transaction', () => {
    expect(begin.startsWith(`DECLARE @source_identity nvarchar(100) = ${SOURCE_IDENTITY_SQL};`)).toBe(true);
    expect(SOURCE_IDENTITY_SQL).toContain('COALESCE(d.group_database_id, drs.database_guid)');
    expect(SOURCE_IDENTITY_SQL).toContain('drs.recovery_fork_guid');
    expect(SOURCE_IDENTITY_SQL).toContain('sys.database_recovery_status AS drs');
    expect(SOURCE_IDENTITY_SQL).toContain('WHERE d.database_id = DB_ID()');
    // NULL, never a half identity, when the row is not visible
    expect(SOURCE_IDENTITY_SQL).toMatch(/CASE WHEN drs\.recovery_fork_guid IS NULL OR .* IS NULL THEN NULL/);
  });

  it('without a table to pin with, leaves the pin to the first table read, which checks the version again', () => {
    expect(beginPollSql(true)).not.toContain('@pinned');
    const late = lateSnapshotPinSql(orders);
    expect(late.startsWith(`${TRANSACTION_GUARD_SQL}\n`)).toBe(true);
    expect(late.indexOf('CHANGE_TRACKING_CURRENT_VERSION() AS current_version')).toBeGreaterThan(late.indexOf('SELECT TOP (1) @pinned = 1 FROM [dbo].[orders];'));
  });

  it('uses READ COMMITTED only for the non-snapshot fallback, without a pin', () => {
    const rc = beginPollSql(false, orders);
    expect(rc).toContain('SET TRANSACTION ISOLATION LEVEL READ COMMITTED;');
    expect(rc).not.toContain('SNAPSHOT');
    expect(rc).not.toContain('@pinned');
  });

  it.each([
    ['END_POLL_SQL', END_POLL_SQL, 'COMMIT TRANSACTION'],
    ['ABORT_POLL_SQL', ABORT_POLL_SQL, 'ROLLBACK TRANSACTION'],
  ])('%s ends only an open transaction, then resets the pooled connection to READ COMMITTED', (_name, text, verb) => {
    expect(text).toContain(`IF @@TRANCOUNT > 0 ${verb};`);
    expect(text.indexOf('SET TRANSACTION ISOLATION LEVEL READ COMMITTED;')).toBeGreaterThan(text.indexOf(verb));
    expect(text).not.toMatch(PARAMETER);
  });

  it('drops the poll\'s window tables after the transaction, and refuses any other name', () => {
    const text = endPollSql(true, ['#ctrelay_window_0', '#ctrelay_window_1']);
    expect(text.indexOf('DROP TABLE IF EXISTS #ctrelay_window_0, #ctrelay_window_1;')).toBeGreaterThan(text.indexOf('COMMIT TRANSACTION'));
    expect(() => endPollSql(true, ['[dbo].[orders]'])).toThrow(/window table/);
  });

  it('every read inside the poll first checks that its transaction still exists, with the error the classifier treats as transient', () => {
    expect(TRANSACTION_GUARD_SQL).toMatch(/^IF @@TRANCOUNT = 0 THROW /);
    expect(TRANSACTION_GUARD_SQL).toContain(`THROW ${POLL_TRANSACTION_GONE},`);
    for (const text of [MIN_VALID_VERSION_SQL, snapshotChunkStatement(orders, null, 10).sql]) {
      expect(text.startsWith(`${TRANSACTION_GUARD_SQL}\n`)).toBe(true);
    }
  });

  it('validates the min valid version of the table inside that transaction, by its quoted name', () => {
    expect(MIN_VALID_VERSION_SQL).toContain("CHANGE_TRACKING_MIN_VALID_VERSION(OBJECT_ID(@qualifiedName, N'U')) AS min_valid_version");
    expect(objectName({ schema: 'dbo', table: 'orders' })).toBe('[dbo].[orders]');
    expect(objectName(lines)).toBe('[sales data].[order]]lines]');
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
