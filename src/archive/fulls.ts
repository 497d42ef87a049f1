// Synthetic fulls (`ctrelay archive compact`): every table's net rows at one archived window, merged
// from the previous full and the incrementals after it, without touching the source. A full lives
// beside the manifest chain, never in it: `fulls/<seq, 20 digits>/` holds its files and, written
// last, its own small manifest `full.json`. So compaction can run (from cron, on another machine)
// while the archiver appends segments: the two never write the same object. A folder without a
// full.json is an interrupted compaction: ignored, and overwritten by the next one at that point
// (the names are deterministic) or deleted by retention.
import { ArchiveCorruptError } from '../core/errors.ts';
import { sha256, type FileEntry, type Manifest, type WindowEntry } from './manifest.ts';
import type { ArchiveStore } from './store.ts';

export const FULL_FORMAT = 1;
const FULLS = 'fulls/';

export interface FullEntry {
  format: number;
  sourceId: string;
  topicPrefix: string;
  /** the archived window it is the state at */
  window: WindowEntry;
  /** per table: the snapshot epoch whose net rows it holds (a table with no row has one empty file) */
  tables: { table: string; epoch: number }[];
  /** kind 'full', `at` = window.seq */
  files: FileEntry[];
  /** SHA-256 of the JSON without this field */
  sha256?: string;
}

const pad = (n: bigint | string) => String(n).padStart(20, '0');
/** the folder of the full at window seq `seq` */
export const fullPrefix = (seq: bigint | string) => `${FULLS}${pad(seq)}/`;

function bodyOf(f: FullEntry): Buffer {
  const { sha256: _omit, ...rest } = f;
  return Buffer.from(JSON.stringify(rest));
}

/**
 * The archive's synthetic fulls at or before its last archived window, oldest first. A full.json
 * whose checksum fails is ArchiveCorruptError naming it (it is never torn: put is all-or-nothing).
 */
export async function readFulls(store: ArchiveStore, m: Manifest): Promise<FullEntry[]> {
  const out: FullEntry[] = [];
  for (const name of (await store.list(FULLS)).filter((n) => /^fulls\/\d{20}\/full\.json$/.test(n))) {
    const buf = await store.get(name);
    if (!buf) continue; // pruned since the listing
    let f: FullEntry;
    try {
      f = JSON.parse(buf.toString()) as FullEntry;
    } catch {
      throw new ArchiveCorruptError(`${name} in ${store.location} is not JSON: the synthetic full is damaged (delete its folder; ctrelay archive compact makes another)`);
    }
    if (f.format !== FULL_FORMAT || f.sha256 !== sha256(bodyOf(f))) {
      throw new ArchiveCorruptError(`${name} in ${store.location} fails its checksum: the synthetic full is damaged (delete its folder; ctrelay archive compact makes another)`);
    }
    if (f.sourceId !== m.sourceId || f.topicPrefix !== m.topicPrefix || BigInt(f.window.seq) > BigInt(m.archived.seq)) continue;
    out.push(f);
  }
  return out.sort((a, b) => (BigInt(a.window.seq) < BigInt(b.window.seq) ? -1 : 1));
}

/** Writes a full's manifest, after every file it lists was put. */
export async function writeFull(store: ArchiveStore, f: FullEntry): Promise<void> {
  const body = bodyOf(f);
  await store.put(`${fullPrefix(f.window.seq)}full.json`, Buffer.from(JSON.stringify({ ...JSON.parse(body.toString()), sha256: sha256(body) }, null, 1)));
}

/** Deletes everything under fulls/ at window seqs below `seq`: pruned fulls and interrupted ones. */
export async function deleteFullsBefore(store: ArchiveStore, seq: bigint): Promise<string[]> {
  const names = (await store.list(FULLS)).filter((n) => {
    const m = /^fulls\/(\d{20})\//.exec(n);
    return m !== null && BigInt(m[1]) < seq;
  });
  // full.json first: a full is gone the moment its manifest is, never half there
  for (const n of names.filter((x) => x.endsWith('/full.json'))) await store.delete(n);
  for (const n of names.filter((x) => !x.endsWith('/full.json'))) await store.delete(n);
  return names;
}
