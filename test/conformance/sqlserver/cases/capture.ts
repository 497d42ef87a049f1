// SQL Server change reads beyond the shared contract: changed_columns from the column mask, a
// column added mid-stream, a 100,000-row transaction read ONCE per poll and paged, and the min
// valid version rising while a poll is open. NOT RUN YET against a SQL Server.
import { describe, expect, it } from 'vitest';
import { canWatchCatalog } from '../../../../src/core/change-source.ts';
import { isTransient } from '../../../../src/core/errors.ts';
import { currentVersion, pollTable } from '../../../support/source-harness.ts';
import { inPoll, pages, query, settle, useCaseDatabase, type SqlServerCaseContext } from './support.ts';

const WINDOW_ROWS = 100_000;
const PAGE_ROWS = 5_000;

export function captureCases(ctx: () => SqlServerCaseContext): void {
  describe('SQL Server change reads', () => {
    // the harness enables tracking with TRACK_COLUMNS_UPDATED = ON
    const cx = useCaseDatabase(ctx, 'ctr_reads', {
      masked: 'id int NOT NULL PRIMARY KEY, a int NULL, b nvarchar(10) NULL, c int NULL',
      evolving: 'id int NOT NULL PRIMARY KEY, a int NULL',
      big: 'id int NOT NULL PRIMARY KEY, v nvarchar(20) NOT NULL',
      shrinking: 'id int NOT NULL PRIMARY KEY, v int NULL',
    });

    it('changed_columns come from the column mask: the columns updated since the since-version; null for inserts and for all columns at once', async () => {
      const v0 = await currentVersion(cx.source);
      await cx.db.exec('INSERT INTO dbo.masked (id, a, b, c) VALUES (1, 1, N\'x\', 1)');
      expect((await pollTable(cx.source, cx.m.masked, v0)).rows.map((r) => [r.op, r.changedColumns])).toEqual([['I', null]]);
      const v1 = await currentVersion(cx.source);
      await cx.db.exec("UPDATE dbo.masked SET b = N'y' WHERE id = 1");
      expect((await pollTable(cx.source, cx.m.masked, v1)).rows.map((r) => [r.op, r.changedColumns])).toEqual([['U', ['b']]]);
      const v2 = await currentVersion(cx.source);
      await cx.db.exec('UPDATE dbo.masked SET a = 2, c = 2 WHERE id = 1');
      expect((await pollTable(cx.source, cx.m.masked, v2)).rows.map((r) => r.changedColumns)).toEqual([['a', 'c']]);
      // "SYS_CHANGE_COLUMNS: columns that changed since the last_sync_version" (CHANGETABLE): both updates
      expect((await pollTable(cx.source, cx.m.masked, v1)).rows.map((r) => r.changedColumns)).toEqual([['a', 'b', 'c']]);
      // every non-key column in one update: SQL Server leaves SYS_CHANGE_COLUMNS NULL ("all columns")
      const v3 = await currentVersion(cx.source);
      await cx.db.exec("UPDATE dbo.masked SET a = 3, b = N'z', c = 3 WHERE id = 1");
      expect((await pollTable(cx.source, cx.m.masked, v3)).rows.map((r) => [r.op, r.changedColumns, r.row])).toEqual([['U', null, { id: 1, a: 3, b: 'z', c: 3 }]]);
    });

    it('a column added mid-stream changes the catalog signature, and the new description reads it in changes', async () => {
      if (!canWatchCatalog(cx.source)) throw new Error('the SQL Server source watches its catalog');
      await cx.db.exec('INSERT INTO dbo.evolving (id, a) VALUES (1, 1)');
      const before = await cx.source.catalogSignature([cx.t.evolving.ref]);
      await cx.db.exec('ALTER TABLE dbo.evolving ADD b nvarchar(10) NULL');
      expect(await cx.source.catalogSignature([cx.t.evolving.ref])).not.toBe(before);
      const [evolved] = await cx.source.describe([cx.t.evolving.ref]);
      expect(evolved.columns.map((c) => [c.name, c.hasDefault === true])).toEqual([['id', false], ['a', false], ['b', false]]);
      const v = await currentVersion(cx.source);
      await cx.db.exec("UPDATE dbo.evolving SET b = N'new' WHERE id = 1");
      expect((await pollTable(cx.source, evolved, v)).rows.map((r) => [r.op, r.row])).toEqual([['U', { id: 1, a: 1, b: 'new' }]]);
      // DDL while a poll is open: the poll's next read of the table may fail, and then transiently (3961)
      const err = await inPoll(cx.source, async (s) => {
        await s.minValidVersion(evolved);
        await cx.db.exec('ALTER TABLE dbo.evolving ADD c int NULL');
        return settle(s.changes(evolved, v, null, 10));
      });
      if (err) expect(isTransient(err), err.message).toBe(true);
    });

    it(`reads a window of ${WINDOW_ROWS} rows of one transaction ONCE, in pages of ${PAGE_ROWS} in (version, key) order, and drops its window table`, async () => {
      const [{ started }] = await query<{ started: Date }>(cx.db.url, 'SELECT SYSDATETIME() AS started');
      const v = await currentVersion(cx.source);
      await cx.db.exec(`INSERT INTO dbo.big (id, v) SELECT TOP (${WINDOW_ROWS}) ROW_NUMBER() OVER (ORDER BY (SELECT NULL)), N'row' FROM sys.all_columns AS a CROSS JOIN sys.all_columns AS b`);
      const windowTables = "SELECT COUNT(*) AS n FROM tempdb.sys.tables WHERE name LIKE '#ctrelay[_]window[_]%'";
      const all = await inPoll(cx.source, async (s) => {
        const ps = await pages(s, cx.m.big, v, PAGE_ROWS);
        // the window lives in tempdb while the poll is open
        expect((await query<{ n: number }>(cx.db.url, windowTables))[0].n).toBeGreaterThanOrEqual(1);
        expect(ps).toHaveLength(WINDOW_ROWS / PAGE_ROWS);
        for (const p of ps) expect(p.length).toBeLessThanOrEqual(PAGE_ROWS);
        return ps.flat();
      });
      expect(all).toHaveLength(WINDOW_ROWS);
      expect(new Set(all.map((r) => r.version)).size).toBe(1);
      expect(all.every((r, i) => r.op === 'I' && r.key.id === i + 1)).toBe(true);
      expect((await query<{ n: number }>(cx.db.url, windowTables))[0].n).toBe(0);
      // CHANGETABLE ran once for the poll, not once per page (when the plan cache shows it at all)
      const runs = await query<{ n: number | null }>(cx.db.url, `SELECT SUM(qs.execution_count) AS n FROM sys.dm_exec_query_stats AS qs
        CROSS APPLY sys.dm_exec_sql_text(qs.sql_handle) AS st
        WHERE st.text LIKE N'%CHANGETABLE(CHANGES \\[dbo\\].\\[big\\]%' ESCAPE N'\\' AND qs.creation_time >= '${started.toISOString().replace('Z', '')}'`);
      expect(runs[0].n ?? 0).toBeLessThanOrEqual(1);
    });

    it('the min valid version rising while a poll is open (TRUNCATE): the change read rejects transiently, never returns a partial set', async () => {
      await cx.db.exec('INSERT INTO dbo.shrinking (id, v) VALUES (1, 1), (2, 2)');
      const since = await currentVersion(cx.source);
      await cx.db.exec('INSERT INTO dbo.shrinking (id, v) VALUES (3, 3)');
      const err = await inPoll(cx.source, async (s) => {
        expect(await s.minValidVersion(cx.m.shrinking)).toBeLessThanOrEqual(since);
        await cx.db.truncate(cx.t.shrinking);
        return settle(s.changes(cx.m.shrinking, since, null, 1000));
      });
      expect(err, 'the read must not succeed').not.toBeNull();
      expect(isTransient(err), err!.message).toBe(true);
      expect(err!.message).toContain('dbo.shrinking');
      // the next poll sees the cursor below the min valid version: capture re-snapshots
      expect((await pollTable(cx.source, cx.m.shrinking, since)).minValid).toBeGreaterThan(since);
    });
  });
}
