import { describe, expect, it } from 'vitest';
import {
  ABORT_POLL_SQL,
  afterPredicate,
  beginPollSql,
  changesStatement,
  END_POLL_SQL,
  MIN_VALID_VERSION_SQL,
  objectName,
  snapshotChunkStatement,
  TRANSACTION_GUARD_SQL,
} from './sql.ts';
import { lines, orders } from './fixtures.test-util.ts';

const GUARD = "IF @@TRANCOUNT = 0 THROW 51000, N'ctrelay: the poll transaction is gone (connection reset); the poll must be retried', 1;";

describe('poll transaction statements', () => {
  it('begins a snapshot transaction and reads V in the same batch', () => {
    expect(beginPollSql(true)).toBe('SET TRANSACTION ISOLATION LEVEL SNAPSHOT;\nBEGIN TRANSACTION;\nSELECT CHANGE_TRACKING_CURRENT_VERSION() AS current_version;');
  });
  it('falls back to READ COMMITTED only when asked', () => {
    expect(beginPollSql(false)).toBe('SET TRANSACTION ISOLATION LEVEL READ COMMITTED;\nBEGIN TRANSACTION;\nSELECT CHANGE_TRACKING_CURRENT_VERSION() AS current_version;');
  });
  it('commits and resets the pooled connection to READ COMMITTED', () => {
    expect(END_POLL_SQL).toBe('IF @@TRANCOUNT > 0 COMMIT TRANSACTION;\nSET TRANSACTION ISOLATION LEVEL READ COMMITTED;');
    expect(ABORT_POLL_SQL).toBe('IF @@TRANCOUNT > 0 ROLLBACK TRANSACTION;\nSET TRANSACTION ISOLATION LEVEL READ COMMITTED;');
  });
  it('guards reads against a lost transaction', () => {
    expect(TRANSACTION_GUARD_SQL).toBe(GUARD);
    expect(MIN_VALID_VERSION_SQL).toBe(`${GUARD}\nSELECT CHANGE_TRACKING_MIN_VALID_VERSION(OBJECT_ID(@qualifiedName, N'U')) AS min_valid_version;`);
  });
  it('passes the table as a quoted two-part name', () => {
    expect(objectName({ schema: 'dbo', table: 'orders' })).toBe('[dbo].[orders]');
    expect(objectName(lines)).toBe('[sales data].[order]]lines]');
  });
});

describe('afterPredicate', () => {
  it('1 column', () => {
    expect(afterPredicate(['t.[a]'], ['@p0'])).toBe('(t.[a] > @p0)');
  });
  it('2 columns', () => {
    expect(afterPredicate(['t.[a]', 't.[b]'], ['@p0', '@p1'])).toBe('(t.[a] > @p0 OR (t.[a] = @p0 AND t.[b] > @p1))');
  });
  it('3 columns', () => {
    expect(afterPredicate(['a', 'b', 'c'], ['@0', '@1', '@2'])).toBe('(a > @0 OR (a = @0 AND (b > @1 OR (b = @1 AND c > @2))))');
  });
  it('rejects mismatched lists', () => {
    expect(() => afterPredicate(['a', 'b'], ['@0'])).toThrow();
    expect(() => afterPredicate([], [])).toThrow();
  });
});

describe('changesStatement', () => {
  it('first page, column tracking on (golden)', () => {
    const st = changesStatement(orders, {
      since: 5n,
      until: 9n,
      after: null,
      limit: 1000,
      columnIds: new Map([
        ['amount', 2],
        ['note', 3],
      ]),
      commitTime: 'utc',
    });
    expect(st.sql).toBe(`${GUARD}
SELECT TOP (@limit) ct.SYS_CHANGE_VERSION AS [ct_version],
  ct.SYS_CHANGE_OPERATION AS [ct_operation],
  ct.SYS_CHANGE_COLUMNS AS [ct_columns],
  CONVERT(varchar(23), tc.commit_time, 121) AS [ct_commit_time],
  ct.[id] AS [k0],
  CAST(CASE WHEN t.[id] IS NULL THEN 0 ELSE 1 END AS bit) AS [row_found],
  t.[id] AS [c0],
  CONVERT(varchar(50), t.[amount]) AS [c1],
  t.[note] AS [c2],
  CHANGE_TRACKING_IS_COLUMN_IN_MASK(@cid1, ct.SYS_CHANGE_COLUMNS) AS [m1],
  CHANGE_TRACKING_IS_COLUMN_IN_MASK(@cid2, ct.SYS_CHANGE_COLUMNS) AS [m2]
FROM CHANGETABLE(CHANGES [dbo].[orders], @since) AS ct
LEFT JOIN [dbo].[orders] AS t ON t.[id] = ct.[id]
LEFT JOIN sys.dm_tran_commit_table AS tc ON tc.commit_ts = ct.SYS_CHANGE_VERSION
WHERE ct.SYS_CHANGE_VERSION <= @until
ORDER BY ct.SYS_CHANGE_VERSION, ct.[id];`);
    expect(st.params).toEqual({
      limit: { sqlType: 'int', value: 1000 },
      since: { sqlType: 'bigint', value: 5n },
      until: { sqlType: 'bigint', value: 9n },
      cid1: { sqlType: 'int', value: 2 },
      cid2: { sqlType: 'int', value: 3 },
    });
  });

  it('next page after (version, key), no column tracking, commit time off (golden)', () => {
    const st = changesStatement(orders, { since: 5n, until: 9n, after: { version: 7n, key: { id: 3 } }, limit: 10, columnIds: null, commitTime: 'off' });
    expect(st.sql).toBe(`${GUARD}
SELECT TOP (@limit) ct.SYS_CHANGE_VERSION AS [ct_version],
  ct.SYS_CHANGE_OPERATION AS [ct_operation],
  ct.SYS_CHANGE_COLUMNS AS [ct_columns],
  CAST(NULL AS varchar(23)) AS [ct_commit_time],
  ct.[id] AS [k0],
  CAST(CASE WHEN t.[id] IS NULL THEN 0 ELSE 1 END AS bit) AS [row_found],
  t.[id] AS [c0],
  CONVERT(varchar(50), t.[amount]) AS [c1],
  t.[note] AS [c2]
FROM CHANGETABLE(CHANGES [dbo].[orders], @since) AS ct
LEFT JOIN [dbo].[orders] AS t ON t.[id] = ct.[id]
WHERE ct.SYS_CHANGE_VERSION <= @until AND (ct.SYS_CHANGE_VERSION > @after_version OR (ct.SYS_CHANGE_VERSION = @after_version AND ct.[id] > CAST(@after_k0 AS int)))
ORDER BY ct.SYS_CHANGE_VERSION, ct.[id];`);
    expect(st.params.after_version).toEqual({ sqlType: 'bigint', value: 7n });
    expect(st.params.after_k0).toEqual({ sqlType: 'int', value: 3 });
  });

  it('composite key with hostile names, server-local commit time (golden)', () => {
    const st = changesStatement(lines, {
      since: 0n,
      until: 42n,
      after: { version: 40n, key: { tenant: '0b9e1b4c-5a53-4d9e-9a4e-2f3c4d5e6f70', day: '2024-02-29', 'line no': 7 } },
      limit: 500,
      columnIds: new Map([
        ['at', 4],
        ['price', 5],
      ]),
      commitTime: 'server-local',
    });
    expect(st.sql).toBe(`${GUARD}
SELECT TOP (@limit) ct.SYS_CHANGE_VERSION AS [ct_version],
  ct.SYS_CHANGE_OPERATION AS [ct_operation],
  ct.SYS_CHANGE_COLUMNS AS [ct_columns],
  CONVERT(varchar(23), DATEADD(minute, -DATEPART(TZOFFSET, SYSDATETIMEOFFSET()), tc.commit_time), 121) AS [ct_commit_time],
  ct.[tenant] AS [k0],
  CONVERT(varchar(10), ct.[day], 23) AS [k1],
  ct.[line no] AS [k2],
  CAST(CASE WHEN t.[tenant] IS NULL THEN 0 ELSE 1 END AS bit) AS [row_found],
  t.[line no] AS [c0],
  t.[tenant] AS [c1],
  CONVERT(varchar(10), t.[day], 23) AS [c2],
  CONVERT(varchar(40), t.[at], 121) AS [c3],
  CONVERT(varchar(50), CONVERT(decimal(19,4), t.[price])) AS [c4],
  CHANGE_TRACKING_IS_COLUMN_IN_MASK(@cid3, ct.SYS_CHANGE_COLUMNS) AS [m3],
  CHANGE_TRACKING_IS_COLUMN_IN_MASK(@cid4, ct.SYS_CHANGE_COLUMNS) AS [m4]
FROM CHANGETABLE(CHANGES [sales data].[order]]lines], @since) AS ct
LEFT JOIN [sales data].[order]]lines] AS t ON t.[tenant] = ct.[tenant] AND t.[day] = ct.[day] AND t.[line no] = ct.[line no]
LEFT JOIN sys.dm_tran_commit_table AS tc ON tc.commit_ts = ct.SYS_CHANGE_VERSION
WHERE ct.SYS_CHANGE_VERSION <= @until AND (ct.SYS_CHANGE_VERSION > @after_version OR (ct.SYS_CHANGE_VERSION = @after_version AND (ct.[tenant] > CAST(@after_k0 AS uniqueidentifier) OR (ct.[tenant] = CAST(@after_k0 AS uniqueidentifier) AND (ct.[day] > CAST(@after_k1 AS date) OR (ct.[day] = CAST(@after_k1 AS date) AND ct.[line no] > CAST(@after_k2 AS smallint)))))))
ORDER BY ct.SYS_CHANGE_VERSION, ct.[tenant], ct.[day], ct.[line no];`);
    expect(st.params).toMatchObject({
      after_k0: { sqlType: 'nvarchar', value: '0b9e1b4c-5a53-4d9e-9a4e-2f3c4d5e6f70' },
      after_k1: { sqlType: 'nvarchar', value: '2024-02-29' },
      after_k2: { sqlType: 'int', value: 7 },
      cid3: { sqlType: 'int', value: 4 },
      cid4: { sqlType: 'int', value: 5 },
    });
  });

  it('never interpolates a value: hostile key values stay in parameters', () => {
    const t = { ...orders, key: ['note'], columns: orders.columns };
    const st = changesStatement(t, { since: 1n, until: 2n, after: { version: 1n, key: { note: "x'; DROP TABLE y; --" } }, limit: 1, columnIds: null, commitTime: 'utc' });
    expect(st.sql).not.toContain('DROP');
    expect(st.params.after_k0).toEqual({ sqlType: 'nvarchar', value: "x'; DROP TABLE y; --" });
    expect(st.sql).toContain('CAST(@after_k0 AS nvarchar(100))');
  });

  it('rejects a paging position that lacks a key column', () => {
    expect(() => changesStatement(lines, { since: 1n, until: 2n, after: { version: 1n, key: { tenant: 'x' } }, limit: 1, columnIds: null, commitTime: 'utc' })).toThrow(/day/);
  });
});

describe('snapshotChunkStatement', () => {
  it('first chunk (golden)', () => {
    const st = snapshotChunkStatement(orders, null, 5000);
    expect(st.sql).toBe(`${GUARD}
SELECT TOP (@limit) t.[id] AS [c0],
  CONVERT(varchar(50), t.[amount]) AS [c1],
  t.[note] AS [c2]
FROM [dbo].[orders] AS t
ORDER BY t.[id];`);
    expect(st.params).toEqual({ limit: { sqlType: 'int', value: 5000 } });
  });

  it('next chunk, composite key (golden)', () => {
    const st = snapshotChunkStatement(lines, { tenant: '0b9e1b4c-5a53-4d9e-9a4e-2f3c4d5e6f70', day: '2024-02-29', 'line no': 7 }, 100, false);
    expect(st.sql).toBe(`SELECT TOP (@limit) t.[line no] AS [c0],
  t.[tenant] AS [c1],
  CONVERT(varchar(10), t.[day], 23) AS [c2],
  CONVERT(varchar(40), t.[at], 121) AS [c3],
  CONVERT(varchar(50), CONVERT(decimal(19,4), t.[price])) AS [c4]
FROM [sales data].[order]]lines] AS t
WHERE (t.[tenant] > CAST(@after_k0 AS uniqueidentifier) OR (t.[tenant] = CAST(@after_k0 AS uniqueidentifier) AND (t.[day] > CAST(@after_k1 AS date) OR (t.[day] = CAST(@after_k1 AS date) AND t.[line no] > CAST(@after_k2 AS smallint)))))
ORDER BY t.[tenant], t.[day], t.[line no];`);
  });
});
