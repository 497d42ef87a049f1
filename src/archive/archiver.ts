// `ctrelay archive`: complete windows from the batch log -> Avro object container files, per table
// and segment, and a manifest written after them (README.md in this folder). The manifest is the
// only checkpoint: after a crash the archiver reads it, deletes the files it does not list (a
// segment written in part) and reads the batch log again from the last archived window, so every
// window is archived exactly once. Windows are buffered in memory until the segment rolls (bytes,
// age, a stop, the fence): the archive's progress moves a segment at a time.
import type { Logger } from 'pino';
import { fingerprintHex } from '../avro/canonical-form.ts';
import { readSingleObjectFingerprint, SINGLE_OBJECT_HEADER } from '../avro/single-object.ts';
import type { ControlCodec } from '../core/codec.ts';
import { ArchiveError, DecodeError } from '../core/errors.ts';
import { qualifiedName } from '../core/model.ts';
import { RetryPolicy, runWithRetries } from '../core/retry.ts';
import { batchesTopic } from '../core/topics.ts';
import type { KafkaPort } from '../kafka/port.ts';
import { readSchemas, type TopicDecoder } from '../kafka/schemas-topic.ts';
import { WindowReader, type CompleteWindow } from '../apply/window-reader.ts';
import { writeContainer } from './container.ts';
import { readFulls } from './fulls.ts';
import { applyRetention, planRetention } from './retention.ts';
import { MANIFEST_FORMAT, readManifest, sha256, writeManifest, type EpochEntry, type FileEntry, type Manifest, type WindowEntry } from './manifest.ts';
import type { ArchiveStore } from './store.ts';

export interface ArchiveOptions {
  sourceId: string;
  topicPrefix: string;
  /** roll the segment once its buffered record bytes reach this */
  segmentBytes: number;
  /** ... or once its first window is this old */
  segmentMs: number;
  /** the Avro container codec of the files written (default deflate) */
  codec?: 'deflate' | 'snappy';
  /** archive.retention.fulls: fulls kept (retention.ts); undefined keeps everything */
  retainFulls?: number;
}

export interface ArchiveDeps {
  kafka: KafkaPort;
  control: ControlCodec;
  events: TopicDecoder;
  store: ArchiveStore;
  log: Logger;
  /** told of every segment written (metrics) */
  archived?: (m: Manifest) => void;
  /** told of every batch record read (metrics: the newest captured) */
  observe?: (seq: bigint, version: bigint) => void;
}

/** One file of the open segment: a table's records of one epoch and writer schema, in event order. */
interface Part {
  table: string;
  epoch: number;
  fingerprint: string;
  records: Buffer[];
  fromVersion: bigint;
  toVersion: bigint;
  firstCommitTs: string | null;
  lastCommitTs: string | null;
}

const pad = (n: bigint | string) => String(n).padStart(20, '0');
/** a table's folder: "schema.table" with anything but letters, digits, `_`, `.` and `-` %-escaped */
export const tableDir = (table: string) => `tables/${encodeURIComponent(table).replace(/[!'()*~]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)}`;

export class Archiver {
  private stopping = false;
  private reader: WindowReader | null = null;
  private manifest: Manifest | null = null;
  private epochs: EpochEntry[] = [];
  private windows: WindowEntry[] = [];
  private parts = new Map<string, Part[]>();
  private firstSeq: bigint | null = null;
  private openedAt = 0;
  private bytes = 0;
  private readonly schemas = new Map<string, string>();
  private readonly retry = new RetryPolicy();
  /** the pipeline ended at a fence: everything before it is archived */
  fenced = false;

  constructor(private readonly opts: ArchiveOptions, private readonly deps: ArchiveDeps) {}

  get archivedSeq(): bigint {
    return this.manifest ? BigInt(this.manifest.archived.seq) : -1n;
  }

  /** (Re)positions on the newest manifest: at start and after every transient failure. */
  async resume(): Promise<void> {
    const { store, log } = this.deps;
    await this.reader?.close();
    this.reader = null;
    this.discardSegment();
    const m = await readManifest(store);
    if (m && (m.sourceId !== this.opts.sourceId || m.topicPrefix !== this.opts.topicPrefix)) {
      throw new ArchiveError(`${store.location} archives source ${m.sourceId} from topic prefix ${m.topicPrefix}, not ${this.opts.sourceId} from ${this.opts.topicPrefix}: give archive.target another location`);
    }
    this.manifest = m;
    this.epochs = structuredClone(m?.epochs ?? []);
    // what a crash left half-written: not in the manifest, so not part of the archive
    const listed = new Set([...(m?.files.map((f) => f.name) ?? []), ...(m?.segments.map((s) => s.index) ?? [])]);
    for (const prefix of ['tables/', 'windows/']) {
      for (const name of await store.list(prefix)) {
        if (!listed.has(name)) {
          log.info({ name }, 'deleting a file no manifest lists (left by an interrupted segment)');
          await store.delete(name);
        }
      }
    }
    await this.deps.events.load();
    this.schemas.clear();
    const from = m ? BigInt(m.archived.offset) : 0n;
    this.reader = new WindowReader(this.deps.kafka, batchesTopic(this.opts.topicPrefix), this.opts.sourceId, this.deps.control, this.deps.events, from, m ? { seq: BigInt(m.archived.seq) } : null, (b) => this.deps.observe?.(b.seq, b.version));
    this.reader.keepValues = true;
    if (m) this.deps.archived?.(m);
    log.info({ seq: m?.archived.seq ?? null, version: m?.archived.version ?? null, location: store.location }, m ? 'resuming after the last archived window' : 'empty archive: archiving from the start of the batch log');
  }

  stop(): void {
    this.stopping = true;
  }

  async run(): Promise<void> {
    try {
      await runWithRetries(this.retry, {
        step: () => this.step(),
        recover: () => this.resume(),
        stopping: () => this.stopping || this.fenced,
        onRetry: (err, failures, delayMs) => this.deps.log.error({ err, failures, retryInMs: delayMs }, 'archive failed; resuming from the manifest'),
        sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
      });
      // a stop asked for: what is buffered is complete windows, worth keeping
      if (!this.fenced) await this.flush();
    } finally {
      await this.reader?.close();
    }
  }

  /** Reads the next window (or waits a little) and rolls the segment when it is due. */
  async step(): Promise<void> {
    const w = await this.reader!.next(this.lastSeq(), 500);
    if (w) {
      const fence = w.batches.find((b) => b.fence)?.fence;
      if (fence) {
        await this.flush();
        this.fenced = true;
        this.deps.log.info({ seq: w.batches.at(-1)!.seq.toString(), standby: fence.standbyId }, 'the pipeline ended at a fence (ctrelay promote): everything before it is archived; stopping');
        return;
      }
      await this.add(w);
    }
    if (this.windows.length > 0 && (this.bytes >= this.opts.segmentBytes || Date.now() - this.openedAt >= this.opts.segmentMs)) await this.flush();
  }

  private lastSeq(): bigint {
    const w = this.windows.at(-1);
    return w ? BigInt(w.seq) : this.archivedSeq;
  }

  private async add(w: CompleteWindow): Promise<void> {
    const complete = w.batches.at(-1)!;
    if (this.windows.length === 0) {
      this.firstSeq = w.batches[0].seq;
      this.openedAt = Date.now();
    }
    const epochOf = new Map<string, number>();
    for (const t of complete.tables) {
      if (!t.snapshot) continue;
      epochOf.set(t.table, t.snapshot.epoch);
      let e = this.epochs.find((x) => x.table === t.table && x.epoch === t.snapshot!.epoch);
      if (!e) this.epochs.push((e = { table: t.table, epoch: t.snapshot.epoch, startedSeq: t.snapshot.startedSeq.toString(), doneSeq: null, doneVersion: null }));
      if (t.snapshot.done && e.doneSeq === null) {
        e.doneSeq = complete.seq.toString();
        e.doneVersion = complete.version.toString();
      }
    }
    const values = w.values!;
    for (let i = 0; i < w.events.length; i++) {
      const { event, table } = w.events[i];
      const name = qualifiedName(table);
      const value = values[i];
      const fp = fingerprintHex(readSingleObjectFingerprint(value));
      if (!this.schemas.has(fp)) await this.learnSchemas(fp);
      const epoch = epochOf.get(name) ?? 0;
      let parts = this.parts.get(name);
      if (!parts) this.parts.set(name, (parts = []));
      let p = parts.at(-1);
      if (!p || p.epoch !== epoch || p.fingerprint !== fp) {
        parts.push((p = { table: name, epoch, fingerprint: fp, records: [], fromVersion: event.source.version, toVersion: event.source.version, firstCommitTs: event.source.commit_ts, lastCommitTs: null }));
      }
      p.records.push(value.subarray(SINGLE_OBJECT_HEADER));
      if (event.source.version < p.fromVersion) p.fromVersion = event.source.version;
      if (event.source.version > p.toVersion) p.toVersion = event.source.version;
      p.lastCommitTs = event.source.commit_ts ?? p.lastCommitTs;
      p.firstCommitTs ??= event.source.commit_ts;
    }
    this.windows.push({
      seq: complete.seq.toString(),
      version: complete.version.toString(),
      previousVersion: w.batches[0].previousVersion.toString(),
      offset: w.offset.toString(),
      commitTs: complete.commitTsMs === null ? null : new Date(complete.commitTsMs).toISOString(),
    });
    this.bytes += w.bytes;
  }

  private async learnSchemas(fp: string): Promise<void> {
    for (const s of await readSchemas(this.deps.kafka, this.opts.topicPrefix)) this.schemas.set(s.fingerprint, s.json);
    if (!this.schemas.has(fp)) throw new DecodeError(`an event names writer schema ${fp}, which ${this.opts.topicPrefix}.schemas does not hold`);
  }

  private discardSegment(): void {
    this.windows = [];
    this.parts = new Map();
    this.firstSeq = null;
    this.bytes = 0;
  }

  /** Writes the open segment: its files, its index, then the manifest that makes them part of the archive. */
  async flush(): Promise<void> {
    if (this.windows.length === 0) return;
    const { store } = this.deps;
    const first = pad(this.firstSeq!);
    const last = this.windows.at(-1)!;
    const span = `${first}-${pad(last.seq)}`;
    const files: FileEntry[] = [];
    for (const [table, parts] of this.parts) {
      for (const [n, p] of parts.entries()) {
        const name = `${tableDir(table)}/${p.epoch}/${span}.${n}.avro`;
        const body = writeContainer(name, this.schemas.get(p.fingerprint)!, { 'ctrelay.table': table, 'ctrelay.epoch': String(p.epoch), 'ctrelay.fingerprint': p.fingerprint, 'ctrelay.batches': `${this.firstSeq}-${last.seq}` }, p.records, this.opts.codec);
        await store.put(name, body);
        const epoch = this.epochs.find((e) => e.table === table && e.epoch === p.epoch);
        const full = !epoch || epoch.doneSeq === null || BigInt(epoch.doneSeq) >= this.firstSeq!;
        files.push({
          name, table, epoch: p.epoch, kind: full ? 'full' : 'incremental', firstSeq: this.firstSeq!.toString(), lastSeq: last.seq, part: n,
          fromVersion: p.fromVersion.toString(), toVersion: p.toVersion.toString(), firstCommitTs: p.firstCommitTs, lastCommitTs: p.lastCommitTs,
          fingerprint: p.fingerprint, rows: p.records.length, bytes: body.length, sha256: sha256(body),
        });
      }
    }
    const index = `windows/${span}.json`;
    const indexBody = Buffer.from(JSON.stringify(this.windows));
    await store.put(index, indexBody);
    const before = this.manifest;
    const next: Manifest = {
      format: MANIFEST_FORMAT,
      sourceId: this.opts.sourceId,
      topicPrefix: this.opts.topicPrefix,
      manifestSeq: (before?.manifestSeq ?? 0) + 1,
      archived: { seq: last.seq, version: last.version, offset: last.offset, commitTs: last.commitTs },
      segments: [...(before?.segments ?? []), {
        firstSeq: this.firstSeq!.toString(), lastSeq: last.seq, fromVersion: this.windows[0].previousVersion, toVersion: last.version,
        firstCommitTs: this.windows[0].commitTs, lastCommitTs: last.commitTs, index, indexSha256: sha256(indexBody),
      }],
      files: [...(before?.files ?? []), ...files],
      epochs: structuredClone(this.epochs),
      ...(before?.retainedFrom ? { retainedFrom: before.retainedFrom } : {}),
    };
    await writeManifest(store, next);
    this.manifest = next;
    this.deps.log.info({ batches: span, files: files.length, rows: files.reduce((a, f) => a + f.rows, 0), version: last.version }, 'segment archived');
    this.discardSegment();
    this.deps.archived?.(next);
    await this.retain();
  }

  /** Applies archive.retention.fulls to the archive as the newest manifest has it. */
  private async retain(): Promise<void> {
    if (this.opts.retainFulls === undefined || !this.manifest) return;
    const plan = planRetention(this.manifest, await readFulls(this.deps.store, this.manifest), this.opts.retainFulls);
    if (!plan) return;
    await writeManifest(this.deps.store, plan.manifest);
    this.manifest = plan.manifest;
    const deleted = await applyRetention(this.deps.store, plan);
    this.deps.log.info({ keptFrom: plan.manifest.retainedFrom!.version, segments: plan.manifest.segments.length, deleted }, 'retention: dropped what no kept full needs');
  }
}
