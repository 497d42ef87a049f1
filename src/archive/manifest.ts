// The archive's manifest (README.md in this folder): its shape, how the newest valid one is found,
// how a new one is written, and the checks of `restore --check`. Numbers that can pass 2^53
// (seq, version, offset) are decimal strings in the JSON.
import { createHash } from 'node:crypto';
import { ArchiveCorruptError, ArchiveError } from '../core/errors.ts';
import type { ArchiveStore } from './store.ts';

export const MANIFEST_FORMAT = 1;
const MANIFESTS = 'manifests/';
/** manifests kept besides the newest: a reader that listed just before a prune still finds its one */
const KEEP_MANIFESTS = 3;

/** A complete window: a restore point. */
export interface WindowEntry {
  seq: string;
  version: string;
  previousVersion: string;
  /** offset of its complete batch's record in the batch log */
  offset: string;
  commitTs: string | null;
}

/** Windows `firstSeq..lastSeq` written in one go: their files and their index object. */
export interface SegmentEntry {
  firstSeq: string;
  lastSeq: string;
  /** the version before the segment's first window (its previousVersion) and its last window's */
  fromVersion: string;
  toVersion: string;
  firstCommitTs: string | null;
  lastCommitTs: string | null;
  /** `windows/<firstSeq>-<lastSeq>.json`: the segment's WindowEntry list */
  index: string;
  indexSha256: string;
}

export interface FileEntry {
  name: string;
  table: string;
  epoch: number;
  kind: 'full' | 'incremental';
  firstSeq: string;
  lastSeq: string;
  /** the part number within the segment: a table whose definition changed inside one has several, in event order */
  part: number;
  fromVersion: string;
  toVersion: string;
  firstCommitTs: string | null;
  lastCommitTs: string | null;
  fingerprint: string;
  rows: number;
  bytes: number;
  sha256: string;
  /** a synthetic full's file (fulls.ts): the table's net rows at window seq `at` */
  at?: string;
}

/** A table's snapshot epoch: a full from startedSeq on, complete at doneSeq. */
export interface EpochEntry {
  table: string;
  epoch: number;
  startedSeq: string;
  /** the first archived window whose state says the snapshot is done; null while it runs */
  doneSeq: string | null;
  doneVersion: string | null;
}

export interface Manifest {
  format: number;
  sourceId: string;
  topicPrefix: string;
  manifestSeq: number;
  /** the last complete window archived */
  archived: { seq: string; version: string; offset: string; commitTs: string | null };
  segments: SegmentEntry[];
  files: FileEntry[];
  epochs: EpochEntry[];
  /**
   * Set once retention dropped segments (retention.ts): the window of the oldest synthetic full
   * kept. Restore points before it are gone.
   */
  retainedFrom?: WindowEntry;
  /** SHA-256 of the manifest's JSON without this field */
  sha256?: string;
}

export const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const manifestName = (seq: number) => `${MANIFESTS}${String(seq).padStart(20, '0')}.json`;

function bodyOf(m: Manifest): Buffer {
  const { sha256: _omit, ...rest } = m;
  return Buffer.from(JSON.stringify(rest));
}

/** The newest manifest whose own checksum holds (a torn or hand-edited one is skipped), or null. */
export async function readManifest(store: ArchiveStore): Promise<Manifest | null> {
  const names = (await store.list(MANIFESTS)).filter((n) => /^manifests\/\d{20}\.json$/.test(n)).reverse();
  for (const name of names) {
    const buf = await store.get(name);
    if (!buf) continue;
    let m: Manifest;
    try {
      m = JSON.parse(buf.toString()) as Manifest;
    } catch {
      continue;
    }
    if (m.format !== MANIFEST_FORMAT || m.sha256 !== sha256(bodyOf(m))) continue;
    return m;
  }
  return null;
}

/** The archive's manifest, or an ArchiveError saying there is none. */
export async function requireManifest(store: ArchiveStore): Promise<Manifest> {
  const m = await readManifest(store);
  if (!m) throw new ArchiveError(`${store.location} holds no valid archive manifest (manifests/*.json): nothing archived there yet, or not an archive`);
  return m;
}

/** Writes `m` as the next manifest (after every file it lists was put), then prunes old ones. */
export async function writeManifest(store: ArchiveStore, m: Manifest): Promise<void> {
  const body = bodyOf(m);
  const withSum = { ...JSON.parse(body.toString()), sha256: sha256(body) };
  await store.put(manifestName(m.manifestSeq), Buffer.from(JSON.stringify(withSum, null, 1)));
  for (const old of (await store.list(MANIFESTS)).slice(0, -(KEEP_MANIFESTS + 1))) await store.delete(old);
}

/** An object the manifest lists, with its checksum checked; ArchiveCorruptError naming it otherwise. */
export async function getChecked(store: ArchiveStore, name: string, want: string): Promise<Buffer> {
  const buf = await store.get(name);
  if (!buf) throw new ArchiveCorruptError(`${name} in ${store.location} is listed in the manifest but missing`);
  const got = sha256(buf);
  if (got !== want) throw new ArchiveCorruptError(`${name} in ${store.location} is corrupt: its SHA-256 is ${got}, the manifest recorded ${want}`);
  return buf;
}

/** A segment's restore points (checksummed). */
export async function readWindows(store: ArchiveStore, s: SegmentEntry): Promise<WindowEntry[]> {
  return JSON.parse((await getChecked(store, s.index, s.indexSha256)).toString()) as WindowEntry[];
}

/**
 * The chain: segments in seq order without overlap, each window's previousVersion the version of
 * the window before it (no window missing), seqs strictly increasing (none repeated), every file
 * inside a segment. Returns the problems found (empty: the chain holds).
 */
export async function checkChain(store: ArchiveStore, m: Manifest): Promise<string[]> {
  const problems: string[] = [];
  let prev: WindowEntry | null = null;
  for (const s of m.segments) {
    const windows = await readWindows(store, s);
    if (windows.length === 0 || windows[0].previousVersion !== s.fromVersion || windows.at(-1)!.version !== s.toVersion || windows.at(-1)!.seq !== s.lastSeq) {
      problems.push(`segment ${s.firstSeq}-${s.lastSeq}: its index ${s.index} does not match the manifest's entry`);
    }
    for (const w of windows) {
      if (prev && BigInt(w.seq) <= BigInt(prev.seq)) problems.push(`window ${w.seq} (${s.index}) repeats or precedes window ${prev.seq}`);
      else if (prev && w.previousVersion !== prev.version) problems.push(`gap before window ${w.seq} (${s.index}): it follows version ${w.previousVersion}, the archive's previous window is at ${prev.version}`);
      prev = w;
    }
  }
  if (prev && prev.seq !== m.archived.seq) problems.push(`the manifest says window ${m.archived.seq} was archived last, its segments end at ${prev.seq}`);
  const spans = new Set(m.segments.map((s) => `${s.firstSeq}-${s.lastSeq}`));
  for (const f of m.files) if (!spans.has(`${f.firstSeq}-${f.lastSeq}`)) problems.push(`${f.name} covers batches ${f.firstSeq}-${f.lastSeq}, no segment does`);
  const names = new Set<string>();
  for (const f of m.files) {
    if (names.has(f.name)) problems.push(`${f.name} is listed twice`);
    names.add(f.name);
  }
  return problems;
}
