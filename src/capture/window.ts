// One capture window: everything read in ONE source snapshot at one version V, cut into pages of at
// most maxBatchRows events and about maxBatchBytes bytes. Pure over a PollSession, so the same logic
// serves every source.
//
// Memory is bounded by bytes, not rows: a page is cut before its events would pass maxBatchBytes
// (an event larger than that is a page of its own), and every source read asks for as many rows as
// the table's rows let fit in maxBatchBytes (ReadSizer): rows seen so far tell their size, a
// table whose columns are all bounded has a known largest row, and a table with unbounded columns
// (text, bytea, json, varbinary(max), ...) starts small and grows its reads at most 4-fold per read.
// A snapshot also reads no more than about maxBatchBytes per window, so windows stay small for the
// applier, which holds a whole window in one standby transaction. (The source interface takes row
// counts only: a read that meets rows much larger than the rows before it can still hold up to its
// row limit of them.)
import { encodeKeyJson, decodeKeyJson, type ChangeEvent, type Op, type SnapshotState, type TableState } from '../core/batch.ts';
import { canExplainResets, canListChangedTables, hasSourceIdentity, type ChangePosition, type PollSession } from '../core/change-source.ts';
import { keyOf, qualifiedName, type ColumnMeta, type ColumnType, type Row, type TableMeta } from '../core/model.ts';

/** Default byte budget of a page (its events' estimated encoded size) and of one source read. */
export const DEFAULT_BATCH_BYTES = 64 << 20;

export interface CaptureState {
  /** seq of the last published batch; -1 = none */
  seq: bigint;
  /** V of the last complete window; -1 = none */
  version: bigint;
  tables: Map<string, TableState>;
}

export interface WindowOptions {
  maxBatchRows: number;
  /**
   * Byte budget of a page (default DEFAULT_BATCH_BYTES): a page is cut before its events' estimated
   * size passes it; one event larger than it is a page of its own.
   */
  maxBatchBytes?: number;
  snapshotChunkRows: number;
  /** database name for event.source.db */
  db: string;
  topicOf: (t: TableMeta) => string;
  now?: () => number;
  /** the columns excluded per table ("schema.table"), recorded in the table definitions */
  excluded?: Map<string, Set<string>>;
  /** how many rows to ask each source read for; keep one across windows (default: a new one per window) */
  sizer?: ReadSizer;
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
  /** the events' estimated encoded size (see rowBytes) */
  bytes: number;
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

// ---- sizes ----------------------------------------------------------------------------------

/** What an event adds to its row's values on the wire (envelope, names, versions): an estimate. */
const EVENT_OVERHEAD_BYTES = 128;

/**
 * Estimated encoded size of a row: bytes as they are, strings in UTF-8 (counted exactly when long;
 * short ones by their length, which is cheap), 8 for anything else.
 */
export function rowBytes(row: Row): number {
  let n = 0;
  for (const k in row) {
    const v = row[k];
    if (typeof v === 'string') n += v.length > 256 ? Buffer.byteLength(v) : v.length + 1;
    else if (v !== null && typeof v === 'object') n += (v as Buffer).length + 1;
    else n += 8;
  }
  return n;
}

/** The largest a row of `meta` can be (estimate, as rowBytes counts), or null when a column is unbounded. */
export function maxRowBytes(meta: TableMeta): number | null {
  let n = 0;
  for (const c of meta.columns) {
    const t = c.type;
    switch (t.kind) {
      case 'string':
        if (t.maxLength === undefined) return null;
        n += t.maxLength * 4 + 1; // UTF-8: at most 4 bytes per character
        break;
      case 'bytes':
        if (t.maxLength === undefined) return null;
        n += t.maxLength + 1;
        break;
      case 'json':
      case 'xml':
        return null;
      case 'decimal':
        n += t.precision + 3;
        break;
      case 'uuid':
        n += 37;
        break;
      case 'date':
      case 'time':
      case 'timestamp':
      case 'timestamptz':
      case 'datetimeoffset':
        n += 40;
        break;
      default:
        n += 8;
    }
  }
  return n;
}

/** Rows of a table with unbounded columns that the first read asks for. */
const FIRST_READ_ROWS = 8;
/** A read asks for at most this many times the rows the read before it asked for. */
const READ_GROWTH = 4;

/**
 * How many rows each source read asks for, per table: as many as fit the byte budget at the size of
 * the largest row of the table's last read, growing at most READ_GROWTH-fold per read (rows that
 * were small may not stay small), never more than a bounded table's largest possible row allows.
 */
export class ReadSizer {
  private readonly limits = new Map<string, number>();
  private readonly bounds = new Map<string, number>();

  constructor(readonly budgetBytes: number = DEFAULT_BATCH_BYTES) {}

  /** The limit to pass to the next read of `meta`, at most `most` (and at least 1). */
  limit(meta: TableMeta, most: number): number {
    const name = qualifiedName(meta);
    let bound = this.bounds.get(name);
    if (bound === undefined) {
      const max = maxRowBytes(meta);
      bound = max === null ? Infinity : Math.max(1, Math.floor(this.budgetBytes / (max + EVENT_OVERHEAD_BYTES)));
      this.bounds.set(name, bound);
    }
    const learnt = this.limits.get(name) ?? (bound === Infinity ? FIRST_READ_ROWS : bound);
    return Math.max(1, Math.min(most, learnt, bound));
  }

  /** After a read that asked for `asked` rows and got `got`, the largest of them `largest` bytes. */
  observe(meta: TableMeta, asked: number, got: number, largest: number): void {
    if (got === 0) return;
    const name = qualifiedName(meta);
    const fits = Math.max(1, Math.floor(this.budgetBytes / (largest + EVENT_OVERHEAD_BYTES)));
    const before = this.limits.get(name) ?? asked;
    this.limits.set(name, Math.min(fits, Math.max(before, asked) * READ_GROWTH));
  }

  /** Forgets what was learnt of tables whose definition changed (new columns, new sizes). */
  forget(meta: TableMeta): void {
    this.limits.delete(qualifiedName(meta));
    this.bounds.delete(qualifiedName(meta));
  }
}

// ---- table definitions ----------------------------------------------------------------------
//
// Each table's definition travels in the batch log (TableState.definition) and is compared with the
// catalog in every window. DDL can change rows without any DML that change tracking could see:
// a column added with a default (or computed by the database) gives every existing row a value, a
// type change converts every value. Such a table is re-snapshotted: its standby copy would
// otherwise keep the old values. Source-independent, and crash-safe: the comparison is with the
// last committed record, so a change made while capture was down is found at resume.

/** A ColumnType in a compact canonical text: kind, then its parameters, e.g. decimal(10,2), string(5,fixed). */
export function typeText(t: ColumnType): string {
  switch (t.kind) {
    case 'decimal':
      return `decimal(${t.precision},${t.scale})`;
    case 'string':
    case 'bytes': {
      const parts = [t.maxLength === undefined ? '*' : String(t.maxLength), ...(t.fixedLength ? ['fixed'] : [])];
      return t.maxLength === undefined && !t.fixedLength ? t.kind : `${t.kind}(${parts.join(',')})`;
    }
    case 'time':
      return `time(${t.precision}${t.endOfDay ? ',eod' : ''})`;
    case 'timestamp':
    case 'timestamptz':
    case 'datetimeoffset':
      return `${t.kind}(${t.precision})`;
    default:
      return t.kind;
  }
}

/** The inverse of typeText; null for text it does not know (a definition from a newer ctrelay). */
export function parseTypeText(text: string): ColumnType | null {
  const m = /^([a-z0-9]+)(?:\(([^)]*)\))?$/.exec(text);
  if (!m) return null;
  const kind = m[1];
  const args = m[2] === undefined ? [] : m[2].split(',');
  const int = (i: number) => (args[i] !== undefined && /^\d+$/.test(args[i]) ? Number(args[i]) : NaN);
  switch (kind) {
    case 'boolean': case 'int16': case 'int32': case 'int64': case 'float32': case 'float64':
    case 'uuid': case 'json': case 'xml': case 'date':
      return args.length === 0 ? ({ kind } as ColumnType) : null;
    case 'decimal':
      return Number.isNaN(int(0)) || Number.isNaN(int(1)) ? null : { kind, precision: int(0), scale: int(1) };
    case 'string':
    case 'bytes': {
      if (args.length === 0) return { kind };
      const t: { kind: 'string' | 'bytes'; maxLength?: number; fixedLength?: boolean } = { kind };
      if (args[0] !== '*') {
        if (Number.isNaN(int(0))) return null;
        t.maxLength = int(0);
      }
      if (args[1] === 'fixed') t.fixedLength = true;
      return t;
    }
    case 'time':
      return Number.isNaN(int(0)) ? null : { kind, precision: int(0), ...(args[1] === 'eod' ? { endOfDay: true } : {}) };
    case 'timestamp':
    case 'timestamptz':
    case 'datetimeoffset':
      return Number.isNaN(int(0)) ? null : { kind, precision: int(0) };
    default:
      return null;
  }
}

/**
 * Recorded definition: c = columns [name, type text, flags ("d" default, "g" generated)], x = excluded,
 * d = dropped names, s = the source identity the table's cursor belongs to (SourceIdentity; absent
 * in records written before it was recorded, and when the source cannot tell).
 */
interface Definition {
  c: [string, string, string?][];
  x?: string[];
  d?: string[];
  s?: string;
}

function columnEntry(c: ColumnMeta): [string, string, string?] {
  const flags = `${c.hasDefault ? 'd' : ''}${c.generated ? 'g' : ''}`;
  return flags ? [c.name, typeText(c.type), flags] : [c.name, typeText(c.type)];
}

function parseDefinition(json: string | null | undefined): Definition | null {
  if (!json) return null;
  try {
    const d = JSON.parse(json) as Definition;
    return Array.isArray(d?.c) ? d : null;
  } catch {
    return null;
  }
}

/**
 * The definition to record for `meta`: its columns, the excluded columns, and the names of columns
 * that existed before and are gone (`previous`): the standby keeps a dropped column and its values,
 * so a column of that name added again must not be taken for a column of NULLs.
 */
export function tableDefinition(meta: TableMeta, excluded: Set<string> = new Set(), previous: string | null = null, identity: string | null = null): string {
  const current = new Set(meta.columns.map((c) => c.name));
  const prev = parseDefinition(previous);
  const dropped = new Set(prev?.d ?? []);
  for (const [name] of prev?.c ?? []) if (!current.has(name) && !excluded.has(name)) dropped.add(name);
  for (const name of current) dropped.delete(name);
  const d: Definition = { c: meta.columns.map(columnEntry) };
  if (excluded.size > 0) d.x = [...excluded].sort();
  if (dropped.size > 0) d.d = [...dropped].sort();
  // a source that cannot tell this time keeps the identity recorded before: it is what the next
  // comparison starts from
  const s = identity ?? prev?.s;
  if (s !== undefined) d.s = s;
  return JSON.stringify(d);
}

/** The source identity recorded with a table's definition, null when none was. */
export function recordedSourceIdentity(definition: string | null | undefined): string | null {
  const s = parseDefinition(definition)?.s;
  return typeof s === 'string' ? s : null;
}

/**
 * Whether values of type `from` convert to `to` without changing: the same type, or a lossless
 * widening (the standby widens its column, every value stays as it was): a longer or unbounded
 * variable-length string or binary, a decimal with at least as many integer digits and as much
 * scale, int16 -> int32 -> int64, float32 -> float64, a temporal type with more fractional digits.
 */
export function isLosslessWidening(from: ColumnType, to: ColumnType): boolean {
  if (typeText(from) === typeText(to)) return true;
  const ints = ['int16', 'int32', 'int64'];
  if (ints.includes(from.kind) && ints.includes(to.kind)) return ints.indexOf(to.kind) >= ints.indexOf(from.kind);
  if (from.kind === 'float32' && to.kind === 'float64') return true;
  if (from.kind === 'decimal' && to.kind === 'decimal') return to.precision - to.scale >= from.precision - from.scale && to.scale >= from.scale;
  if ((from.kind === 'string' && to.kind === 'string') || (from.kind === 'bytes' && to.kind === 'bytes')) {
    // fixed-length values are padded to their length: a new length (or dropping the padding) changes them
    if (from.fixedLength || to.fixedLength) return false;
    return to.maxLength === undefined || (from.maxLength !== undefined && to.maxLength >= from.maxLength);
  }
  if (from.kind === 'time' && to.kind === 'time') return to.precision >= from.precision && (!from.endOfDay || to.endOfDay === true);
  if ((from.kind === 'timestamp' && to.kind === 'timestamp') || (from.kind === 'timestamptz' && to.kind === 'timestamptz') ||
      (from.kind === 'datetimeoffset' && to.kind === 'datetimeoffset')) {
    return to.precision >= from.precision;
  }
  return false;
}

/**
 * Why the table must be re-snapshotted since its `recorded` definition, or null when every existing
 * row is still as captured: a column added with a default or generated by the database, a column
 * no longer excluded or added again after a drop (the standby holds no or old values for it), a
 * type change that is not a lossless widening. Unknown (null) recorded definitions compare as equal.
 */
export function definitionChange(recorded: string | null | undefined, meta: TableMeta): string | null {
  const prev = parseDefinition(recorded);
  if (!prev) return null;
  const name = qualifiedName(meta);
  const before = new Map(prev.c.map(([n, t]) => [n, t]));
  const excluded = new Set(prev.x ?? []);
  const dropped = new Set(prev.d ?? []);
  const reasons: string[] = [];
  for (const c of meta.columns) {
    const old = before.get(c.name);
    if (old === undefined) {
      if (excluded.has(c.name)) reasons.push(`column ${c.name} is no longer excluded: its existing values were never captured`);
      else if (c.generated) reasons.push(`generated column ${c.name} added: existing rows changed without DML`);
      else if (c.hasDefault) reasons.push(`column ${c.name} added with a default: existing rows changed without DML`);
      else if (dropped.has(c.name)) reasons.push(`column ${c.name} was dropped and added again: the standby still holds its old values`);
      continue;
    }
    const from = parseTypeText(old);
    if (from === null) {
      if (old !== typeText(c.type)) reasons.push(`column ${c.name} changed type from ${old} to ${typeText(c.type)}: existing rows changed without DML`);
    } else if (!isLosslessWidening(from, c.type)) {
      reasons.push(`column ${c.name} changed type from ${old} to ${typeText(c.type)}, which is not a lossless widening: existing rows changed without DML`);
    }
  }
  // a rename reads as one column gone and another added without a default: the rows nobody
  // changed since would keep no value for the new name on the standby (and so would a drop + add
  // of a column that takes values from elsewhere, e.g. a restored dump)
  const now = new Set(meta.columns.map((c) => c.name));
  const gone = prev.c.map(([n]) => n).filter((n) => !now.has(n));
  const added = meta.columns.filter((c) => !before.has(c.name) && !excluded.has(c.name) && !dropped.has(c.name) && !c.generated && !c.hasDefault).map((c) => c.name);
  if (gone.length > 0 && added.length > 0) {
    reasons.push(`column${gone.length > 1 ? 's' : ''} ${gone.join(', ')} gone and ${added.join(', ')} added in one change (a rename?): the rows not changed since have no value for ${added.join(', ')} on the standby`);
  }
  return reasons.length === 0 ? null : `${name}: ${reasons.join('; ')}`;
}

/**
 * Plans the window: which tables stream, which (re)snapshot, and the state after it.
 * A table (re)snapshots when it was never captured, when the source version went backwards
 * (restore, failover) or the source identity recorded with its cursor changed (SourceIdentity: a
 * restore), when DDL changed its rows without DML (definitionChange), or when its cursor
 * is below the min valid version (changes are gone: cleanup, TRUNCATE, tracking re-enabled, a
 * rewrite; the source says which when it can, see ResetReasons).
 */
async function plan(session: PollSession, metas: TableMeta[], state: CaptureState, windowSeq: bigint, opts: WindowOptions) {
  const V = session.currentVersion;
  const backwards = state.version >= 0n && V < state.version;
  const identity = hasSourceIdentity(session) ? session.sourceIdentity : null;
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
    const changed = prev ? definitionChange(prev.definition, meta) : null;
    const was = recordedSourceIdentity(prev?.definition);
    if (!prev || prev.cursor < 0n) {
      restart('initial snapshot');
    } else if (backwards) {
      restart(`source version went backwards (${state.version} -> ${V}): restore or failover of the source`);
    } else if (identity !== null && was !== null && identity !== was) {
      // after a restore and more writes than the gap, V is above the cursor again: only the
      // identity tells that the cursor's versions now name other transactions
      restart(`source identity changed (${was} -> ${identity}): the database was restored or replaced, so its versions may be reused`);
    } else {
      // read in every window even when the definition changed: a table whose tracking is off
      // fails here (the source's permanent error) rather than being re-snapshotted blindly
      const minValid = await session.minValidVersion(meta);
      if (changed !== null) {
        restart(changed);
      } else if (prev.cursor < minValid) {
        const why = canExplainResets(session) ? await session.resetReason(meta) : null;
        restart(`cursor ${prev.cursor} is below the min valid version ${minValid}: changes since the cursor are gone${why ? ` (${why})` : ''}`);
      } else {
        streamFrom = prev.cursor;
      }
    }
    const definition = tableDefinition(meta, opts.excluded?.get(name), prev?.definition ?? null, identity);
    plans.push({ meta, name, streamFrom, snapshot, next: { table: name, topic: opts.topicOf(meta), cursor: V, snapshot, rows: 0, definition } });
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
  const budget = opts.maxBatchBytes ?? opts.sizer?.budgetBytes ?? DEFAULT_BATCH_BYTES;
  const sizer = opts.sizer ?? new ReadSizer(budget);
  let seq = windowSeq;
  let buffer: PageEvent[] = [];
  let bufferBytes = 0;
  /** bytes of every event of the window so far */
  let windowBytes = 0;
  const counts = new Map<string, number>();
  const tablesOf = (complete: boolean): TableState[] => {
    const base = complete ? plans.map((p) => p.next) : [...state.tables.values()];
    return base.map((t) => ({ ...t, rows: counts.get(t.table) ?? 0 }));
  };
  const cut = (complete: boolean): Page => {
    const page: Page = {
      seq, windowSeq, version: V, events: buffer, complete, tables: tablesOf(complete), resnapshots: seq === windowSeq ? resnapshots : [], bytes: bufferBytes,
    };
    buffer = [];
    bufferBytes = 0;
    counts.clear();
    seq++;
    return page;
  };
  /** whether the page must be cut before an event of `bytes` joins it */
  const full = (bytes: number) => buffer.length >= opts.maxBatchRows || (buffer.length > 0 && bufferBytes + bytes > budget);
  const push = (p: TablePlan, event: ChangeEvent, bytes: number) => {
    buffer.push({ table: p.meta, event });
    bufferBytes += bytes;
    windowBytes += bytes;
    counts.set(p.name, (counts.get(p.name) ?? 0) + 1);
  };
  const source = (p: TablePlan, version: bigint, commitTs: string | null, snapshot: boolean) => ({
    db: opts.db, schema: p.meta.schema, table: p.meta.table, version, commit_ts: commitTs, batch: seq, snapshot,
  });

  // tables with nothing in the window are not asked for their changes (one statement for all,
  // where the source can tell; see ChangedTables)
  const streaming = plans.filter((p) => p.streamFrom !== null && p.streamFrom < V);
  let changed: Set<string> | null = null;
  if (streaming.length > 1 && canListChangedTables(session)) {
    const since = streaming.reduce((min, p) => (p.streamFrom! < min ? p.streamFrom! : min), streaming[0].streamFrom!);
    changed = await session.changedTables(streaming.map((p) => p.meta), since);
  }
  for (const p of plans) {
    if (p.streamFrom !== null && p.streamFrom < V && (changed === null || changed.has(p.name))) {
      let after: ChangePosition | null = null;
      for (;;) {
        const limit = sizer.limit(p.meta, opts.maxBatchRows);
        const rows = await session.changes(p.meta, p.streamFrom, after, limit);
        let largest = 0;
        for (const r of rows) {
          const bytes = rowBytes(r.row ?? r.key) + EVENT_OVERHEAD_BYTES;
          if (bytes > largest) largest = bytes;
          if (full(bytes)) yield cut(false);
          push(p, {
            op: OPS[r.op], after: r.row, key: r.key, source: source(p, r.version, r.commitTs, false),
            changed_columns: r.changedColumns, ts_ms: now(),
          }, bytes);
        }
        sizer.observe(p.meta, limit, rows.length, largest);
        if (rows.length < limit) break;
        const last = rows[rows.length - 1];
        after = { version: last.version, key: last.key };
      }
    }
    const snap = p.snapshot;
    if (snap && !snap.done) {
      // sub-reads until the window holds snapshotChunkRows rows of the table or about a page of
      // bytes, whichever comes first; at least one read per window, so the snapshot always moves
      let afterKey = snap.lastKey === null ? null : decodeKeyJson(snap.lastKey);
      let read = 0;
      for (;;) {
        const limit = sizer.limit(p.meta, opts.snapshotChunkRows - read);
        const rows = await session.snapshotChunk(p.meta, afterKey, limit);
        let largest = 0;
        for (const row of rows) {
          const bytes = rowBytes(row) + EVENT_OVERHEAD_BYTES;
          if (bytes > largest) largest = bytes;
          if (full(bytes)) yield cut(false);
          push(p, { op: 'r', after: row, key: keyOf(p.meta, row), source: source(p, V, null, true), changed_columns: null, ts_ms: now() }, bytes);
        }
        sizer.observe(p.meta, limit, rows.length, largest);
        read += rows.length;
        if (rows.length > 0) {
          afterKey = keyOf(p.meta, rows[rows.length - 1]);
          snap.lastKey = encodeKeyJson(afterKey);
        }
        if (rows.length < limit) {
          snap.done = true;
          break;
        }
        if (read >= opts.snapshotChunkRows || windowBytes >= budget) break;
      }
    }
  }
  yield cut(true);
}

/** True when a complete single-page window carries nothing new: no events, no progress. */
export function isNoop(page: Page, state: CaptureState): boolean {
  if (!page.complete || page.seq !== page.windowSeq || page.events.length > 0 || page.version !== state.version) return false;
  return page.tables.every((t) => {
    const prev = state.tables.get(t.table);
    // a new definition must reach the batch log even when nothing else moved: it is what the
    // next comparison starts from (a dropped column remembered, say)
    if (!prev || prev.cursor !== t.cursor || (prev.definition ?? null) !== (t.definition ?? null)) return false;
    const a = prev.snapshot;
    const b = t.snapshot;
    return a === b || (a !== null && b !== null && a.epoch === b.epoch && a.done === b.done && a.lastKey === b.lastKey);
  });
}
