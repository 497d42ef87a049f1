// Verifies one table: chunk by chunk in key order, each chunk compared inside a fresh pair of short
// snapshots (no long transaction on a busy source), the differing keys collected, then settled
// against in-flight changes once for the whole table (waiting for the standby once, not per chunk).
import { setTimeout as sleep } from 'node:timers/promises';
import { differingKeys, type Candidate } from './bisect.ts';
import { settle, type Difference } from './settle.ts';
import type { Key, SideSnapshot, SourceSide, VerifySide, VerifyTable } from './side.ts';

export interface TableOptions {
  chunkRows: number;
  leafRows: number;
  attempts: number;
  lock: boolean;
  waitStandby(version: bigint): Promise<boolean>;
  /**
   * at most this many differing keys per table are examined (settled against in-flight changes);
   * any beyond count as differences, since they were not proven in flight. Rows in flight during one
   * verify are far fewer (hundreds under pgbench), so this bounds only gross divergence.
   */
  maxExamined: number;
  /** chunks per second at most (0: unbounded), for busy primaries */
  maxChunksPerSecond: number;
  progress?(p: { chunks: number; rows: bigint; estimate: bigint | null }): void;
}

export interface TableResult {
  table: string;
  /** source rows counted */
  rows: bigint;
  chunks: number;
  /** keys that differed when first compared (most settle as in flight) */
  candidates: number;
  differences: Difference[];
  /** all differences found, also those beyond maxExamined */
  differenceCount: number;
  unsettled: Key[];
  /** the table is absent on the standby (every source row then is a difference) */
  missingOnStandby: boolean;
  ms: number;
}

export async function verifyTable(t: VerifyTable, source: SourceSide, standby: VerifySide, opts: TableOptions): Promise<TableResult> {
  const started = Date.now();
  const name = `${t.source.schema}.${t.source.table}`;
  let lo: Key | null = null;
  let chunks = 0;
  let rows = 0n;
  let maxVersion = -1n;
  const candidates: Candidate[] = [];
  let candidateCount = 0;
  let estimate: bigint | null = null;
  for (;;) {
    const tick = Date.now();
    const [a, b] = await bothSnapshots(source, standby);
    let hi: Key | null;
    try {
      if (chunks === 0 && !(await b.exists(t))) {
        const count = (await a.checksum(t, { lo: null, hi: null })).count;
        return { table: name, rows: count, chunks: 0, candidates: 0, differences: [], differenceCount: Number(count), unsettled: [], missingOnStandby: true, ms: Date.now() - started };
      }
      if (chunks === 0 && opts.progress && a.estimateRows) estimate = await a.estimateRows(t);
      hi = await a.keyAt(t, lo, opts.chunkRows);
      const { found, count } = await differingKeys(t, a, b, { lo, hi }, { leafRows: opts.leafRows });
      candidateCount += found.length;
      for (const c of found) if (candidates.length < opts.maxExamined) candidates.push(c);
      if (found.length > 0 && a.version > maxVersion) maxVersion = a.version;
      rows += count;
    } finally {
      await Promise.all([a.end(), b.end()]);
    }
    chunks++;
    opts.progress?.({ chunks, rows, estimate });
    if (hi === null) break;
    lo = hi;
    if (opts.maxChunksPerSecond > 0) {
      const wait = 1000 / opts.maxChunksPerSecond - (Date.now() - tick);
      if (wait > 0) await sleep(wait);
    }
  }
  const settled = candidates.length === 0
    ? { differences: [], unsettled: [] }
    : await settle(t, candidates, maxVersion, source, standby, { attempts: opts.attempts, waitStandby: opts.waitStandby, lock: opts.lock });
  // candidates beyond maxExamined were not examined: counted as differences, not proven in flight
  const unexamined = candidateCount - candidates.length;
  return {
    table: name,
    rows,
    chunks,
    candidates: candidateCount,
    differences: settled.differences,
    differenceCount: settled.differences.length + unexamined,
    unsettled: settled.unsettled,
    missingOnStandby: false,
    ms: Date.now() - started,
  };
}

/** Both snapshots, or neither: a snapshot left open would hold its connection and its pool's close. */
async function bothSnapshots(source: SourceSide, standby: VerifySide): Promise<[SideSnapshot, SideSnapshot]> {
  const [a, b] = await Promise.allSettled([source.snapshot(), standby.snapshot()]);
  if (a.status === 'fulfilled' && b.status === 'fulfilled') return [a.value, b.value];
  if (a.status === 'fulfilled') await a.value.end().catch(() => undefined);
  if (b.status === 'fulfilled') await b.value.end().catch(() => undefined);
  throw a.status === 'rejected' ? a.reason : (b as PromiseRejectedResult).reason;
}
