// `ctrelay archive compact`: a synthetic full at an archived window (fulls.ts), merged from the
// previous full and the incrementals after it, reading the archive only (no load on the source).
// A restore from it gives exactly what a restore from the whole chain gives: it keeps, per key,
// the last event at or before the point (its Avro body as archived, untouched), drops keys whose
// last event is a delete, and keeps a table whose rows were all deleted as its last delete alone,
// so a restore still creates that table, empty.
import { keyId } from '../core/batch.ts';
import { tableDir } from './archiver.ts';
import { writeContainer } from './container.ts';
import { createArchiveStore } from './create-store.ts';
import { fullPrefix, FULL_FORMAT, readFulls, writeFull, type FullEntry } from './fulls.ts';
import { requireManifest, sha256, type FileEntry, type WindowEntry } from './manifest.ts';
import { filesAt, forEachEvent, resolvePoint, type RestorePoint, type TableFiles } from './replay.ts';
import type { S3StoreOptions } from './s3-store.ts';
import type { ArchiveStore } from './store.ts';

export interface CompactOptions {
  from: string;
  point: RestorePoint;
  codec?: 'deflate' | 'snappy';
  s3?: Omit<S3StoreOptions, 'url'>;
  progress?: (message: string) => void;
}

export interface CompactResult {
  location: string;
  window: WindowEntry;
  /** a full at that window existed already: nothing written */
  existed: boolean;
  tables: { table: string; epoch: number; rows: number }[];
  /** tables left out (their snapshot was running at the point), with why */
  skipped: { table: string; why: string }[];
}

interface Kept {
  body: Buffer;
  fingerprint: string;
  version: bigint;
  commitTs: string | null;
}

export async function compact(opts: CompactOptions): Promise<CompactResult> {
  const progress = opts.progress ?? (() => undefined);
  const store = createArchiveStore(opts.from, opts.s3);
  try {
    const m = await requireManifest(store);
    const window = await resolvePoint(store, m, opts.point);
    const s = BigInt(window.seq);
    const fulls = await readFulls(store, m);
    const existing = fulls.find((f) => f.window.seq === window.seq);
    if (existing) return { location: store.location, window, existed: true, tables: existing.tables.map((t) => ({ ...t, rows: existing.files.filter((f) => f.table === t.table).reduce((a, f) => a + f.rows, 0) })), skipped: [] };
    const skipped: CompactResult['skipped'] = [];
    const full: FullEntry = { format: FULL_FORMAT, sourceId: m.sourceId, topicPrefix: m.topicPrefix, window, tables: [], files: [] };
    const started = new Map(m.epochs.map((e) => [`${e.table}\u0000${e.epoch}`, e.startedSeq]));
    for (const t of filesAt(m, fulls, s, store.location, (table, why) => skipped.push({ table, why }))) {
      const files = await mergeTable(store, t, s, started.get(`${t.table}\u0000${t.epoch}`)!, opts.codec ?? 'deflate');
      full.tables.push({ table: t.table, epoch: t.epoch });
      full.files.push(...files);
      progress(`${t.table}: ${files.reduce((a, f) => a + f.rows, 0)} rows at version ${window.version}`);
    }
    await writeFull(store, full);
    return { location: store.location, window, existed: false, tables: full.tables.map((t) => ({ ...t, rows: full.files.filter((f) => f.table === t.table).reduce((a, f) => a + f.rows, 0) })), skipped };
  } finally {
    await store.close();
  }
}

/** One table's net rows at `s` as the full's files: one per writer schema, in the order of their last events. */
async function mergeTable(store: ArchiveStore, t: TableFiles, s: bigint, startedSeq: string, codec: 'deflate' | 'snappy'): Promise<FileEntry[]> {
  const net = new Map<string, Kept>();
  let last: Kept | null = null;
  const schemas = await forEachEvent(store, t, s, (d, body, fingerprint) => {
    const id = keyId(d.event.key, d.table.key);
    // copied: a kept body must not pin the whole decompressed block it came from
    last = { body: Buffer.from(body), fingerprint, version: d.event.source.version, commitTs: d.event.source.commit_ts };
    net.delete(id); // re-inserted last: the map's order is the order of each key's last event
    if (d.event.op !== 'd') net.set(id, last);
  });
  const kept = net.size > 0 ? [...net.values()] : last ? [last as Kept] : [];
  const parts = new Map<string, Kept[]>();
  for (const k of kept) {
    const p = parts.get(k.fingerprint);
    if (p) p.push(k);
    else parts.set(k.fingerprint, [k]);
  }
  const out: FileEntry[] = [];
  for (const [part, [fingerprint, records]] of [...parts].entries()) {
    const name = `${fullPrefix(s)}${tableDir(t.table)}/${t.epoch}.${part}.avro`;
    const meta = { 'ctrelay.table': t.table, 'ctrelay.epoch': String(t.epoch), 'ctrelay.fingerprint': fingerprint, 'ctrelay.full': String(s) };
    const body = writeContainer(name, schemas.get(fingerprint)!, meta, records.map((r) => r.body), codec);
    await store.put(name, body);
    const versions = records.map((r) => r.version);
    const times = records.map((r) => r.commitTs).filter((x): x is string => x !== null).sort();
    out.push({
      name, table: t.table, epoch: t.epoch, kind: 'full', firstSeq: startedSeq, lastSeq: String(s), part,
      fromVersion: String(versions.reduce((a, v) => (v < a ? v : a))), toVersion: String(versions.reduce((a, v) => (v > a ? v : a))),
      firstCommitTs: times[0] ?? null, lastCommitTs: times.at(-1) ?? null, fingerprint, rows: records.length, bytes: body.length, sha256: sha256(body), at: String(s),
    });
  }
  return out;
}
