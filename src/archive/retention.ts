// Retention (archive.retention.fulls = N): keep the N newest fulls and whatever restoring at or
// after the oldest of them needs; delete the rest. The fulls counted are the synthetic ones
// (fulls.ts) and, until retention first drops anything, the archive's beginning (the tables' first
// snapshots). Only the archiver applies it, right after writing a manifest: it is the one writer of
// the manifest chain, so retention never races a segment (compaction writes only under fulls/).
import { deleteFullsBefore, type FullEntry } from './fulls.ts';
import type { Manifest } from './manifest.ts';
import type { ArchiveStore } from './store.ts';

export interface RetentionPlan {
  /** the manifest without the dropped segments and files */
  manifest: Manifest;
  /** segment files and indexes no restore point at or after the oldest kept full needs */
  drop: string[];
  /** fulls before the oldest kept one go too */
  fullsBefore: bigint;
}

/**
 * What keeping `keep` fulls drops, or null when nothing goes. A segment goes when it ends before
 * the oldest kept full F's window (at seq c), so all its events are in F for every table restoring from F, and
 * before the snapshot start of any table that does not (its snapshot was running at c, so it
 * restores from its own start).
 */
export function planRetention(m: Manifest, fulls: FullEntry[], keep: number): RetentionPlan | null {
  const count = fulls.length + (m.retainedFrom ? 0 : 1);
  if (count <= keep || fulls.length === 0) return null;
  const oldest = fulls[Math.max(0, fulls.length - keep)];
  const c = BigInt(oldest.window.seq);
  // the segment holding c's window stays: restore points are the windows the segments list
  let cut = c;
  for (const table of new Set(m.epochs.map((e) => e.table))) {
    const e = m.epochs.filter((x) => x.table === table && BigInt(x.startedSeq) <= c).sort((a, b) => b.epoch - a.epoch)[0];
    if (e && !oldest.tables.some((t) => t.table === table && t.epoch === e.epoch) && BigInt(e.startedSeq) < cut) cut = BigInt(e.startedSeq);
  }
  const gone = m.segments.filter((s) => BigInt(s.lastSeq) < cut);
  const older = fulls.some((f) => BigInt(f.window.seq) < c);
  if (gone.length === 0 && !older && m.retainedFrom?.seq === oldest.window.seq) return null;
  const spans = new Set(gone.map((s) => `${s.firstSeq}-${s.lastSeq}`));
  const dropFiles = m.files.filter((f) => spans.has(`${f.firstSeq}-${f.lastSeq}`));
  return {
    manifest: {
      ...m,
      manifestSeq: m.manifestSeq + 1,
      segments: m.segments.filter((s) => !spans.has(`${s.firstSeq}-${s.lastSeq}`)),
      files: m.files.filter((f) => !spans.has(`${f.firstSeq}-${f.lastSeq}`)),
      retainedFrom: oldest.window,
    },
    drop: [...dropFiles.map((f) => f.name), ...gone.map((s) => s.index)],
    fullsBefore: c,
  };
}

/** Deletes what a plan drops, after its manifest was written (a crash in between leaves only garbage the archiver sweeps). */
export async function applyRetention(store: ArchiveStore, plan: RetentionPlan): Promise<number> {
  for (const name of plan.drop) await store.delete(name);
  return plan.drop.length + (await deleteFullsBefore(store, plan.fullsBefore)).length;
}
