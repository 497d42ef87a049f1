// The SQL Server poll session (poll-session.ts) against a FAKE server: `run` answers each statement
// the way SQL Server would answer its shape (sql.ts, window-sql.ts), from a scripted state. It
// proves the logic around the statements: the snapshot is pinned at the version or the poll begins
// again, a window is read once and paged by row number, a min valid version that rose during the
// poll rejects the read, window tables are dropped at the end. Whether SQL Server behaves as the
// fake assumes is for the conformance suite (test/conformance/sqlserver/).
import { describe, expect, it } from 'vitest';
import { hasSourceIdentity } from '../../core/change-source.ts';
import { isTransient, SourceError, SourceUnavailableError } from '../../core/errors.ts';
import type { Statement } from '../../drivers/sqlserver/params.ts';
import { orders } from './fixtures.test-util.ts';
import { openPoll, PIN_ATTEMPTS, type PollContext } from './poll-session.ts';
import type { TrackingInfo } from './rows.ts';

type Rec = Record<string, unknown>;

interface FakeState {
  /** answers of the begin batch, in order: [version_before, current_version] */
  begins: [number, number][];
  /** CHANGE_TRACKING_CURRENT_VERSION() when a late pin reads it */
  versionAtLatePin?: number;
  minValid: number | null;
  /** min valid version after the window read (default: minValid) */
  minValidAfterRead?: number | null;
  /** the window's rows in (version, key) order */
  window: { v: number; id: number; op?: string }[];
}

const info: TrackingInfo = { columnIds: null, computed: new Set(), keyCollations: new Map() };

/** FAKE: a SQL Server that answers each statement shape of the poll, and records what it was sent. */
function fakeServer(state: FakeState, snapshot = true) {
  const sent: { sql: string; params: Statement['params']; table?: string }[] = [];
  const finished: { commit: boolean; tempTables: string[] }[] = [];
  const page = (params: Statement['params']): Rec[] => {
    const limit = Number(params.limit.value);
    const rows = state.window.map((r, i) => ({ ...r, rn: i + 1 }));
    const after = params.after_rn
      ? rows.filter((r) => BigInt(r.rn) > (params.after_rn.value as bigint))
      : rows.filter((r) => BigInt(r.v) > (params.after_version.value as bigint) || (BigInt(r.v) === params.after_version.value && r.id > Number(params.after_k0.value)));
    return after.slice(0, limit).map((r) => ({
      ct_rn: String(r.rn), ct_version: String(r.v), ct_operation: r.op ?? 'U', ct_columns: null, ct_commit_time: null,
      k0: r.id, row_found: true, c0: r.id, c1: '1.00', c2: `n${r.id}`,
    }));
  };
  const ctx: PollContext = {
    label: 'db1:1433/shop',
    snapshot,
    commitTime: 'off',
    async run(st, _doing, table) {
      sent.push({ sql: st.sql, params: st.params, table });
      if (st.sql.startsWith('DECLARE @source_identity')) {
        // the last answer repeats once the script runs out
        const [before, current] = state.begins.length > 1 ? state.begins.shift()! : state.begins[0];
        return [{ version_before: String(before), current_version: String(current), source_identity: 'sqlserver:DB/FORK' }];
      }
      if (st.sql.includes('SELECT CHANGE_TRACKING_CURRENT_VERSION() AS current_version')) return [{ current_version: String(state.versionAtLatePin) }];
      if (st.sql.includes('AS min_valid_version')) return [{ min_valid_version: state.minValid === null ? null : String(state.minValid) }];
      if (st.sql.includes('CREATE TABLE #ctrelay_window_')) return [];
      if (st.sql.includes('INSERT INTO #ctrelay_window_')) {
        const after = state.minValidAfterRead === undefined ? state.minValid : state.minValidAfterRead;
        return [{ window_rows: String(state.window.length), min_valid_before: state.minValid === null ? null : String(state.minValid), min_valid_after: after === null ? null : String(after) }];
      }
      if (st.sql.includes('FROM #ctrelay_window_')) return page(st.params);
      if (st.sql.startsWith('IF @@TRANCOUNT > 0')) return [];
      if (st.sql.includes('SELECT TOP (@limit)')) return [];
      throw new Error(`the fake does not know this statement: ${st.sql.slice(0, 80)}`);
    },
    trackingInfo: async () => info,
    async finish(commit, tempTables) {
      finished.push({ commit, tempTables: [...tempTables] });
    },
  };
  const count = (needle: string) => sent.filter((s) => s.sql.includes(needle)).length;
  return { ctx, sent, finished, count };
}

const window = (n: number, v = 7) => Array.from({ length: n }, (_, i) => ({ v, id: i + 1 }));

describe('beginning a poll: the snapshot is the database at its version', () => {
  it('pins the snapshot with a read of the given table and takes the version read before and after it', async () => {
    const f = fakeServer({ begins: [[5, 5]], minValid: 0, window: [] });
    const s = await openPoll(f.ctx, orders);
    expect(s.currentVersion).toBe(5n);
    expect(f.sent).toHaveLength(1);
    expect(f.sent[0].sql).toContain('SELECT TOP (1) @pinned = 1 FROM [dbo].[orders];');
    expect(f.sent[0].table).toBe('dbo.orders');
  });

  it('rolls back and begins again when a transaction committed between the version and the pin', async () => {
    const f = fakeServer({ begins: [[4, 5], [5, 6], [6, 6]], minValid: 0, window: [] });
    const s = await openPoll(f.ctx, orders);
    expect(s.currentVersion).toBe(6n);
    expect(f.sent.map((x) => (x.sql.startsWith('DECLARE') ? 'begin' : x.sql.startsWith('IF @@TRANCOUNT > 0 ROLLBACK') ? 'rollback' : '?'))).toEqual([
      'begin', 'rollback', 'begin', 'rollback', 'begin',
    ]);
  });

  it(`gives up after ${PIN_ATTEMPTS} attempts with a transient error naming the table`, async () => {
    const f = fakeServer({ begins: [[4, 5]], minValid: 0, window: [] });
    const err = await openPoll(f.ctx, orders).then(() => null, (e: unknown) => e as Error);
    expect(err).toBeInstanceOf(SourceUnavailableError);
    expect(isTransient(err)).toBe(true);
    expect(err!.message).toMatch(/db1:1433\/shop: beginning a poll: the change tracking version moved .*\(4 -> 5, reading dbo\.orders\) in 5 attempts/);
    expect(f.count('ROLLBACK')).toBe(PIN_ATTEMPTS);
  });

  it('without snapshot isolation there is nothing to pin: no retry', async () => {
    const f = fakeServer({ begins: [[4, 5]], minValid: 0, window: [] }, false);
    expect((await openPoll(f.ctx, orders)).currentVersion).toBe(5n);
    expect(f.sent[0].sql).not.toContain('@pinned');
    await (await openPoll(f.ctx, orders)).snapshotChunk(orders, null, 10);
    expect(f.count('@pinned')).toBe(0);
  });

  it('without a table to pin with, the first table read pins, once, and fails transiently when the version moved', async () => {
    const ok = fakeServer({ begins: [[5, 5]], minValid: 0, window: [], versionAtLatePin: 5 });
    const s = await openPoll(ok.ctx, null);
    expect(ok.sent[0].sql).not.toContain('@pinned');
    await s.snapshotChunk(orders, null, 10);
    await s.minValidVersion(orders);
    expect(ok.count('SELECT TOP (1) @pinned = 1 FROM [dbo].[orders];')).toBe(1);

    const moved = fakeServer({ begins: [[5, 5]], minValid: 0, window: [], versionAtLatePin: 6 });
    const err = await (await openPoll(moved.ctx, null)).minValidVersion(orders).then(() => null, (e: unknown) => e as Error);
    expect(err).toBeInstanceOf(SourceUnavailableError);
    expect(err!.message).toMatch(/reading dbo\.orders: the change tracking version moved from 5 to 6 before the poll's snapshot started/);
  });

  it('exposes the identity of the version space it read', async () => {
    const s = await openPoll(fakeServer({ begins: [[5, 5]], minValid: 0, window: [] }).ctx, orders);
    expect(hasSourceIdentity(s) && s.sourceIdentity).toBe('sqlserver:DB/FORK');
  });
});

describe('changes: the window is read once, then paged by row number', () => {
  it('creates and fills ONE window table for a table and since-version, and pages it by the row number the last page ended at', async () => {
    const f = fakeServer({ begins: [[9, 9]], minValid: 0, window: window(5) });
    const s = await openPoll(f.ctx, orders);
    const p1 = await s.changes(orders, 3n, null, 2);
    const p2 = await s.changes(orders, 3n, { version: p1[1].version, key: p1[1].key }, 2);
    const p3 = await s.changes(orders, 3n, { version: p2[1].version, key: p2[1].key }, 2);
    expect([...p1, ...p2, ...p3].map((r) => r.key.id)).toEqual([1, 2, 3, 4, 5]);
    expect(f.count('CREATE TABLE #ctrelay_window_0')).toBe(1);
    expect(f.count('CHANGETABLE(')).toBe(1);
    const pages = f.sent.filter((x) => x.sql.includes('FROM #ctrelay_window_0'));
    expect(pages.map((x) => x.params.after_rn?.value)).toEqual([0n, 2n, 4n]);
    expect(f.sent.find((x) => x.sql.includes('INSERT INTO'))!.params).toMatchObject({ since: { value: 3n }, until: { value: 9n } });
  });

  it('any other position is compared by (version, key) in the same window; another since-version reads a new window', async () => {
    const f = fakeServer({ begins: [[9, 9]], minValid: 0, window: window(5) });
    const s = await openPoll(f.ctx, orders);
    await s.changes(orders, 3n, null, 2);
    expect((await s.changes(orders, 3n, { version: 7n, key: { id: 3 } }, 10)).map((r) => r.key.id)).toEqual([4, 5]);
    expect(f.sent.at(-1)!.params).toMatchObject({ after_version: { value: 7n }, after_k0: { value: 3 } });
    expect(f.count('INSERT INTO')).toBe(1);
    await s.changes(orders, 4n, null, 10);
    expect(f.count('CREATE TABLE #ctrelay_window_1')).toBe(1);
    await s.end();
    expect(f.finished).toEqual([{ commit: true, tempTables: ['#ctrelay_window_0', '#ctrelay_window_1'] }]);
  });

  it('rejects, transiently and naming the table, when the min valid version rose past since during the poll', async () => {
    const state: FakeState = { begins: [[9, 9]], minValid: 3, minValidAfterRead: 6, window: window(2) };
    const f = fakeServer(state);
    const s = await openPoll(f.ctx, orders);
    expect(await s.minValidVersion(orders)).toBe(3n);
    const err = await s.changes(orders, 4n, null, 10).then(() => null, (e: unknown) => e as Error);
    expect(err).toBeInstanceOf(SourceUnavailableError);
    expect(err!.message).toMatch(/changes of dbo\.orders since version 4 were cleaned up while the poll read them \(min valid version rose from 3 to 6\)/);
    // the window table made for the failed read is dropped all the same
    await s.end();
    expect(f.finished[0].tempTables).toEqual(['#ctrelay_window_0']);
  });

  it('also when the rise happened during the read itself (no min valid version read before)', async () => {
    const f = fakeServer({ begins: [[9, 9]], minValid: 3, minValidAfterRead: 6, window: window(2) });
    const err = await (await openPoll(f.ctx, orders)).changes(orders, 5n, null, 10).then(() => null, (e: unknown) => e as Error);
    expect(isTransient(err)).toBe(true);
  });

  it('a cursor the session already knew to be below the min valid version reads what is left (the caller chose to)', async () => {
    const f = fakeServer({ begins: [[9, 9]], minValid: 3, minValidAfterRead: 6, window: window(2) });
    const s = await openPoll(f.ctx, orders);
    await s.minValidVersion(orders);
    expect(await s.changes(orders, 1n, null, 10)).toHaveLength(2);
  });

  it('a NULL min valid version after the read is tracking switched off: permanent, naming the table and the way out', async () => {
    const f = fakeServer({ begins: [[9, 9]], minValid: 3, minValidAfterRead: null, window: window(2) });
    const err = await (await openPoll(f.ctx, orders)).changes(orders, 5n, null, 10).then(() => null, (e: unknown) => e as Error);
    expect(err).toBeInstanceOf(SourceError);
    expect(isTransient(err)).toBe(false);
    expect(err!.message).toMatch(/NULL for dbo\.orders .*ctrelay ct enable dbo\.orders/);
  });

  it('an ended session refuses further reads', async () => {
    const s = await openPoll(fakeServer({ begins: [[9, 9]], minValid: 0, window: [] }).ctx, orders);
    await s.end();
    await expect(s.changes(orders, 1n, null, 1)).rejects.toThrow(/ended/);
  });
});
