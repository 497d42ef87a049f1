// Telling real differences from rows in flight. A key found differing between a source snapshot at
// version Vs and a standby snapshot at its applied version Va may simply not have been applied yet
// (Va < its change) or have changed again at the source. Each attempt:
//   1. waits until the standby has applied the version of the last source read;
//   2. reads the keys' rows on the standby (at Va), then on the source (at Vs >= Va) together with
//      which of them change tracking saw change after Va;
//   3. a key whose rows are equal is settled; a key that differs and did NOT change after Va held
//      the same row at Va as at Vs, so the standby really differs: a difference; the others are
//      still in flight and go to the next attempt.
// Keys still in flight after the attempts (rows that change faster than the standby applies them)
// get one locked attempt when the source can lock rows: their rows are share-locked on the source,
// the version that includes their last change is read, the standby is awaited to it, and the rows
// are compared while nothing can change them. What is left is reported as unsettled, never as equal.
import { keyText, type CanonRow, type Key, type SideSnapshot, type SourceSide, type VerifySide, type VerifyTable } from './side.ts';
import type { Candidate, DiffKind } from './bisect.ts';

export interface Difference {
  key: Key;
  kind: DiffKind;
  /** the differing columns of a `different` row */
  columns: string[];
  source: CanonRow | null;
  standby: CanonRow | null;
}

export interface SettleOptions {
  attempts: number;
  /** waits until the standby has applied `version`; false when it did not within its time */
  waitStandby(version: bigint): Promise<boolean>;
  /** take share locks on the source for keys still in flight after the attempts */
  lock: boolean;
}

export interface Settled {
  differences: Difference[];
  /** keys that kept changing: neither proven equal nor different */
  unsettled: Key[];
}

function compareRows(t: VerifyTable, key: Key, src: CanonRow | undefined, sb: CanonRow | undefined): Difference | null {
  if (src && sb) {
    const columns = t.columns.filter((_c, i) => src[i] !== sb[i]).map((c) => c.name);
    return columns.length === 0 ? null : { key, kind: 'different', columns, source: src, standby: sb };
  }
  if (!src && !sb) return null;
  return { key, kind: src ? 'missing' : 'extra', columns: [], source: src ?? null, standby: sb ?? null };
}

async function within<T>(snap: SideSnapshot, fn: (s: SideSnapshot) => Promise<T>): Promise<T> {
  try {
    return await fn(snap);
  } finally {
    await snap.end();
  }
}

export async function settle(t: VerifyTable, candidates: readonly Candidate[], sourceVersion: bigint, source: SourceSide, standby: VerifySide, opts: SettleOptions): Promise<Settled> {
  const differences: Difference[] = [];
  let pending: Key[] = candidates.map((c) => c.key);
  let seen = sourceVersion;
  for (let attempt = 0; attempt < opts.attempts && pending.length > 0; attempt++) {
    if (!(await opts.waitStandby(seen))) break;
    const sb = await standby.snapshot();
    const { va, rows: sbRows } = await within(sb, async (s) => ({ va: s.version, rows: await s.rows(t, pending) }));
    const src = await source.snapshot();
    const { vs, rows: srcRows, changed } = await within(src, async () => ({
      vs: src.version,
      rows: await src.rows(t, pending),
      changed: await src.changedSince(t, va, pending),
    }));
    const next: Key[] = [];
    for (const key of pending) {
      const id = keyText(key);
      const d = compareRows(t, key, srcRows.get(id), sbRows.get(id));
      if (d === null) continue;
      if (changed.has(id)) next.push(key);
      else differences.push(d);
    }
    pending = next;
    seen = vs;
  }
  if (pending.length > 0 && opts.lock && source.lockingSnapshot) {
    const locked = await lockedAttempt(t, pending, source, standby, opts);
    differences.push(...locked.differences);
    pending = locked.unsettled;
  }
  return { differences, unsettled: pending };
}

async function lockedAttempt(t: VerifyTable, keys: Key[], source: SourceSide, standby: VerifySide, opts: SettleOptions): Promise<Settled> {
  const src = await source.lockingSnapshot!();
  try {
    const version = await src.lockKeys!(t, keys);
    if (version === null || !(await opts.waitStandby(version))) return { differences: [], unsettled: keys };
    const sb = await standby.snapshot();
    const { va, sbRows } = await within(sb, async (s) => ({ va: s.version, sbRows: await s.rows(t, keys) }));
    const srcRows = await src.rows(t, keys);
    // rows that exist are locked; a key absent at the source could still be inserted meanwhile
    const changed = await src.changedSince(t, va, keys);
    const differences: Difference[] = [];
    const unsettled: Key[] = [];
    for (const key of keys) {
      const id = keyText(key);
      const d = compareRows(t, key, srcRows.get(id), sbRows.get(id));
      if (d === null) continue;
      if (!srcRows.has(id) && changed.has(id)) unsettled.push(key);
      else differences.push(d);
    }
    return { differences, unsettled };
  } finally {
    await src.end();
  }
}
