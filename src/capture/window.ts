// One capture window: everything read in ONE source snapshot at one version V, cut into pages of at
// most maxBatchRows events. Pure over a PollSession, so the same logic serves every source.
import { encodeKeyJson, decodeKeyJson, type ChangeEvent, type Op, type SnapshotState, type TableState } from '../core/batch.ts';
import type { ChangePosition, PollSession } from '../core/change-source.ts';
import { keyOf, qualifiedName, type TableMeta } from '../core/model.ts';

export interface CaptureState {
  /** seq of the last published batch; -1 = none */
  seq: bigint;
  /** V of the last complete window; -1 = none */
  version: bigint;
  tables: Map<string, TableState>;
}

export interface WindowOptions {
  maxBatchRows: number;
  snapshotChunkRows: number;
  /** database name for event.source.db */
  db: string;
  topicOf: (t: TableMeta) => string;
  now?: () => number;
}

export interface PageEvent {
  table: TableMeta;
  event: ChangeEvent;
}

export interface Page {
  seq: bigint;
  windowSeq: bigint;
  version: bigint;
  events: PageEvent[];
  complete: boolean;
  /** state to resume from after this page (see BatchRecord.tables) */
  tables: TableState[];
  /** why tables (re)started a snapshot in this window, for logs */
  resnapshots: { table: string; reason: string }[];
}

const OPS: Record<'I' | 'U' | 'D', Op> = { I: 'c', U: 'u', D: 'd' };

interface TablePlan {
  meta: TableMeta;
  name: string;
  /** read changes since this version; null = no change read this window */
  streamFrom: bigint | null;
  snapshot: SnapshotState | null;
  next: TableState;
}

export function emptyState(): CaptureState {
  return { seq: -1n, version: -1n, tables: new Map() };
}

/**
 * Plans the window: which tables stream, which (re)snapshot, and the state after it.
 * A table (re)snapshots when it was never captured, when its cursor is below the min valid version
 * (changes are gone), or when the source version went backwards (restore, failover).
 */
async function plan(session: PollSession, metas: TableMeta[], state: CaptureState, windowSeq: bigint, opts: WindowOptions) {
  const V = session.currentVersion;
  const backwards = state.version >= 0n && V < state.version;
  const plans: TablePlan[] = [];
  const resnapshots: Page['resnapshots'] = [];
  for (const meta of metas) {
    const name = qualifiedName(meta);
    const prev = state.tables.get(name);
    let snapshot = prev?.snapshot ? { ...prev.snapshot } : null;
    let streamFrom: bigint | null = null;
    const restart = (reason: string) => {
      snapshot = { epoch: (prev?.snapshot?.epoch ?? 0) + 1, lastKey: null, done: false, startedSeq: windowSeq };
      resnapshots.push({ table: name, reason });
    };
    if (!prev || prev.cursor < 0n) {
      restart('initial snapshot');
    } else if (backwards) {
      restart(`source version went backwards (${state.version} -> ${V}): restore or failover of the source`);
    } else {
      const minValid = await session.minValidVersion(meta);
      if (prev.cursor < minValid) restart(`cursor ${prev.cursor} is below the min valid version ${minValid}: changes since the cursor are gone`);
      else streamFrom = prev.cursor;
    }
    plans.push({ meta, name, streamFrom, snapshot, next: { table: name, topic: opts.topicOf(meta), cursor: V, snapshot, rows: 0 } });
  }
  return { V, plans, resnapshots };
}

/**
 * Reads the window and yields its pages in order; the last page is `complete`. The caller must
 * publish each page before pulling the next one, and must keep the session open until the end.
 */
export async function* readWindow(session: PollSession, metas: TableMeta[], state: CaptureState, opts: WindowOptions): AsyncGenerator<Page> {
  const windowSeq = state.seq + 1n;
  const { V, plans, resnapshots } = await plan(session, metas, state, windowSeq, opts);
  const now = opts.now ?? Date.now;
  let seq = windowSeq;
  let buffer: PageEvent[] = [];
  const counts = new Map<string, number>();
  const tablesOf = (complete: boolean): TableState[] => {
    const base = complete ? plans.map((p) => p.next) : [...state.tables.values()];
    return base.map((t) => ({ ...t, rows: counts.get(t.table) ?? 0 }));
  };
  const cut = (complete: boolean): Page => {
    const page: Page = { seq, windowSeq, version: V, events: buffer, complete, tables: tablesOf(complete), resnapshots: seq === windowSeq ? resnapshots : [] };
    buffer = [];
    counts.clear();
    seq++;
    return page;
  };
  const push = (p: TablePlan, event: ChangeEvent) => {
    buffer.push({ table: p.meta, event });
    counts.set(p.name, (counts.get(p.name) ?? 0) + 1);
  };
  const source = (p: TablePlan, version: bigint, commitTs: string | null, snapshot: boolean) => ({
    db: opts.db, schema: p.meta.schema, table: p.meta.table, version, commit_ts: commitTs, batch: seq, snapshot,
  });

  for (const p of plans) {
    if (p.streamFrom !== null && p.streamFrom < V) {
      let after: ChangePosition | null = null;
      for (;;) {
        const rows = await session.changes(p.meta, p.streamFrom, after, opts.maxBatchRows);
        for (const r of rows) {
          if (buffer.length >= opts.maxBatchRows) yield cut(false);
          push(p, {
            op: OPS[r.op], after: r.row, key: r.key, source: source(p, r.version, r.commitTs, false),
            changed_columns: r.changedColumns, ts_ms: now(),
          });
        }
        if (rows.length < opts.maxBatchRows) break;
        const last = rows[rows.length - 1];
        after = { version: last.version, key: last.key };
      }
    }
    const snap = p.snapshot;
    if (snap && !snap.done) {
      const afterKey = snap.lastKey === null ? null : decodeKeyJson(snap.lastKey);
      const rows = await session.snapshotChunk(p.meta, afterKey, opts.snapshotChunkRows);
      for (const row of rows) {
        if (buffer.length >= opts.maxBatchRows) yield cut(false);
        push(p, { op: 'r', after: row, key: keyOf(p.meta, row), source: source(p, V, null, true), changed_columns: null, ts_ms: now() });
      }
      if (rows.length > 0) snap.lastKey = encodeKeyJson(keyOf(p.meta, rows[rows.length - 1]));
      snap.done = rows.length < opts.snapshotChunkRows;
    }
  }
  yield cut(true);
}

/** True when a complete single-page window carries nothing new: no events, no progress. */
export function isNoop(page: Page, state: CaptureState): boolean {
  if (!page.complete || page.seq !== page.windowSeq || page.events.length > 0 || page.version !== state.version) return false;
  return page.tables.every((t) => {
    const prev = state.tables.get(t.table);
    if (!prev || prev.cursor !== t.cursor) return false;
    const a = prev.snapshot;
    const b = t.snapshot;
    return a === b || (a !== null && b !== null && a.epoch === b.epoch && a.done === b.done && a.lastKey === b.lastKey);
  });
}
