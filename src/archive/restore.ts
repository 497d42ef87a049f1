// `ctrelay restore`: rebuilds a database at a restore point from an archive (README.md in this
// folder). A restore point is a complete window: `--to-version V` is the newest archived window whose
// version is <= V (the source's exact state at that window's version; the windows are the only
// versions the archive can reproduce exactly), `--to-time T` the newest whose commit time is <= T,
// `--latest` the last archived. Per table: the newest snapshot epoch that started at or before the
// point, which must have completed by then (its full), replayed with the incrementals after it up to
// the point; net per key; written through the standby dialects like the applier writes a window
// (ensureTable, deleteAll, upsert), in ONE transaction (MariaDB: the tables are created or changed
// just before it, its DDL being non-transactional). The target also gets a ctrelay_state row at
// the point, so `ctrelay apply` can carry it forward from the batch log while Kafka still holds it.
import { targetNamer } from '../apply/run.ts';
import { planWindows, StandbyTables, type TablePlan } from '../apply/plan.ts';
import type { CompleteWindow } from '../apply/window-reader.ts';
import { singleObjectWireFormat } from '../avro/wire-format.ts';
import { SINGLE_OBJECT_HEADER } from '../avro/single-object.ts';
import type { BatchRecord } from '../core/batch.ts';
import type { DecodedEvent } from '../core/codec.ts';
import { ArchiveCorruptError, ArchiveError, ConfigError } from '../core/errors.ts';
import { redactUrl } from '../core/redact.ts';
import { createDialect, kindFromUrl } from '../standby/create-dialect.ts';
import { readContainer, type ContainerFile } from './container.ts';
import { checkChain, getChecked, readWindows, requireManifest, type FileEntry, type Manifest, type WindowEntry } from './manifest.ts';
import { createArchiveStore } from './create-store.ts';
import type { S3StoreOptions } from './s3-store.ts';
import type { ArchiveStore } from './store.ts';

export type RestorePoint = { kind: 'latest' } | { kind: 'version'; version: bigint } | { kind: 'time'; at: Date };

export interface RestoreOptions {
  from: string;
  point: RestorePoint;
  /** a PostgreSQL, MariaDB or SQL Server URL (the kind from its scheme) */
  target: string;
  /** the target schema (PostgreSQL, SQL Server) or database (MariaDB), as standby.schema */
  schema?: string;
  /** progress lines (the CLI shows them on a terminal) */
  progress?: (message: string) => void;
  /** an s3:// archive's endpoint and region; credentials from the AWS SDK's chain */
  s3?: Omit<S3StoreOptions, 'url'>;
}

export interface RestoreResult {
  location: string;
  window: WindowEntry;
  tables: { table: string; epoch: number; files: number; rows: number }[];
}

/** The restore point `p` names in archive `m`: ArchiveError when the archive does not hold one. */
export async function resolvePoint(store: ArchiveStore, m: Manifest, p: RestorePoint): Promise<WindowEntry> {
  if (m.segments.length === 0) throw new ArchiveError(`${store.location} holds no archived window yet`);
  if (p.kind === 'latest') return (await readWindows(store, m.segments.at(-1)!)).at(-1)!;
  const fits = (w: WindowEntry) => (p.kind === 'version' ? BigInt(w.version) <= p.version : w.commitTs !== null && Date.parse(w.commitTs) <= p.at.getTime());
  for (const s of [...m.segments].reverse()) {
    if (p.kind === 'version' && BigInt(s.fromVersion) > p.version) continue;
    const found = (await readWindows(store, s)).filter(fits).at(-1);
    if (found) return found;
  }
  const first = (await readWindows(store, m.segments[0]))[0];
  const asked = p.kind === 'version' ? `version ${p.version}` : `time ${p.at.toISOString()}`;
  throw new ArchiveError(`${asked} is before the oldest window ${store.location} holds (version ${first.version}, committed ${first.commitTs ?? 'at an unknown time'})`);
}

/** Per table, the epoch and files that rebuild it at window seq `s`; ArchiveError naming a table that cannot be. */
export function filesAt(m: Manifest, s: bigint, location: string): { table: string; epoch: number; files: FileEntry[] }[] {
  const firstArchived = m.segments.length > 0 ? BigInt(m.segments[0].firstSeq) : 0n;
  const out = [];
  for (const table of [...new Set(m.epochs.map((e) => e.table))].sort()) {
    const epoch = m.epochs.filter((e) => e.table === table && BigInt(e.startedSeq) <= s).sort((a, b) => b.epoch - a.epoch)[0];
    if (!epoch) continue; // not captured yet at the point
    if (epoch.doneSeq === null || BigInt(epoch.doneSeq) > s) {
      const done = epoch.doneVersion ? `; it completed at version ${epoch.doneVersion}, restore to that or later` : '';
      throw new ArchiveError(`table ${table}: its snapshot (epoch ${epoch.epoch}) was still running at the restore point (batch ${s}), so the archive holds no complete copy of it there${done}`);
    }
    if (BigInt(epoch.startedSeq) < firstArchived) {
      throw new ArchiveError(`table ${table}: its snapshot (epoch ${epoch.epoch}) started at batch ${epoch.startedSeq}, before the first batch ${location} holds (${firstArchived}): no full copy to restore from`);
    }
    const files = m.files.filter((f) => f.table === table && f.epoch === epoch.epoch && BigInt(f.firstSeq) <= s).sort((a, b) => (BigInt(a.firstSeq) < BigInt(b.firstSeq) ? -1 : BigInt(a.firstSeq) > BigInt(b.firstSeq) ? 1 : a.part - b.part));
    out.push({ table, epoch: epoch.epoch, files });
  }
  return out;
}

/** An archive file checked against its SHA-256 and parsed; ArchiveCorruptError naming it otherwise. */
export async function readArchiveFile(store: ArchiveStore, f: FileEntry): Promise<ContainerFile> {
  const buf = await getChecked(store, f.name, f.sha256);
  try {
    return readContainer(buf);
  } catch (err) {
    throw new ArchiveCorruptError(`${f.name} in ${store.location} is not a readable Avro container file: ${(err as Error).message}`, { cause: err });
  }
}

function frameHeader(fingerprint: string): Buffer {
  const h = Buffer.alloc(SINGLE_OBJECT_HEADER);
  h[0] = 0xc3;
  h[1] = 0x01;
  h.writeBigUInt64LE(BigInt(`0x${fingerprint}`), 2);
  return h;
}

export async function restore(opts: RestoreOptions): Promise<RestoreResult> {
  const kind = kindFromUrl(opts.target);
  if (!kind) throw new ConfigError(`--target ${redactUrl(opts.target)}: expected a postgres://, mysql:// (mariadb://) or sqlserver:// URL`);
  const progress = opts.progress ?? (() => undefined);
  const store = createArchiveStore(opts.from, opts.s3);
  try {
    const m = await requireManifest(store);
    const point = await resolvePoint(store, m, opts.point);
    const s = BigInt(point.seq);
    progress(`restoring ${store.location} at version ${point.version} (batch ${point.seq}, committed ${point.commitTs ?? '?'}) into ${redactUrl(opts.target)}`);
    const decoder = singleObjectWireFormat().decoder();
    const tables = new StandbyTables(targetNamer(kind, opts.target, opts.schema));
    const plans: TablePlan[] = [];
    const result: RestoreResult = { location: store.location, window: point, tables: [] };
    for (const { table, epoch, files } of filesAt(m, s, store.location)) {
      const events: DecodedEvent[] = [];
      for (const f of files) {
        const c = await readArchiveFile(store, f);
        decoder.learn([{ fingerprint: f.fingerprint, json: c.schema }]);
        const header = frameHeader(f.fingerprint);
        for (const [i, r] of c.records.entries()) {
          const d = decoder.decodeEvent(Buffer.concat([header, r]), `${f.name} record ${i}`);
          if (!d) throw new ArchiveCorruptError(`${f.name}: its schema ${f.fingerprint} could not be learnt from its header`);
          if (d.event.source.batch <= s) events.push(d);
        }
      }
      const w = { batches: [{ tables: [] } as unknown as BatchRecord], events, offset: 0n, bytes: 0 } satisfies CompleteWindow;
      const plan = planWindows([w], tables, () => null);
      plans.push(...plan.tables);
      const rows = plan.tables.reduce((a, p) => a + p.upserts.size, 0);
      result.tables.push({ table, epoch, files: files.length, rows });
      progress(`${table}: ${files.length} files, ${events.length} events, ${rows} rows at the point`);
    }
    await write(kind, opts.target, m, point, plans, progress);
    return result;
  } finally {
    await store.close();
  }
}

async function write(kind: string, url: string, m: Manifest, point: WindowEntry, plans: TablePlan[], progress: (m: string) => void): Promise<void> {
  const dialect = createDialect(kind, url);
  await dialect.connect();
  try {
    await dialect.ensureStateTable();
    const targets = [...new Map(plans.map((p) => [`${p.target.schema}\u0000${p.target.table}`, p.target])).values()];
    if (!dialect.transactionalDdl) for (const p of plans) await dialect.ensureTable(p.target);
    const tx = await dialect.begin();
    try {
      if (dialect.transactionalDdl) for (const p of plans) await tx.ensureTable(p.target);
      // whatever the target held of these tables goes: the archive rebuilds them whole
      for (const t of targets) await tx.deleteAll(t);
      for (const p of plans) {
        const rows = [...p.upserts.values()];
        const step = 50_000;
        for (let i = 0; i < rows.length; i += step) {
          await tx.upsert(p.target, rows.slice(i, i + step));
          progress(`${p.name}: ${Math.min(i + step, rows.length)}/${rows.length} rows written`);
        }
      }
      await tx.writeState({ sourceId: m.sourceId, batchSeq: BigInt(point.seq), version: BigInt(point.version), batchOffset: BigInt(point.offset) });
      await tx.commit();
    } catch (err) {
      await tx.rollback().catch(() => undefined);
      throw err;
    }
  } finally {
    await dialect.close().catch(() => undefined);
  }
}

export interface CheckResult {
  location: string;
  files: number;
  bytes: number;
  windows: string;
}

/** `restore --check`: every file's SHA-256 and framing, every index, the chain. ArchiveCorruptError on the first problem set. */
export async function checkArchive(from: string, progress: (m: string) => void = () => undefined, s3: Omit<S3StoreOptions, 'url'> = {}): Promise<CheckResult> {
  const store = createArchiveStore(from, s3);
  try {
    const m = await requireManifest(store);
    let bytes = 0;
    for (const [i, f] of m.files.entries()) {
      const c = await readArchiveFile(store, f);
      if (c.records.length !== f.rows) throw new ArchiveCorruptError(`${f.name} in ${store.location} holds ${c.records.length} records, the manifest recorded ${f.rows}`);
      bytes += f.bytes;
      if (i % 100 === 99) progress(`${i + 1}/${m.files.length} files checked`);
    }
    const problems = await checkChain(store, m);
    if (problems.length > 0) throw new ArchiveCorruptError(`${store.location}: the chain of archived windows is broken: ${problems.slice(0, 5).join('; ')}${problems.length > 5 ? ` (and ${problems.length - 5} more)` : ''}`);
    return { location: store.location, files: m.files.length, bytes, windows: `${m.segments[0]?.firstSeq ?? '-'}..${m.archived.seq}` };
  } finally {
    await store.close();
  }
}
