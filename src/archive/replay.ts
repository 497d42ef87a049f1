// Reading an archive back at a restore point: which window a point names, which files rebuild each
// table there, and their events in order. Used by restore (into a database) and compact (into a
// synthetic full), so both read an archive the same way.
import { SingleObjectEventDecoder } from '../avro/event-decoder.ts';
import type { DecodedEvent } from '../core/codec.ts';
import { ArchiveCorruptError, ArchiveError } from '../core/errors.ts';
import { eachRecord, readBlocks, readContainer, type ContainerBlocks, type ContainerFile } from './container.ts';
import type { FullEntry } from './fulls.ts';
import { getChecked, readWindows, type FileEntry, type Manifest, type WindowEntry } from './manifest.ts';
import type { ArchiveStore } from './store.ts';

export type RestorePoint = { kind: 'latest' } | { kind: 'version'; version: bigint } | { kind: 'time'; at: Date };

/** The restore point `p` names in archive `m`: ArchiveError when the archive does not hold one. */
export async function resolvePoint(store: ArchiveStore, m: Manifest, p: RestorePoint): Promise<WindowEntry> {
  if (m.segments.length === 0) throw new ArchiveError(`${store.location} holds no archived window yet`);
  if (p.kind === 'latest') return (await readWindows(store, m.segments.at(-1)!)).at(-1)!;
  const fits = (w: WindowEntry) => (p.kind === 'version' ? BigInt(w.version) <= p.version : w.commitTs !== null && Date.parse(w.commitTs) <= p.at.getTime());
  const asked = p.kind === 'version' ? `version ${p.version}` : `time ${p.at.toISOString()}`;
  let found: WindowEntry | undefined;
  for (const s of [...m.segments].reverse()) {
    if (p.kind === 'version' && BigInt(s.fromVersion) > p.version) continue;
    found = (await readWindows(store, s)).filter(fits).at(-1);
    if (found) break;
  }
  const r = m.retainedFrom;
  if (r && (!found || BigInt(found.seq) < BigInt(r.seq))) {
    throw new ArchiveError(`${asked} is before the oldest full ${store.location} keeps (version ${r.version}, committed ${r.commitTs ?? 'at an unknown time'}; archive.retention.fulls dropped what came before)`);
  }
  if (found) return found;
  const first = (await readWindows(store, m.segments[0]))[0];
  throw new ArchiveError(`${asked} is before the oldest window ${store.location} holds (version ${first.version}, committed ${first.commitTs ?? 'at an unknown time'})`);
}

/** What rebuilds one table at a point: its files in replay order. */
export interface TableFiles {
  table: string;
  epoch: number;
  files: FileEntry[];
  /** the synthetic full these start from (its window seq): other files' events up to it are in it */
  after: bigint | null;
}

const bySeq = (a: FileEntry, b: FileEntry) => (BigInt(a.firstSeq) < BigInt(b.firstSeq) ? -1 : BigInt(a.firstSeq) > BigInt(b.firstSeq) ? 1 : a.part - b.part);

/**
 * Per table, the epoch and files that rebuild it at window seq `s`: the newest snapshot epoch
 * started at or before `s` (complete there, else ArchiveError naming the table), from the newest
 * synthetic full of that epoch at or before `s` when there is one, else from the epoch's start.
 * With `skip`, a table whose snapshot was still running at `s` is told to it and left out instead.
 */
export function filesAt(m: Manifest, fulls: FullEntry[], s: bigint, location: string, skip?: (table: string, why: string) => void): TableFiles[] {
  const firstArchived = m.segments.length > 0 ? BigInt(m.segments[0].firstSeq) : 0n;
  const out: TableFiles[] = [];
  for (const table of [...new Set(m.epochs.map((e) => e.table))].sort()) {
    const epoch = m.epochs.filter((e) => e.table === table && BigInt(e.startedSeq) <= s).sort((a, b) => b.epoch - a.epoch)[0];
    if (!epoch) continue; // not captured yet at the point
    if (epoch.doneSeq === null || BigInt(epoch.doneSeq) > s) {
      const done = epoch.doneVersion ? `; it completed at version ${epoch.doneVersion}, restore to that or later` : '';
      if (skip) {
        skip(table, `its snapshot (epoch ${epoch.epoch}) was still running at batch ${s}`);
        continue;
      }
      throw new ArchiveError(`table ${table}: its snapshot (epoch ${epoch.epoch}) was still running at the restore point (batch ${s}), so the archive holds no complete copy of it there${done}`);
    }
    const full = fulls.filter((f) => BigInt(f.window.seq) <= s && f.tables.some((t) => t.table === table && t.epoch === epoch.epoch)).at(-1);
    const mine = m.files.filter((f) => f.table === table && f.epoch === epoch.epoch && BigInt(f.firstSeq) <= s);
    if (full) {
      const after = BigInt(full.window.seq);
      const base = full.files.filter((f) => f.table === table).sort((a, b) => a.part - b.part);
      out.push({ table, epoch: epoch.epoch, files: [...base, ...mine.filter((f) => BigInt(f.lastSeq) > after).sort(bySeq)], after });
      continue;
    }
    if (BigInt(epoch.startedSeq) < firstArchived) {
      throw new ArchiveError(`table ${table}: its snapshot (epoch ${epoch.epoch}) started at batch ${epoch.startedSeq}, before the first batch ${location} holds (${firstArchived}), and no synthetic full of it is at or before batch ${s}: no full copy to restore from`);
    }
    out.push({ table, epoch: epoch.epoch, files: mine.sort(bySeq), after: null });
  }
  return out;
}

async function parseChecked<T>(store: ArchiveStore, f: FileEntry, parse: (buf: Buffer) => T): Promise<T> {
  const buf = await getChecked(store, f.name, f.sha256);
  try {
    return parse(buf);
  } catch (err) {
    throw new ArchiveCorruptError(`${f.name} in ${store.location} is not a readable Avro container file: ${(err as Error).message}`, { cause: err });
  }
}

/** An archive file checked against its SHA-256 and parsed, records split; ArchiveCorruptError naming it otherwise. */
export const readArchiveFile = (store: ArchiveStore, f: FileEntry): Promise<ContainerFile> => parseChecked(store, f, readContainer);

/** The same, up to its blocks (records not split). */
export const readArchiveBlocks = (store: ArchiveStore, f: FileEntry): Promise<ContainerBlocks> => parseChecked(store, f, readBlocks);

/**
 * Calls `fn` with every event that rebuilds `t` at window seq `s`, in replay order, with its Avro
 * body as archived and its writer schema's fingerprint: the full's events, then those of later
 * batches up to `s`. Returns the writer schemas of the files read (JSON by fingerprint).
 */
export async function forEachEvent(store: ArchiveStore, t: TableFiles, s: bigint, fn: (d: DecodedEvent, body: Buffer, fingerprint: string) => void): Promise<Map<string, string>> {
  const schemas = new Map<string, string>();
  const decoder = new SingleObjectEventDecoder();
  for (const f of t.files) {
    const c = await readArchiveBlocks(store, f);
    decoder.learn([{ fingerprint: f.fingerprint, json: c.schema }]);
    schemas.set(f.fingerprint, c.schema);
    const fp = BigInt(`0x${f.fingerprint}`);
    const inFull = f.at !== undefined;
    try {
      for (const block of c.blocks) {
        // each record decoded once: the decode both reads the event and finds where the next one starts
        eachRecord(block, (data, pos, i) => {
          const got = decoder.decodeEventAt(fp, data, pos, `${block.where}, record ${i}`);
          if (!got) throw new Error(`its schema ${f.fingerprint} could not be learnt from its header`);
          const b = got.decoded.event.source.batch;
          if (got.end >= 0 && b <= s && (inFull || t.after === null || b > t.after)) fn(got.decoded, data.subarray(pos, got.end), f.fingerprint);
          return got.end;
        });
      }
    } catch (err) {
      throw new ArchiveCorruptError(`${f.name} in ${store.location}: ${(err as Error).message}`, { cause: err });
    }
  }
  return schemas;
}
