// `ctrelay restore`: rebuilds a database at a restore point from an archive (README.md in this
// folder). A restore point is a complete window: `--to-version V` is the newest archived window whose
// version is <= V (the source's exact state at that window's version; the windows are the only
// versions the archive can reproduce exactly), `--to-time T` the newest whose commit time is <= T,
// `--latest` the last archived. Per table: the newest snapshot epoch that started at or before the
// point, which must have completed by then (its full), replayed with the incrementals after it up to
// the point; net per key; written through the standby dialects like the applier writes a window
// (ensureTable, deleteAll, then a bulk load where the dialect has one, else upsert), in ONE transaction (MariaDB: the tables are created or changed
// just before it, its DDL being non-transactional). The target also gets a ctrelay_state row at
// the point, so `ctrelay apply` can carry it forward from the batch log while Kafka still holds it.
import { targetNamer } from '../apply/run.ts';
import { planWindows, StandbyTables, type TablePlan } from '../apply/plan.ts';
import type { CompleteWindow } from '../apply/window-reader.ts';
import type { BatchRecord } from '../core/batch.ts';
import type { DecodedEvent } from '../core/codec.ts';
import { ArchiveCorruptError, ConfigError } from '../core/errors.ts';
import { redactUrl } from '../core/redact.ts';
import { createDialect, kindFromUrl } from '../standby/create-dialect.ts';
import { canLoad } from '../standby/dialect.ts';
import { createArchiveStore } from './create-store.ts';
import { readFulls } from './fulls.ts';
import { checkChain, requireManifest, type FileEntry, type Manifest, type WindowEntry } from './manifest.ts';
import { filesAt, forEachEvent, readArchiveFile, resolvePoint, type RestorePoint } from './replay.ts';

export type { RestorePoint } from './replay.ts';
import type { S3StoreOptions } from './s3-store.ts';
import type { ArchiveStore } from './store.ts';

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
    const tables = new StandbyTables(targetNamer(kind, opts.target, opts.schema));
    const plans: TablePlan[] = [];
    const result: RestoreResult = { location: store.location, window: point, tables: [] };
    for (const t of filesAt(m, await readFulls(store, m), s, store.location)) {
      const { table, epoch, files } = t;
      const events: DecodedEvent[] = [];
      await forEachEvent(store, t, s, (d) => events.push(d));
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
        const step = 100_000;
        for (let i = 0; i < rows.length; i += step) {
          // the table was emptied above and a key is in one plan only: a bulk load where the dialect has one
          if (canLoad(tx)) await tx.load(p.target, rows.slice(i, i + step));
          else await tx.upsert(p.target, rows.slice(i, i + step));
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
  /** synthetic fulls (their files are in `files`) */
  fulls: number;
  bytes: number;
  windows: string;
}

/** `restore --check`: every file's SHA-256 and framing, every index, the chain. ArchiveCorruptError on the first problem set. */
export async function checkArchive(from: string, progress: (m: string) => void = () => undefined, s3: Omit<S3StoreOptions, 'url'> = {}): Promise<CheckResult> {
  const store = createArchiveStore(from, s3);
  try {
    const m = await requireManifest(store);
    const fulls = await readFulls(store, m);
    const files = [...m.files, ...fulls.flatMap((f) => f.files)];
    let bytes = 0;
    for (const [i, f] of files.entries()) {
      const c = await readArchiveFile(store, f);
      if (c.records.length !== f.rows) throw new ArchiveCorruptError(`${f.name} in ${store.location} holds ${c.records.length} records, the manifest recorded ${f.rows}`);
      bytes += f.bytes;
      if (i % 100 === 99) progress(`${i + 1}/${files.length} files checked`);
    }
    const problems = await checkChain(store, m);
    if (problems.length > 0) throw new ArchiveCorruptError(`${store.location}: the chain of archived windows is broken: ${problems.slice(0, 5).join('; ')}${problems.length > 5 ? ` (and ${problems.length - 5} more)` : ''}`);
    return { location: store.location, files: files.length, fulls: fulls.length, bytes, windows: `${m.segments[0]?.firstSeq ?? '-'}..${m.archived.seq}` };
  } finally {
    await store.close();
  }
}
