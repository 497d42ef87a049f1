import { describe, expect, it } from 'vitest';
import type { BatchRecord, ChangeEvent, Op, TableState } from '../core/batch.ts';
import type { DecodedEvent } from '../core/codec.ts';
import type { Row, TableMeta } from '../core/model.ts';
import { planWindows, snapshotStarts } from './plan.ts';
import type { CompleteWindow } from './window-reader.ts';

const col = (name: string) => ({ name, type: { kind: 'int32' as const }, nullable: true, sourceType: 'int' });
const T: TableMeta = { schema: 's', table: 't', key: ['id'], columns: [col('id'), col('a')] };
const T2: TableMeta = { ...T, columns: [...T.columns, col('b')] };
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
  return { batches: [batch], offset: seq, events };
}

const starting = (table: string, seq: bigint): TableState => ({ table, topic: 'x', cursor: 1n, rows: 0, snapshot: { epoch: 2, lastKey: null, done: false, startedSeq: seq } });
const target = (m: TableMeta) => ({ schema: 'standby', table: m.table });

describe('apply plan', () => {
  it('nets every key over the merged windows: the last event of a key wins', async () => {
    const plan = planWindows([
      win(1n, [ev(T, 'c', 1), ev(T, 'c', 2), ev(T, 'c', 3)]),
      win(2n, [ev(T, 'u', 1, { id: 1, a: 10 }), ev(T, 'd', 2), ev(T, 'd', 3)]),
      win(3n, [ev(T, 'c', 3, { id: 3, a: 30 }), ev(T, 'd', 4)]),
    ], target, () => null);
    const p = plan.tables.get('s.t')!;
    expect([...p.upserts.values()]).toEqual([{ id: 1, a: 10 }, { id: 3, a: 30 }]);
    expect([...p.deletes.values()]).toEqual([{ id: 2 }, { id: 4 }]);
    expect(p.target).toMatchObject({ schema: 'standby', table: 't' });
    expect(plan.events).toBe(8);
    expect(plan.emptied).toEqual([]);
  });

  it('describes a table by its widest definition when a column was added inside the merged windows', () => {
    const plan = planWindows([win(1n, [ev(T, 'u', 1)]), win(2n, [ev(T2, 'u', 2, { id: 2, a: 2, b: 2 })])], target, () => null);
    expect(plan.tables.get('s.t')!.target.columns.map((c) => c.name)).toEqual(['id', 'a', 'b']);
  });

  it('empties a table whose snapshot starts in the first window, even when no event of it is in the windows', () => {
    const windows = [win(5n, [ev(T, 'r', 1)], [starting('s.t', 5n), starting('s.u', 5n), starting('s.never', 5n), starting('s.old', 4n)])];
    expect(snapshotStarts(windows[0])).toEqual(['s.t', 's.u', 's.never']);
    const plan = planWindows(windows, target, (name) => (name === 's.u' ? U : null));
    // s.t from its event, s.u from the schemas seen before, s.never cannot have rows on the standby
    expect(plan.emptied.map((t) => `${t.schema}.${t.table}`)).toEqual(['standby.t', 'standby.u']);
  });
});
