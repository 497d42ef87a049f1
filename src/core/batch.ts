// Batches, their log records and the change events they carry (DESIGN sections 2-3). Pure data and
// pure functions: the capture agent builds these, the applier, tail and tests read them.
import type { Row } from './model.ts';

export type Op = 'c' | 'u' | 'd' | 'r';

/**
 * One change event: the envelope of DESIGN section 3, in canonical values. Field names are the
 * Avro field names, so events go to the encoder without being copied.
 */
export interface ChangeEvent {
  op: Op;
  /** the row at the batch's version; null for d */
  after: Row | null;
  key: Row;
  source: {
    db: string;
    schema: string;
    table: string;
    /** CT version of the change (for r: the version the snapshot read at) */
    version: bigint;
    /** commit time of `version`, ISO-8601 UTC, where the source has one */
    commit_ts: string | null;
    batch: bigint;
    snapshot: boolean;
    /** always "net" (filled in by the encoder): change tracking has no before-image */
    semantics?: 'net';
  };
  changed_columns: string[] | null;
  ts_ms: number;
}

/** Progress of a table's (re-)snapshot, carried in every batch record so capture can resume it. */
export interface SnapshotState {
  /** 1 for the initial snapshot, +1 for every re-snapshot */
  epoch: number;
  /** JSON of the last key read (see encodeKeyJson), null before the first chunk */
  lastKey: string | null;
  done: boolean;
  /** seq of the batch that began this snapshot epoch */
  startedSeq: bigint;
}

export interface TableState {
  /** "schema.table" */
  table: string;
  topic: string;
  /** version this table's changes are captured up to; -1 = nothing captured yet */
  cursor: bigint;
  snapshot: SnapshotState | null;
  /** events of this table in this batch */
  rows: number;
  /**
   * The table's definition as captured (a compact canonical JSON of its columns: name, type,
   * default, generated; see src/capture/window.ts tableDefinition), compared with the catalog in
   * every window: DDL that changed rows without DML (a column added with a default, a type change
   * that is not a lossless widening) re-snapshots the table, also when it happened while capture
   * was down. It also carries the source identity the cursor belongs to (SourceIdentity in
   * change-source.ts), so that a restore of the source re-snapshots the table. Absent (null) in
   * records written before ctrelay recorded it; then neither is compared.
   */
  definition?: string | null;
}

export interface OffsetRange {
  topic: string;
  partition: number;
  first: bigint;
  last: bigint;
  count: number;
}

/**
 * The batch-log record: one per batch, in the single-partition `<prefix>.batches` topic, written in
 * the same Kafka transaction as the batch's events. It is the capture checkpoint.
 *
 * A window is everything read in one source snapshot at one version V; a large window is split
 * into several batches (pages) sharing V, only the last `complete`. A consumer applies a window
 * when its complete batch arrives; pages of a window that never completes (the agent died
 * mid-window) are followed by a batch with a new window_seq and must be discarded.
 */
export interface BatchRecord {
  sourceId: string;
  seq: bigint;
  windowSeq: bigint;
  version: bigint;
  /** version of the previous complete window; -1 when none */
  previousVersion: bigint;
  complete: boolean;
  ranges: OffsetRange[];
  /**
   * The state to resume from: for a complete batch the state after its window; for an incomplete
   * page the state before its window. `rows` counts this batch's events.
   */
  tables: TableState[];
  captureTsMs: number;
  commitTsMs: number | null;
  mode: 'async' | 'sync';
  /** set on the record `ctrelay promote` writes last: the pipeline ends here (see FenceMark) */
  fence?: FenceMark;
}

/**
 * The end of a pipeline: `ctrelay promote` made a standby the primary. Written as one more batch
 * (seq + 1, no events, the previous batch's version and tables) in a transaction of capture's own
 * transactional id, which fences a running capture; a capture that starts finds it as the last
 * record and refuses to publish, an applier that reaches it stops there.
 */
export interface FenceMark {
  standbyId: string;
  atMs: number;
  /** the source version the promoted standby held */
  version: bigint;
  kind: 'planned' | 'forced';
}

/** What a process met at a fence, for its error: who was promoted, when, and the ways on. */
export function describeFence(prefix: string, f: FenceMark): string {
  return `the pipeline ${prefix} ended: standby ${f.standbyId} was promoted (${f.kind}) at ${new Date(f.atMs).toISOString()} holding source version ${f.version}, ` +
    'and ctrelay promote fenced this pipeline. To replicate again, reverse the flow with ctrelay failback (a new pipeline under another kafka.topicPrefix)';
}

/** Keys travel inside batch records as JSON; bigint and Buffer need tags to come back exactly. */
export function encodeKeyJson(key: Row): string {
  return JSON.stringify(key, (_k, v) => {
    if (typeof v === 'bigint') return { $big: v.toString() };
    if (v && typeof v === 'object' && v.type === 'Buffer' && Array.isArray(v.data)) return { $hex: Buffer.from(v.data).toString('hex') };
    return v;
  });
}

export function decodeKeyJson(json: string): Row {
  return JSON.parse(json, (_k, v) => {
    if (v && typeof v === 'object' && typeof v.$big === 'string') return BigInt(v.$big);
    if (v && typeof v === 'object' && typeof v.$hex === 'string') return Buffer.from(v.$hex, 'hex');
    return v;
  });
}

/** Stable identity of a key for maps and sets (column order fixed by the table's key order). */
export function keyId(key: Row, keyColumns: string[]): string {
  let s = '';
  for (const c of keyColumns) {
    const v = key[c];
    s += (Buffer.isBuffer(v) ? 'x' + v.toString('hex') : typeof v === 'bigint' ? 'n' + v : typeof v + ':' + String(v)) + '\u0000';
  }
  return s;
}
