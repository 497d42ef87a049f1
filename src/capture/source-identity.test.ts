// The source identity (SourceIdentity, src/core/change-source.ts) in capture's window planning: it
// travels with each table's definition in the batch log, and a different identity re-snapshots
// every table, also when the version is above every cursor again (a restore followed by more
// writes than it lost). Records written before the identity was recorded resume without one.
import { describe, expect, it } from 'vitest';
import type { ChangeRow, PollSession, SourceIdentity } from '../core/change-source.ts';
import type { Row, TableMeta } from '../core/model.ts';
import { emptyState, readWindow, recordedSourceIdentity, tableDefinition, type CaptureState, type Page } from './window.ts';

const T: TableMeta = { schema: 's', table: 't', key: ['id'], columns: [{ name: 'id', type: { kind: 'int32' }, nullable: false, sourceType: 'int' }] };
const U: TableMeta = { ...T, table: 'u' };

/** An in-memory session: one row per table, one change per table after version 10. */
class Session implements PollSession, SourceIdentity {
  constructor(readonly currentVersion: bigint, readonly sourceIdentity: string | null) {}
  async minValidVersion(): Promise<bigint> {
    return 0n;
  }
  async changes(t: TableMeta, since: bigint): Promise<ChangeRow[]> {
    const c: ChangeRow = { op: 'U', version: 11n, key: { id: 1 }, row: { id: 1 }, changedColumns: null, commitTs: null };
    return since < 11n && this.currentVersion >= 11n && t.table !== 'none' ? [c] : [];
  }
  async snapshotChunk(_t: TableMeta, afterKey: Row | null): Promise<Row[]> {
    return afterKey === null ? [{ id: 1 }] : [];
  }
  async end(): Promise<void> {}
}

/** A session of a source without the capability. */
class PlainSession implements PollSession {
  constructor(readonly currentVersion: bigint) {}
  minValidVersion = async () => 0n;
  changes = async () => [];
  snapshotChunk = async () => [];
  end = async () => {};
}

const opts = { maxBatchRows: 100, snapshotChunkRows: 100, db: 'db', topicOf: (m: TableMeta) => `p.${m.schema}.${m.table}`, now: () => 1 };

async function window(session: PollSession, state: CaptureState): Promise<Page> {
  const pages: Page[] = [];
  for await (const p of readWindow(session, [T, U], state, opts)) pages.push(p);
  return pages.at(-1)!;
}

const stateAfter = (p: Page): CaptureState => ({ seq: p.seq, version: p.version, tables: new Map(p.tables.map((t) => [t.table, { ...t, rows: 0 }])) });

describe('source identity in the batch log', () => {
  it('is recorded with every table\'s definition', async () => {
    const p = await window(new Session(10n, 'sqlserver:A/F1'), emptyState());
    expect(p.tables.map((t) => recordedSourceIdentity(t.definition))).toEqual(['sqlserver:A/F1', 'sqlserver:A/F1']);
  });

  it('the same identity streams on; another one re-snapshots every table, though the version is above every cursor', async () => {
    const captured = stateAfter(await window(new Session(10n, 'sqlserver:A/F1'), emptyState()));
    const same = await window(new Session(12n, 'sqlserver:A/F1'), captured);
    expect(same.resnapshots).toEqual([]);
    expect(same.events.map((e) => e.event.op)).toEqual(['u', 'u']);

    // restored from a backup taken before version 10, then written to past it: V = 12 > 10 again
    const restored = await window(new Session(12n, 'sqlserver:A/F2'), captured);
    expect(restored.resnapshots).toEqual([
      { table: 's.t', reason: 'source identity changed (sqlserver:A/F1 -> sqlserver:A/F2): the database was restored or replaced, so its versions may be reused' },
      { table: 's.u', reason: expect.stringContaining('source identity changed') },
    ]);
    expect(restored.events.map((e) => [e.event.op, e.event.source.snapshot])).toEqual([['r', true], ['r', true]]);
    expect(restored.tables.map((t) => [t.snapshot?.epoch, recordedSourceIdentity(t.definition)])).toEqual([[2, 'sqlserver:A/F2'], [2, 'sqlserver:A/F2']]);
  });

  it('a record without an identity (older ctrelay, or a source that could not tell) resumes without a re-snapshot and records it from then on', async () => {
    const old = stateAfter(await window(new PlainSession(10n), emptyState()));
    expect([...old.tables.values()].map((t) => recordedSourceIdentity(t.definition))).toEqual([null, null]);
    const next = await window(new Session(12n, 'sqlserver:A/F1'), old);
    expect(next.resnapshots).toEqual([]);
    expect(next.tables.map((t) => recordedSourceIdentity(t.definition))).toEqual(['sqlserver:A/F1', 'sqlserver:A/F1']);
  });

  it('a poll that cannot tell keeps the identity recorded before, and compares nothing', async () => {
    const captured = stateAfter(await window(new Session(10n, 'sqlserver:A/F1'), emptyState()));
    const blind = await window(new Session(12n, null), captured);
    expect(blind.resnapshots).toEqual([]);
    expect(blind.tables.map((t) => recordedSourceIdentity(t.definition))).toEqual(['sqlserver:A/F1', 'sqlserver:A/F1']);
  });

  it('definitions without an identity read as before (and old definitions parse)', () => {
    expect(recordedSourceIdentity(tableDefinition(T))).toBeNull();
    expect(recordedSourceIdentity('{"c":[["id","int32"]]}')).toBeNull();
    expect(recordedSourceIdentity(null)).toBeNull();
    expect(tableDefinition(T, new Set(), null, 'x')).toBe('{"c":[["id","int32"]],"s":"x"}');
    expect(tableDefinition(T, new Set(), '{"c":[["id","int32"]],"s":"x"}')).toBe('{"c":[["id","int32"]],"s":"x"}');
  });
});
