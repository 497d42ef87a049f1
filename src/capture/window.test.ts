// Window planning and paging over an in-memory PollSession: a fake of ctrelay's own port (the real
// sources run the change-source conformance suite against real databases). It answers like change
// tracking does: net changes since a version ordered by (version, key), key-ordered snapshot
// chunks, a current and a min valid version.
import { describe, expect, it } from 'vitest';
import type { ChangePosition, ChangeRow, PollSession } from '../core/change-source.ts';
import type { Row, TableMeta } from '../core/model.ts';
import type { ColumnMeta, ColumnType } from '../core/model.ts';
import {
  definitionChange, emptyState, isLosslessWidening, isNoop, maxRowBytes, parseTypeText, ReadSizer, readWindow, rowBytes, tableDefinition, typeText,
  type CaptureState, type Page, type WindowOptions,
} from './window.ts';

const T: TableMeta = { schema: 's', table: 't', key: ['id'], columns: [{ name: 'id', type: { kind: 'int32' }, nullable: false, sourceType: 'int' }, { name: 'v', type: { kind: 'string' }, nullable: true, sourceType: 'text' }] };
const U: TableMeta = { ...T, table: 'u' };

class MemorySession implements PollSession {
  calls: { table: string; since: bigint; after: ChangePosition | null }[] = [];
  /** the limit of every changes() and snapshotChunk() call, in order */
  asked: number[] = [];
  constructor(
    readonly currentVersion: bigint,
    private readonly rows: Map<string, Row[]>,
    private readonly log: Map<string, ChangeRow[]> = new Map(),
    private readonly minValid = 0n,
  ) {}
  async minValidVersion(): Promise<bigint> {
    return this.minValid;
  }
  async changes(t: TableMeta, since: bigint, after: ChangePosition | null, limit: number): Promise<ChangeRow[]> {
    this.calls.push({ table: t.table, since, after });
    this.asked.push(limit);
    const all = (this.log.get(t.table) ?? []).filter((c) => c.version > since && c.version <= this.currentVersion);
    const rest = after ? all.filter((c) => c.version > after.version || (c.version === after.version && (c.key.id as number) > (after.key.id as number))) : all;
    return rest.slice(0, limit);
  }
  async snapshotChunk(t: TableMeta, afterKey: Row | null, limit: number): Promise<Row[]> {
    this.asked.push(limit);
    const rows = this.rows.get(t.table) ?? [];
    return rows.filter((r) => afterKey === null || (r.id as number) > (afterKey.id as number)).slice(0, limit);
  }
  async end(): Promise<void> {}
}

const rows = (n: number): Row[] => Array.from({ length: n }, (_, i) => ({ id: i + 1, v: `r${i + 1}` }));
const change = (id: number, version: bigint, op: ChangeRow['op'] = 'U'): ChangeRow => ({
  op, version, key: { id }, row: op === 'D' ? null : { id, v: `c${id}@${version}` }, changedColumns: null, commitTs: null,
});
const opts = (maxBatchRows = 100, snapshotChunkRows = 100) => ({ maxBatchRows, snapshotChunkRows, db: 'db', topicOf: (m: TableMeta) => `p.${m.schema}.${m.table}`, now: () => 1 });

async function pages(session: PollSession, metas: TableMeta[], state: CaptureState, o: WindowOptions = opts()): Promise<Page[]> {
  const out: Page[] = [];
  for await (const p of readWindow(session, metas, state, o)) out.push(p);
  return out;
}

/** The state capture keeps after publishing `ps` (what agent.ts does per page). */
function after(state: CaptureState, ps: Page[]): CaptureState {
  let s = state;
  for (const p of ps) s = p.complete ? { seq: p.seq, version: p.version, tables: new Map(p.tables.map((t) => [t.table, { ...t, rows: 0 }])) } : { ...s, seq: p.seq };
  return s;
}

describe('capture window', () => {
  it('snapshots every table first, at the window version, in one complete page', async () => {
    const ps = await pages(new MemorySession(7n, new Map([['t', rows(3)], ['u', rows(1)]])), [T, U], emptyState());
    expect(ps).toHaveLength(1);
    const [p] = ps;
    expect(p).toMatchObject({ seq: 0n, windowSeq: 0n, version: 7n, complete: true });
    expect(p.events.map((e) => [e.table.table, e.event.op, e.event.key.id, e.event.source.version, e.event.source.snapshot])).toEqual([
      ['t', 'r', 1, 7n, true], ['t', 'r', 2, 7n, true], ['t', 'r', 3, 7n, true], ['u', 'r', 1, 7n, true],
    ]);
    expect(p.resnapshots.map((r) => r.reason)).toEqual(['initial snapshot', 'initial snapshot']);
    const definition = '{"c":[["id","int32"],["v","string"]]}';
    expect(p.tables).toEqual([
      { table: 's.t', topic: 'p.s.t', cursor: 7n, snapshot: { epoch: 1, lastKey: '{"id":3}', done: true, startedSeq: 0n }, rows: 3, definition },
      { table: 's.u', topic: 'p.s.u', cursor: 7n, snapshot: { epoch: 1, lastKey: '{"id":1}', done: true, startedSeq: 0n }, rows: 1, definition },
    ]);
  });

  it('pages a large window: only the last page is complete; earlier pages carry the state before the window', async () => {
    const start = after(emptyState(), await pages(new MemorySession(1n, new Map([['t', []]])), [T], emptyState()));
    const log = new Map([['t', [change(1, 2n), change(2, 2n), change(3, 3n, 'I'), change(4, 3n, 'D'), change(5, 3n)]]]);
    const ps = await pages(new MemorySession(3n, new Map(), log), [T], start, opts(2));
    expect(ps.map((p) => [p.seq, p.windowSeq, p.complete, p.events.length])).toEqual([[1n, 1n, false, 2], [2n, 1n, false, 2], [3n, 1n, true, 1]]);
    expect(ps[0].tables).toEqual([{ ...start.tables.get('s.t')!, rows: 2 }]);
    expect(ps[2].tables[0]).toMatchObject({ cursor: 3n, rows: 1 });
    expect(ps.flatMap((p) => p.events.map((e) => e.event.op))).toEqual(['u', 'u', 'c', 'd', 'u']);
    expect(ps.flatMap((p) => p.events.map((e) => e.event.source.batch))).toEqual([1n, 1n, 2n, 2n, 3n]);
  });

  it('reads changes in (version, key) pages, continuing after the last row of the previous page', async () => {
    const start = after(emptyState(), await pages(new MemorySession(1n, new Map([['t', []]])), [T], emptyState()));
    const session = new MemorySession(3n, new Map(), new Map([['t', [change(1, 2n), change(2, 2n), change(3, 3n)]]]));
    await pages(session, [T], start, opts(2));
    expect(session.calls).toEqual([
      { table: 't', since: 1n, after: null },
      { table: 't', since: 1n, after: { version: 2n, key: { id: 2 } } },
    ]);
  });

  it('asks only the tables the session names as changed, from the oldest cursor; every cursor moves to the window', async () => {
    const W: TableMeta = { ...T, table: 'w' };
    const start = after(emptyState(), await pages(new MemorySession(1n, new Map([['t', []], ['u', []], ['w', []]])), [T, U, W], emptyState()));
    class Listing extends MemorySession {
      listed: { tables: string[]; since: bigint }[] = [];
      async changedTables(metas: TableMeta[], since: bigint): Promise<Set<string>> {
        this.listed.push({ tables: metas.map((m) => m.table), since });
        return new Set(['s.u']);
      }
    }
    const session = new Listing(3n, new Map(), new Map([['u', [change(1, 2n)]]]));
    const ps = await pages(session, [T, U, W], start);
    expect(session.listed).toEqual([{ tables: ['t', 'u', 'w'], since: 1n }]);
    expect(session.calls.map((c) => c.table)).toEqual(['u']);
    expect(ps.at(-1)!.events.map((e) => [e.table.table, e.event.key.id])).toEqual([['u', 1]]);
    expect(ps.at(-1)!.tables.map((t) => [t.table, t.cursor])).toEqual([['s.t', 3n], ['s.u', 3n], ['s.w', 3n]]);
  });

  it('re-snapshots a table whose cursor fell below the min valid version, in a new epoch', async () => {
    const start = after(emptyState(), await pages(new MemorySession(1n, new Map([['t', rows(1)]])), [T], emptyState()));
    const ps = await pages(new MemorySession(9n, new Map([['t', rows(2)]]), new Map(), 5n), [T], start);
    expect(ps[0].resnapshots).toEqual([{ table: 's.t', reason: 'cursor 1 is below the min valid version 5: changes since the cursor are gone' }]);
    expect(ps[0].tables[0].snapshot).toEqual({ epoch: 2, lastKey: '{"id":2}', done: true, startedSeq: 1n });
    expect(ps[0].events.every((e) => e.event.op === 'r')).toBe(true);
  });

  it('re-snapshots every table when the source version went backwards (restore, failover)', async () => {
    const start = after(emptyState(), await pages(new MemorySession(10n, new Map([['t', rows(1)], ['u', rows(1)]])), [T, U], emptyState()));
    const ps = await pages(new MemorySession(4n, new Map([['t', rows(1)], ['u', rows(1)]])), [T, U], start);
    expect(ps[0].resnapshots.map((r) => r.table)).toEqual(['s.t', 's.u']);
    expect(ps[0].resnapshots[0].reason).toMatch(/went backwards \(10 -> 4\)/);
  });

  it('spreads a snapshot over several windows, resuming after the last key, while changes stream', async () => {
    let state = emptyState();
    const snapshotted: number[] = [];
    for (let v = 1n; v <= 3n; v++) {
      const ps = await pages(new MemorySession(v, new Map([['t', rows(5)]])), [T], state, opts(100, 2));
      snapshotted.push(...ps.flatMap((p) => p.events.map((e) => e.event.key.id as number)));
      state = after(state, ps);
    }
    expect(snapshotted).toEqual([1, 2, 3, 4, 5]);
    expect(state.tables.get('s.t')!.snapshot).toEqual({ epoch: 1, lastKey: '{"id":5}', done: true, startedSeq: 0n });
  });

  it('an idle poll at the same version is a no-op; progress of any kind is not', async () => {
    const session = () => new MemorySession(4n, new Map([['t', rows(1)]]));
    const state = after(emptyState(), await pages(session(), [T], emptyState()));
    const [idle] = await pages(session(), [T], state);
    expect(isNoop(idle, state)).toBe(true);
    const [moved] = await pages(new MemorySession(5n, new Map()), [T], state);
    expect(isNoop(moved, state)).toBe(false);
  });
});

const col = (name: string, type: ColumnType, extra: Partial<ColumnMeta> = {}): ColumnMeta => ({ name, type, nullable: true, sourceType: type.kind, ...extra });

/** MemorySession that also explains its min valid version (PollSession + ResetReasons). */
class ExplainingSession extends MemorySession {
  async resetReason(): Promise<string | null> {
    return 'public.t was truncated';
  }
}

describe('table definitions: DDL that changed rows without DML re-snapshots the table', () => {
  it('the type text round-trips every column type', () => {
    const types: ColumnType[] = [
      { kind: 'boolean' }, { kind: 'int16' }, { kind: 'int32' }, { kind: 'int64' }, { kind: 'float32' }, { kind: 'float64' },
      { kind: 'decimal', precision: 38, scale: 10 }, { kind: 'string' }, { kind: 'string', maxLength: 5 }, { kind: 'string', maxLength: 5, fixedLength: true },
      { kind: 'string', fixedLength: true }, { kind: 'bytes' }, { kind: 'bytes', maxLength: 16, fixedLength: true }, { kind: 'uuid' }, { kind: 'json' },
      { kind: 'xml' }, { kind: 'date' }, { kind: 'time', precision: 6 }, { kind: 'time', precision: 6, endOfDay: true },
      { kind: 'timestamp', precision: 3 }, { kind: 'timestamptz', precision: 6 }, { kind: 'datetimeoffset', precision: 7 },
    ];
    for (const t of types) expect(parseTypeText(typeText(t)), typeText(t)).toEqual(t);
    expect(new Set(types.map(typeText)).size).toBe(types.length);
    expect(parseTypeText('geometry')).toBeNull();
    expect(parseTypeText('decimal(x,2)')).toBeNull();
  });

  it('lossless widenings, and what is not one', () => {
    const yes: [ColumnType, ColumnType][] = [
      [{ kind: 'int16' }, { kind: 'int32' }], [{ kind: 'int32' }, { kind: 'int64' }], [{ kind: 'int16' }, { kind: 'int64' }],
      [{ kind: 'float32' }, { kind: 'float64' }],
      [{ kind: 'decimal', precision: 10, scale: 2 }, { kind: 'decimal', precision: 12, scale: 4 }],
      [{ kind: 'string', maxLength: 10 }, { kind: 'string', maxLength: 20 }], [{ kind: 'string', maxLength: 10 }, { kind: 'string' }],
      [{ kind: 'bytes', maxLength: 10 }, { kind: 'bytes' }],
      [{ kind: 'timestamp', precision: 3 }, { kind: 'timestamp', precision: 6 }], [{ kind: 'time', precision: 0 }, { kind: 'time', precision: 6 }],
      [{ kind: 'int32' }, { kind: 'int32' }],
    ];
    const no: [ColumnType, ColumnType][] = [
      [{ kind: 'int64' }, { kind: 'int32' }], [{ kind: 'float64' }, { kind: 'float32' }], [{ kind: 'int32' }, { kind: 'float64' }],
      [{ kind: 'int32' }, { kind: 'string' }], [{ kind: 'string' }, { kind: 'string', maxLength: 10 }],
      [{ kind: 'string', maxLength: 20 }, { kind: 'string', maxLength: 10 }],
      // padded values change with the length, or lose their padding
      [{ kind: 'string', maxLength: 5, fixedLength: true }, { kind: 'string', maxLength: 10, fixedLength: true }],
      [{ kind: 'string', maxLength: 5, fixedLength: true }, { kind: 'string', maxLength: 10 }],
      [{ kind: 'decimal', precision: 10, scale: 2 }, { kind: 'decimal', precision: 10, scale: 3 }],
      [{ kind: 'decimal', precision: 10, scale: 2 }, { kind: 'decimal', precision: 12, scale: 1 }],
      [{ kind: 'timestamp', precision: 6 }, { kind: 'timestamp', precision: 3 }], [{ kind: 'timestamp', precision: 6 }, { kind: 'timestamptz', precision: 6 }],
    ];
    for (const [a, b] of yes) expect(isLosslessWidening(a, b), `${typeText(a)} -> ${typeText(b)}`).toBe(true);
    for (const [a, b] of no) expect(isLosslessWidening(a, b), `${typeText(a)} -> ${typeText(b)}`).toBe(false);
  });

  const base: TableMeta = { schema: 'public', table: 't', key: ['id'], columns: [col('id', { kind: 'int32' }), col('qty', { kind: 'int32' })] };
  const recorded = tableDefinition(base);
  const withColumns = (...extra: ColumnMeta[]): TableMeta => ({ ...base, columns: [...base.columns, ...extra] });

  it('names the table and the DDL for each kind of change, and none for a change that keeps every row', () => {
    expect(definitionChange(recorded, base)).toBeNull();
    // a column of NULLs: the standby adds it, every existing row stays equal
    expect(definitionChange(recorded, withColumns(col('note', { kind: 'string' })))).toBeNull();
    expect(definitionChange(recorded, withColumns(col('flag', { kind: 'int32' }, { hasDefault: true }))))
      .toBe('public.t: column flag added with a default: existing rows changed without DML');
    expect(definitionChange(recorded, withColumns(col('g', { kind: 'int32' }, { generated: true }))))
      .toBe('public.t: generated column g added: existing rows changed without DML');
    expect(definitionChange(recorded, { ...base, columns: [base.columns[0], col('qty', { kind: 'int64' })] })).toBeNull();
    expect(definitionChange(recorded, { ...base, columns: [base.columns[0], col('qty', { kind: 'string' })] }))
      .toBe('public.t: column qty changed type from int32 to string, which is not a lossless widening: existing rows changed without DML');
    // a default set on an existing column changes no row
    expect(definitionChange(recorded, { ...base, columns: [base.columns[0], col('qty', { kind: 'int32' }, { hasDefault: true })] })).toBeNull();
    // unknown recorded definitions (records of older versions) compare as equal
    expect(definitionChange(null, withColumns(col('flag', { kind: 'int32' }, { hasDefault: true })))).toBeNull();
    expect(definitionChange('not json', base)).toBeNull();
  });

  it('a column gone and another added in one change (a rename) re-snapshots: untouched rows would lack the new column', () => {
    const renamed: TableMeta = { ...base, columns: [base.columns[0], col('quantity', { kind: 'int32' })] };
    expect(definitionChange(recorded, renamed)).toBe('public.t: column qty gone and quantity added in one change (a rename?): the rows not changed since have no value for quantity on the standby');
    // a column only dropped, or only added without a default, keeps every row as captured
    expect(definitionChange(recorded, { ...base, columns: [base.columns[0]] })).toBeNull();
  });

  it('remembers dropped and excluded columns: one that comes back is not a column of NULLs on the standby', () => {
    const dropped = tableDefinition({ ...base, columns: [base.columns[0]] }, new Set(), recorded);
    expect(JSON.parse(dropped).d).toEqual(['qty']);
    expect(definitionChange(dropped, base)).toBe('public.t: column qty was dropped and added again: the standby still holds its old values');
    // and it stays remembered across later windows
    expect(JSON.parse(tableDefinition({ ...base, columns: [base.columns[0]] }, new Set(), dropped)).d).toEqual(['qty']);
    const excluded = tableDefinition({ ...base, columns: [base.columns[0]] }, new Set(['qty']), recorded);
    expect(JSON.parse(excluded)).toEqual({ c: [['id', 'int32']], x: ['qty'] });
    expect(definitionChange(excluded, base)).toBe('public.t: column qty is no longer excluded: its existing values were never captured');
  });

  it('a changed definition restarts the snapshot in a new epoch with its reason; a change made while capture was down too', async () => {
    const start = after(emptyState(), await pages(new MemorySession(1n, new Map([['t', rows(2)]])), [T], emptyState()));
    expect(start.tables.get('s.t')!.definition).toBe(tableDefinition(T));
    const changed: TableMeta = { ...T, columns: [...T.columns, col('flag', { kind: 'int32' }, { hasDefault: true })] };
    const ps = await pages(new MemorySession(1n, new Map([['t', rows(2).map((r) => ({ ...r, flag: 7 }))]])), [changed], start);
    expect(ps[0].resnapshots).toEqual([{ table: 's.t', reason: 's.t: column flag added with a default: existing rows changed without DML' }]);
    expect(ps[0].tables[0].snapshot).toMatchObject({ epoch: 2, done: true });
    expect(ps[0].tables[0].definition).toBe(tableDefinition(changed));
    expect(ps[0].events.map((e) => e.event.after)).toEqual([{ id: 1, v: 'r1', flag: 7 }, { id: 2, v: 'r2', flag: 7 }]);
    // recorded: the next window streams again
    const next = await pages(new MemorySession(1n, new Map()), [changed], after(start, ps));
    expect(next[0].resnapshots).toEqual([]);
    expect(isNoop(next[0], after(start, ps))).toBe(true);
  });

  it('a new definition is not a no-op: it must reach the batch log', async () => {
    const state = after(emptyState(), await pages(new MemorySession(4n, new Map([['t', rows(1)]])), [T], emptyState()));
    const added: TableMeta = { ...T, columns: [...T.columns, col('note', { kind: 'string' })] };
    const [p] = await pages(new MemorySession(4n, new Map()), [added], state);
    expect(p.resnapshots).toEqual([]);
    expect(isNoop(p, state)).toBe(false);
  });

  it('adds the source\'s reason for a raised min valid version when the session explains it', async () => {
    const start = after(emptyState(), await pages(new MemorySession(1n, new Map([['t', rows(1)]])), [T], emptyState()));
    const ps = await pages(new ExplainingSession(9n, new Map([['t', rows(1)]]), new Map(), 5n), [T], start);
    expect(ps[0].resnapshots).toEqual([{ table: 's.t', reason: 'cursor 1 is below the min valid version 5: changes since the cursor are gone (public.t was truncated)' }]);
  });
});

describe('capture window: memory bounded by bytes', () => {
  const MB = 1 << 20;
  const big = 'x'.repeat(MB); // one string shared by every row: the test itself stays small
  const bigRows = (n: number): Row[] => Array.from({ length: n }, (_, i) => ({ id: i + 1, v: big }));
  const bigChange = (id: number, version: bigint): ChangeRow => ({ op: 'U', version, key: { id }, row: { id, v: big }, changedColumns: null, commitTs: null });
  const eventBytes = rowBytes({ id: 1, v: big }) + 128;
  const streaming = async () => after(emptyState(), await pages(new MemorySession(1n, new Map([['t', []]])), [T], emptyState()));

  it('cuts a page before it passes the byte budget; an event larger than the budget is a page of its own', async () => {
    const log = new Map([['t', [change(1, 2n), bigChange(2, 2n), bigChange(3, 2n), bigChange(4, 3n), change(5, 3n), change(6, 3n)]]]);
    const ps = await pages(new MemorySession(3n, new Map(), log), [T], await streaming(), { ...opts(100), maxBatchBytes: 2 * eventBytes + 10 });
    expect(ps.map((p) => p.events.map((e) => e.event.key.id))).toEqual([[1, 2], [3, 4], [5, 6]]);
    expect(ps.map((p) => p.complete)).toEqual([false, false, true]);
    expect(ps.every((p) => p.bytes <= 2 * eventBytes + 10)).toBe(true);
    const alone = await pages(new MemorySession(3n, new Map(), log), [T], await streaming(), { ...opts(100), maxBatchBytes: MB / 2 });
    expect(alone.map((p) => p.events.map((e) => e.event.key.id))).toEqual([[1], [2], [3], [4], [5, 6]]);
  });

  it('asks for fewer rows once rows are large, and grows reads at most 4-fold while they are small', async () => {
    const log = new Map([['t', Array.from({ length: 30 }, (_, i) => bigChange(i + 1, 2n))]]);
    const session = new MemorySession(2n, new Map(), log);
    const ps = await pages(session, [T], await streaming(), { ...opts(100), maxBatchBytes: 4 * MB });
    expect(ps.flatMap((p) => p.events.map((e) => e.event.key.id))).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    // a table with an unbounded column starts at 8 rows, then asks for what fits 4 MiB: 3 rows of 1 MiB
    expect(session.asked).toEqual([8, 3, 3, 3, 3, 3, 3, 3, 3]);
    const small = new MemorySession(2n, new Map(), new Map([['t', Array.from({ length: 2_000 }, (_, i) => change(i + 1, 2n))]]));
    await pages(small, [T], await streaming(), opts(1_000));
    expect(small.asked).toEqual([8, 32, 128, 512, 1_000, 1_000]);
  });

  it('keeps what it learnt across windows when the caller keeps the sizer', async () => {
    const sizer = new ReadSizer(4 * MB);
    const start = await streaming();
    const s1 = new MemorySession(2n, new Map(), new Map([['t', [bigChange(1, 2n), bigChange(2, 2n)]]]));
    const w1 = await pages(s1, [T], start, { ...opts(100), sizer });
    const s2 = new MemorySession(3n, new Map(), new Map([['t', [bigChange(3, 3n)]]]));
    await pages(s2, [T], after(start, w1), { ...opts(100), sizer });
    expect(s1.asked).toEqual([8]);
    expect(s2.asked).toEqual([3]);
  });

  it('a table whose columns are all bounded reads full pages from the first read', async () => {
    const bounded: TableMeta = { ...T, columns: [T.columns[0], { ...T.columns[1], type: { kind: 'string', maxLength: 20 } }] };
    expect(maxRowBytes(bounded)).toBe(8 + 81);
    expect(maxRowBytes(T)).toBeNull();
    const start = after(emptyState(), await pages(new MemorySession(1n, new Map([['t', []]])), [bounded], emptyState()));
    const session = new MemorySession(2n, new Map(), new Map([['t', Array.from({ length: 250 }, (_, i) => change(i + 1, 2n))]]));
    await pages(session, [bounded], start, opts(100));
    expect(session.asked).toEqual([100, 100, 100]);
  });

  it('a snapshot reads about a page of bytes per window, at least one read, until it is done', async () => {
    const sizer = new ReadSizer(2.5 * MB);
    let state = emptyState();
    const perWindow: number[][] = [];
    for (let v = 1n; v <= 10n && !(state.tables.get('s.t')?.snapshot?.done ?? false); v++) {
      const ps = await pages(new MemorySession(v, new Map([['t', bigRows(10)]])), [T], state, { ...opts(100, 1_000), sizer });
      perWindow.push(ps.flatMap((p) => p.events.map((e) => e.event.key.id as number)));
      state = after(state, ps);
    }
    expect(perWindow.flat()).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
    // the first read (8 rows) cannot know the rows are large; then 2 rows of 1 MiB per window
    expect(perWindow.map((w) => w.length)).toEqual([8, 2]);
    expect(state.tables.get('s.t')!.snapshot).toMatchObject({ done: true, lastKey: '{"id":10}' });
  });

  it('small snapshot rows: sub-reads until snapshotChunkRows rows, as one chunk did', async () => {
    const session = new MemorySession(1n, new Map([['t', rows(300)]]));
    const ps = await pages(session, [T], emptyState(), opts(1_000, 200));
    expect(ps.flatMap((p) => p.events).length).toBe(200);
    expect(session.asked).toEqual([8, 32, 128, 32]);
    expect(ps[ps.length - 1].tables[0].snapshot).toMatchObject({ done: false, lastKey: '{"id":200}' });
  });
});
