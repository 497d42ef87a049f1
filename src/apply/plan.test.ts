import { describe, expect, it } from 'vitest';
import type { BatchRecord, ChangeEvent, Op, TableState } from '../core/batch.ts';
import type { DecodedEvent } from '../core/codec.ts';
import { ConfigError } from '../core/errors.ts';
import type { ColumnType, Row, TableMeta } from '../core/model.ts';
import { definitionChanges, definitionOf, mergeDefinitions, planWindows, snapshotStarts, StandbyTables, tableDefinitions } from './plan.ts';
import type { CompleteWindow } from './window-reader.ts';

const col = (name: string, type: ColumnType = { kind: 'int32' }, nullable = true) => ({ name, type, nullable, sourceType: type.kind });
const T: TableMeta = { schema: 's', table: 't', key: ['id'], columns: [col('id'), col('a')] };
const T2: TableMeta = { ...T, columns: [...T.columns, col('b')] };
/** T after `ALTER TABLE t RENAME a TO b`: as many columns as before */
const RENAMED: TableMeta = { ...T, columns: [col('id'), col('b')] };
/** T after a widening of `a`: same names, another type */
const WIDENED: TableMeta = { ...T, columns: [col('id'), col('a', { kind: 'int64' })] };
const U: TableMeta = { schema: 's', table: 'u', key: ['id'], columns: [col('id')] };

function ev(table: TableMeta, op: Op, id: number, after: Row | null = op === 'd' ? null : { id, a: id }): DecodedEvent {
  const event: ChangeEvent = {
    op, after, key: { id },
    source: { db: 'd', schema: table.schema, table: table.table, version: 1n, commit_ts: null, batch: 1n, snapshot: op === 'r' },
    changed_columns: null, ts_ms: 0,
  };
  return { event, table };
}

function win(seq: bigint, events: DecodedEvent[], tables: TableState[] = []): CompleteWindow {
  const batch: BatchRecord = { sourceId: 's', seq, windowSeq: seq, version: seq * 10n, previousVersion: -1n, complete: true, ranges: [], tables, captureTsMs: 0, commitTsMs: null, mode: 'async' };
  return { batches: [batch], offset: seq, events, bytes: 0 };
}

const starting = (table: string, seq: bigint): TableState => ({ table, topic: 'x', cursor: 1n, rows: 0, snapshot: { epoch: 2, lastKey: null, done: false, startedSeq: seq } });
const standby = (options = new Map()) => new StandbyTables((m) => ({ schema: 'standby', table: m.table }), options);

describe('apply plan', () => {
  it('nets every key over the merged windows: the last event of a key wins', async () => {
    const plan = planWindows([
      win(1n, [ev(T, 'c', 1), ev(T, 'c', 2), ev(T, 'c', 3)]),
      win(2n, [ev(T, 'u', 1, { id: 1, a: 10 }), ev(T, 'd', 2), ev(T, 'd', 3)]),
      win(3n, [ev(T, 'c', 3, { id: 3, a: 30 }), ev(T, 'd', 4)]),
    ], standby(), () => null);
    expect(plan.tables).toHaveLength(1);
    const p = plan.tables[0];
    expect([...p.upserts.values()]).toEqual([{ id: 1, a: 10 }, { id: 3, a: 30 }]);
    expect([...p.deletes.values()]).toEqual([{ id: 2 }, { id: 4 }]);
    expect(p.target).toMatchObject({ schema: 'standby', table: 't' });
    expect(plan.ensure).toEqual([p.target]);
    expect(plan.events).toBe(8);
    expect(plan.emptied).toEqual([]);
  });

  it('writes each event with its own definition, never the one with more columns (a rename keeps its values)', () => {
    // the bug this replaces: the definition with more columns described the whole merge, so the
    // rows written after a rename (or a drop + add) went in with the old columns: NULL in `a`, `b` lost
    const plan = planWindows([win(1n, [ev(T, 'u', 1)]), win(2n, [ev(RENAMED, 'u', 2, { id: 2, b: 20 })])], standby(), () => null);
    expect(plan.tables.map((p) => p.target.columns.map((c) => c.name))).toEqual([['id', 'a'], ['id', 'b']]);
    expect([...plan.tables[1].upserts.values()]).toEqual([{ id: 2, b: 20 }]);
    expect(plan.ensure.map((t) => t.columns.map((c) => c.name))).toEqual([['id', 'a'], ['id', 'b']]);
    // an added column: both definitions, in order, so the standby table ends with every column
    const added = planWindows([win(1n, [ev(T, 'u', 1)]), win(2n, [ev(T2, 'u', 2, { id: 2, a: 2, b: 2 })])], standby(), () => null);
    expect(added.ensure.map((t) => t.columns.map((c) => c.name))).toEqual([['id', 'a'], ['id', 'a', 'b']]);
  });

  it('keeps a key in one definition only: the later event supersedes it', () => {
    const plan = planWindows([win(1n, [ev(T, 'c', 1), ev(T, 'c', 2), ev(RENAMED, 'u', 1, { id: 1, b: 9 }), ev(RENAMED, 'd', 2)])], standby(), () => null);
    const [old, renamed] = plan.tables;
    expect(old.upserts.size + old.deletes.size).toBe(0);
    expect([...renamed.upserts.values()]).toEqual([{ id: 1, b: 9 }]);
    expect([...renamed.deletes.values()]).toEqual([{ id: 2 }]);
  });

  it('tells windows that describe a table differently apart, whatever the column count', () => {
    const defs = (t: TableMeta, u = U) => tableDefinitions(win(1n, [ev(t, 'u', 1), ev(u, 'u', 1, { id: 1 })]));
    const seen = new Map<string, Set<string>>();
    mergeDefinitions(seen, defs(T));
    expect(definitionChanges(seen, defs(T))).toBe(false);
    expect(definitionChanges(seen, defs({ ...T, columns: [...T.columns] }))).toBe(false); // another object, same definition
    expect(definitionChanges(seen, defs(RENAMED))).toBe(true);
    expect(definitionChanges(seen, defs(WIDENED))).toBe(true);
    expect(definitionChanges(seen, defs(T2))).toBe(true);
    expect(definitionChanges(seen, defs({ ...T, columns: [col('id'), col('a', { kind: 'int32' }, false)] }))).toBe(true); // NOT NULL now
    expect(definitionChanges(seen, new Map([['s.other', new Set(['x'])]]))).toBe(false); // a table not seen yet
    expect(definitionOf(T)).toBe(definitionOf({ ...T }));
  });

  it('empties a table whose snapshot starts in the first window, even when no event of it is in the windows', () => {
    const windows = [win(5n, [ev(T, 'r', 1)], [starting('s.t', 5n), starting('s.u', 5n), starting('s.never', 5n), starting('s.old', 4n)])];
    expect(snapshotStarts(windows[0])).toEqual(['s.t', 's.u', 's.never']);
    const plan = planWindows(windows, standby(), (name) => (name === 's.u' ? U : null));
    // s.t from its event, s.u from the schemas seen before, s.never cannot have rows on the standby
    expect(plan.emptied.map((e) => [e.name, `${e.target.schema}.${e.target.table}`, e.hasEvents])).toEqual([
      ['s.t', 'standby.t', true],
      ['s.u', 'standby.u', false],
    ]);
  });
});

describe("a standby's column options", () => {
  const F: TableMeta = {
    schema: 's', table: 'f', key: ['id'],
    columns: [col('id', { kind: 'int64' }, false), col('x', { kind: 'float64' }), col('y', { kind: 'float32' }), col('secret', { kind: 'string' }), col('n', { kind: 'int64' })],
  };
  const tables = standby(new Map([['s.f', { exclude: ['secret'], text: ['x', 'y', 'n'] }]]));

  it('leaves excluded columns out and keeps text columns as the exact canonical string', () => {
    const t = tables.target(F);
    expect(t.meta.columns.map((c) => [c.name, c.type.kind])).toEqual([['id', 'int64'], ['x', 'string'], ['y', 'string'], ['n', 'string']]);
    expect(t.meta.columns.find((c) => c.name === 'x')!.type).toEqual({ kind: 'string' });
    const rows = [Number.NaN, Infinity, -Infinity, -0, 1e308, 5e-324, 0.1, null].map((x, i) => t.row({ id: BigInt(i), x, y: Math.fround(0.1), secret: 's', n: -9223372036854775808n }));
    expect(rows.map((r) => r.x)).toEqual(['NaN', 'Infinity', '-Infinity', '-0', '1e+308', '5e-324', '0.1', null]);
    expect(rows[0].y).toBe('0.10000000149011612');
    expect(rows[0].n).toBe('-9223372036854775808');
    expect(rows[0].id).toBe(0n); // other columns as they are
    // the plan writes the converted rows
    const plan = planWindows([win(1n, [{ ...ev(F, 'c', 1), event: { ...ev(F, 'c', 1).event, after: { id: 1n, x: Number.NaN, y: 1, secret: 'no', n: 2n }, key: { id: 1n } } }])], tables, () => null);
    expect([...plan.tables[0].upserts.values()]).toEqual([{ id: 1n, x: 'NaN', y: '1', secret: 'no', n: '2' }]);
  });

  it('refuses options naming a column the table lacks, a key column, or one column twice, naming them', () => {
    const bad = (exclude: string[], text: string[]) => () => standby(new Map([['s.f', { exclude, text }]])).validate(F);
    expect(bad(['nope'], [])).toThrow(ConfigError);
    expect(bad(['nope'], [])).toThrow(/standby\.tables entry s\.f: excludeColumns names column "nope", which the table does not have/);
    expect(bad([], ['gone'])).toThrow(/textColumns names column "gone"/);
    expect(bad(['id'], [])).toThrow(/"id", a primary key column/);
    expect(bad(['x'], ['x'])).toThrow(/"x" is in both/);
    expect(bad(['secret'], ['x'])).not.toThrow();
    // checked once per table, also through target()
    expect(() => standby(new Map([['s.f', { exclude: ['nope'], text: [] }]])).target(F)).toThrow(/nope/);
  });
});
