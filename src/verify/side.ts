// The contract between `ctrelay verify`'s engine-independent logic (chunking, bisection, settling
// in-flight rows) and the databases it compares. One implementation per engine lives in
// src/verify/engines/; a source side adds what change tracking knows (changedSince).
//
// Every value is compared through its CANONICAL TEXT, computed inside the database by the engine
// (the same text on every engine for equal values: see src/verify/engines/README.md), so that
// PostgreSQL -> MariaDB verifies exactly and equal chunks never leave the databases.
import type { ColumnMeta, TableMeta } from '../core/model.ts';

/** A primary key as the canonical texts of its columns, in key order (never NULL). */
export type Key = readonly string[];

/**
 * Rows with lo < key <= hi in the engines' common key order (numbers numerically, text and bytes
 * by their UTF-8 / raw bytes, times chronologically); null: unbounded on that side.
 */
export interface KeyRange {
  lo: Key | null;
  hi: Key | null;
}

/** Count and an order-independent sum of 60-bit row hashes, as decimal text: equal rows, equal sums. */
export interface ChunkSum {
  count: bigint;
  sum: string;
}

/** One table as verify compares it; each side finds its own copy of `source` (a standby by its namer). */
export interface VerifyTable {
  /** the source's table (names in reports) */
  source: TableMeta;
  /** the columns compared, key columns first in key order, then the others in source order */
  columns: ColumnMeta[];
  keyCount: number;
}

/** Canonical texts of a row's compared columns (VerifyTable.columns order); null for SQL NULL. */
export type CanonRow = readonly (string | null)[];

/**
 * A read-only snapshot of one side. All reads of one snapshot see the same state, the state at
 * `version`: the source's change-tracking version, or the source version the standby has applied
 * (-1 when it holds none). Cheap to open; held only while one chunk is compared.
 */
export interface SideSnapshot {
  readonly version: bigint;
  /** whether the table exists on this side (a standby may not have created it yet) */
  exists(t: VerifyTable): Promise<boolean>;
  /** the key `offset` rows (1-based) after `lo` in key order, or null when the table has fewer */
  keyAt(t: VerifyTable, lo: Key | null, offset: number): Promise<Key | null>;
  checksum(t: VerifyTable, range: KeyRange): Promise<ChunkSum>;
  /** each row's key and row hash, in key order */
  rowHashes(t: VerifyTable, range: KeyRange): Promise<{ key: Key; hash: string }[]>;
  /** the planner's estimate of the table's rows (for progress), or null */
  estimateRows?(t: VerifyTable): Promise<bigint | null>;
  /** canonical rows of the given keys (absent keys are absent from the map), by keyText */
  rows(t: VerifyTable, keys: readonly Key[]): Promise<Map<string, CanonRow>>;
  end(): Promise<void>;
}

export interface VerifySide {
  /** 'source' or 'standby <id>', for messages */
  readonly name: string;
  snapshot(): Promise<SideSnapshot>;
  close(): Promise<void>;
}

/** The source side: its snapshots also answer which keys change tracking saw change. */
export interface SourceSnapshot extends SideSnapshot {
  /** those of `keys` changed after version `since` up to this snapshot's version */
  changedSince(t: VerifyTable, since: bigint, keys: readonly Key[]): Promise<Set<string>>;
  /**
   * Locks the rows of `keys` that exist against change until end() (a short shared row lock, like
   * pt-table-checksum's per-chunk locks), then returns the version that includes their last change.
   * For hot rows that change faster than the standby applies them. Null when the login may not
   * lock rows (the keys are then reported as not proven).
   */
  lockKeys?(t: VerifyTable, keys: readonly Key[]): Promise<bigint | null>;
}

export interface SourceSide extends VerifySide {
  snapshot(): Promise<SourceSnapshot>;
  /** a snapshot in which lockKeys may be called (read committed); absent when the engine cannot lock */
  lockingSnapshot?(): Promise<SourceSnapshot>;
}

/** One text per key, for maps and messages. */
export function keyText(key: Key): string {
  return key.length === 1 ? key[0] : JSON.stringify(key);
}

/** The compared columns of a table: the key first, in key order, then the others as the source orders them. */
export function verifyColumns(meta: TableMeta, skip: ReadonlySet<string> = new Set()): ColumnMeta[] {
  const byName = new Map(meta.columns.map((c) => [c.name, c]));
  const key = meta.key.map((k) => byName.get(k)!);
  return [...key, ...meta.columns.filter((c) => !meta.key.includes(c.name) && !skip.has(c.name))];
}
