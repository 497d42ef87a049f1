// The SQL Server standby's failover statements (sqlserver-promotion.ts) on their text and against a
// FAKE server (no SQL Server runs here): row-level-security protection, promotion, the state write
// that refuses a promoted standby, and the identity / sequence moves of advanceSequences.
import { describe, expect, it } from 'vitest';
import type { Statement } from '../../drivers/sqlserver/params.ts';
import { PromotedError, ProtectRefusedError } from '../promotion.ts';
import { fakeDialect, fakeTransaction } from './fake-server.test-util.ts';
import * as P from './sqlserver-promotion.ts';

const hostile = { schema: 'we]ird', table: "it's" };

/** A dialect whose pool is a stand-in and whose statements `answer` answers; `sent` records them. */
function fakeConnected(answer: (st: Statement) => Record<string, unknown>[]) {
  const d = fakeDialect();
  const sent: Statement[] = [];
  (d as unknown as { pool: object }).pool = {};
  d.execute = async (_runner, st) => {
    sent.push(st);
    return answer(st);
  };
  return { d, sent };
}

describe('statements', () => {
  const all: Record<string, Statement> = {
    ensurePromotedColumn: P.ensurePromotedColumnStatement('ops]x'),
    markPromoted: P.markPromotedStatement('ops]x', 'src'),
    readPromotion: P.readPromotionStatement('ops]x', 'src'),
    applierSession: P.applierSessionStatement(),
    predicateFunction: P.predicateFunctionStatement('ops]x'),
    userTables: P.userTablesStatement('ops]x'),
    protectTable: P.protectTableStatement('ops]x', "[we]]ird].[it's]"),
    policyOn: P.policyStateStatement('ops]x', true),
    policyOff: P.policyStateStatement('ops]x', false),
    isProtected: P.isProtectedStatement('ops]x'),
    counters: P.countersStatement(hostile),
    columnMax: P.columnMaxStatement(hostile, 'i]d'),
  };

  it.each(Object.entries(all))('%s: every @parameter used is bound, every bound one is used', (_, st) => {
    const used = new Set([...st.sql.matchAll(/@([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1]));
    // DECLAREd variables, the function's own parameter, sp_set_session_context's named arguments
    for (const local of ['ddl', 'pred', 'adds', 'marker', 'key', 'value', 'read_only']) used.delete(local);
    expect([...used].sort()).toEqual(Object.keys(st.params).sort());
  });

  it('names travel as parameters or quoted; DDL is assembled server-side', () => {
    expect(all.protectTable.params.qualifiedName).toEqual({ sqlType: 'nvarchar', value: "[we]]ird].[it's]" });
    expect(all.protectTable.params.policy).toEqual({ sqlType: 'nvarchar', value: '[ops]]x].[ctrelay_protect]' });
    expect(all.columnMax.sql).toBe("SELECT CONVERT(nvarchar(40), MAX([i]]d])) AS m FROM [we]]ird].[it's];");
    expect(all.ensurePromotedColumn.sql).toContain('COL_LENGTH(@qualifiedName, N\'promoted_at\') IS NULL\n  ALTER TABLE [ops]]x].[ctrelay_state] ADD promoted_at datetime2(3) NULL;');
  });

  it('the predicate lets only a session marked as the applier write, on all four block operations', () => {
    expect(all.predicateFunction.sql).toContain(
      "RETURNS TABLE WITH SCHEMABINDING AS RETURN SELECT 1 AS ok WHERE CAST(SESSION_CONTEXT(N''ctrelay_applier'') AS int) = @marker",
    );
    expect(all.applierSession.sql).toBe(
      "IF SESSION_CONTEXT(N'ctrelay_applier') IS NULL EXEC sys.sp_set_session_context @key = N'ctrelay_applier', @value = 1, @read_only = 1;",
    );
    const sqlText = all.protectTable.sql;
    for (const op of ['AFTER INSERT', 'AFTER UPDATE', 'BEFORE UPDATE', 'BEFORE DELETE']) expect(sqlText).toContain(`N'ADD BLOCK PREDICATE ' + @pred + N' ${op}'`);
    expect(sqlText).toContain("DECLARE @pred nvarchar(max) = @fn + N'(1) ON ' + @qualifiedName;");
    expect(sqlText).toContain("THEN N'CREATE SECURITY POLICY ' + @policy + N' ' + @adds + N' WITH (STATE = ON, SCHEMABINDING = ON)'");
    expect(sqlText).toContain("ELSE N'ALTER SECURITY POLICY ' + @policy + N' ' + @adds END;");
    // nothing when protect() never ran (no function), or the table has its predicates already
    expect(sqlText).toMatch(/^IF OBJECT_ID\(@fn, N'IF'\) IS NOT NULL AND OBJECT_ID\(@qualifiedName, N'U'\) IS NOT NULL AND NOT EXISTS \(/);
  });

  it('unprotect turns the policy off, or drops the function when no table was protected yet', () => {
    expect(all.policyOff.sql).toContain("WHEN OBJECT_ID(@policy, N'SP') IS NOT NULL THEN N'ALTER SECURITY POLICY ' + @policy + N' WITH (STATE = OFF)'");
    expect(all.policyOff.sql).toContain("WHEN OBJECT_ID(@fn, N'IF') IS NOT NULL THEN N'DROP FUNCTION ' + @fn END;");
    expect(all.policyOn.sql).toContain("N'ALTER SECURITY POLICY ' + @policy + N' WITH (STATE = ON)'");
  });

  it('markPromoted is one UPDATE holding the row, keeping the first promotion', () => {
    expect(all.markPromoted.sql).toBe(
      'UPDATE [ops]]x].[ctrelay_state] WITH (UPDLOCK, HOLDLOCK) SET promoted_at = COALESCE(promoted_at, SYSUTCDATETIME())\n' +
        'OUTPUT inserted.promoted_at, inserted.version, inserted.batch_seq\nWHERE source_id = @sourceId;',
    );
  });
});

describe('counterPlan (advanceSequences)', () => {
  const t = { schema: 'dbo', table: 'orders' };
  const identity = (last: string | null): P.CounterRow => ({ column_name: 'id', kind: 'identity', object_name: '[dbo].[orders]', last_value: last, increment: '1', seed: '1' });
  const sequence = (last: string | null): P.CounterRow => ({ column_name: 'no', kind: 'sequence', object_name: '[dbo].[order_no]', last_value: last, increment: '1', seed: '1' });

  it('reseeds an identity that had rows to next - increment, a never-used one to next itself', () => {
    const used = P.counterPlan(t, [identity('1000')], new Map([['id', 1000n]]), new Map([['dbo.orders.id', 1500n]]));
    expect(used.statements).toEqual([{ sql: 'DBCC CHECKIDENT (@qualifiedName, RESEED, @reseed) WITH NO_INFOMSGS;', params: { qualifiedName: { sqlType: 'nvarchar', value: '[dbo].[orders]' }, reseed: { sqlType: 'bigint', value: 1500n } } }]);
    expect(used.advances).toEqual([{ table: 'dbo.orders', column: 'id', sequence: 'IDENTITY of [dbo].[orders]', before: 1001n, next: 1501n }]);
    const fresh = P.counterPlan(t, [identity(null)], new Map([['id', null]]), new Map([['dbo.orders.id', 1500n]]));
    expect(fresh.statements[0].params.reseed).toEqual({ sqlType: 'bigint', value: 1501n });
  });

  it('restarts a sequence at the next value, past the column when it is higher than the floor', () => {
    const plan = P.counterPlan(t, [sequence('10')], new Map([['no', 2000n]]), new Map([['dbo.orders.no', 1500n]]));
    expect(plan.statements[0].sql).toContain("N'ALTER SEQUENCE ' + @sequence + N' RESTART WITH ' + CONVERT(nvarchar(40), @next)");
    expect(plan.statements[0].params).toEqual({ sequence: { sqlType: 'nvarchar', value: '[dbo].[order_no]' }, next: { sqlType: 'bigint', value: 2001n } });
    expect(plan.advances[0]).toMatchObject({ before: 11n, next: 2001n });
  });

  it('never moves a counter backwards, and leaves descending ones alone', () => {
    expect(P.counterPlan(t, [identity('5000')], new Map([['id', 1000n]]), new Map([['dbo.orders.id', 1500n]]))).toEqual({ statements: [], advances: [] });
    expect(P.counterPlan(t, [{ ...sequence('-5'), increment: '-1' }], new Map([['no', 1n]]), new Map())).toEqual({ statements: [], advances: [] });
  });
});

describe('SQL Server dialect failover (fake server)', () => {
  it('protect(): schema, function, each user table, then the policy on', async () => {
    const { d, sent } = fakeConnected((st) => (st.sql.includes('FROM sys.tables') ? [{ name: '[dbo].[a]' }, { name: '[sales].[b]' }] : []));
    await d.protect();
    expect(sent.map((s) => s.sql.split('\n')[0].slice(0, 40))).toEqual([
      'IF SCHEMA_ID(@schema) IS NULL',
      "IF OBJECT_ID(@fn, N'IF') IS NULL",
      "SELECT QUOTENAME(s.name) + N'.' + QUOTEN",
      "IF OBJECT_ID(@fn, N'IF') IS NOT NULL AND",
      "IF OBJECT_ID(@fn, N'IF') IS NOT NULL AND",
      "IF OBJECT_ID(@policy, N'SP') IS NOT NULL",
    ]);
    expect(sent[3].params.qualifiedName.value).toBe('[dbo].[a]');
    expect(sent[4].params.qualifiedName.value).toBe('[sales].[b]');
  });

  it('a login without the permissions is a ProtectRefusedError naming them and standby.protect: false', async () => {
    const denied = Object.assign(new Error('CREATE FUNCTION permission denied in database \'standby\'.'), { number: 262 });
    const { d } = fakeConnected((st) => {
      if (st.sql.includes('CREATE FUNCTION')) throw denied;
      return [];
    });
    const err = await d.protect().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProtectRefusedError);
    expect(String(err)).toMatch(/CREATE FUNCTION and ALTER ANY SECURITY POLICY .*standby\.protect: false.*permission denied/);
  });

  it('markPromoted returns the row the UPDATE output; no row is a StandbyError naming the source', async () => {
    const at = new Date('2025-01-02T03:04:05.678Z');
    const { d } = fakeConnected((st) => (st.sql.startsWith('UPDATE') ? [{ promoted_at: at, version: '42', batch_seq: '7' }] : []));
    expect(await d.markPromoted('src')).toEqual({ at, version: 42n, batchSeq: 7n });
    const none = fakeConnected(() => []);
    await expect(none.d.markPromoted('src')).rejects.toThrow(/holds no ctrelay_state row for source src/);
  });

  it('writeState on a promoted standby is a PromotedError and the transaction rolls back', async () => {
    const at = new Date('2025-01-02T03:04:05.678Z');
    const { tx, fake } = fakeTransaction(() => [{ rows_written: 0, promoted_at: at, promoted_version: '42', promoted_seq: '7' }]);
    const err = await tx.writeState({ sourceId: 'src', batchSeq: 8n, version: 50n, batchOffset: 8n }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PromotedError);
    expect(String(err)).toContain('was promoted at 2025-01-02T03:04:05.678Z (ctrelay promote; source src at version 42)');
    await expect(tx.commit()).rejects.toThrow(/rolled back/);
    expect(fake.ended).toEqual(['ROLLBACK']);
  });

  it('advanceSequences reads each counter and the column, and sends the moves', async () => {
    const { d, sent } = fakeConnected((st) => {
      if (st.sql.includes('sys.identity_columns')) return [{ column_name: 'id', kind: 'identity', object_name: '[dbo].[orders]', last_value: '1000', increment: '1', seed: '1' }];
      if (st.sql.includes('MAX(')) return [{ m: '1000' }];
      return [];
    });
    const moved = await d.advanceSequences([{ schema: 'dbo', table: 'orders' }], new Map([['dbo.orders.id', 1500n]]));
    expect(moved).toEqual([{ table: 'dbo.orders', column: 'id', sequence: 'IDENTITY of [dbo].[orders]', before: 1001n, next: 1501n }]);
    expect(sent[sent.length - 1].sql).toContain('DBCC CHECKIDENT');
  });
});
