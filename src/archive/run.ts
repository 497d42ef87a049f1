// `ctrelay archive` and `ctrelay archive list`: wiring (config -> Kafka, decoder, store, metrics,
// HTTP, signals) and the listing of what an archive can restore.
import type { Logger } from 'pino';
import { Gauge } from 'prom-client';
import { singleObjectWireFormat } from '../avro/wire-format.ts';
import type { Config } from '../config/schema.ts';
import { retryTransient } from '../core/retry.ts';
import { runUntilSignalled } from '../core/signals.ts';
import { createMetricsRegistry } from '../http/metrics.ts';
import { startHttpServer } from '../http/server.ts';
import { createKafkajsPort } from '../kafka/kafkajs/index.ts';
import { TopicDecoder } from '../kafka/schemas-topic.ts';
import { Archiver } from './archiver.ts';
import { readFulls, type FullEntry } from './fulls.ts';
import { readWindows, requireManifest, type Manifest, type WindowEntry } from './manifest.ts';
import type { ArchiveStore } from './store.ts';
import { createArchiveStore, s3Options } from './create-store.ts';
import type { S3StoreOptions } from './s3-store.ts';

/** Where `ctrelay archive` writes when archive.target is not set. */
export const defaultArchiveTarget = (topicPrefix: string) => `./ctrelay-archive/${topicPrefix}`;

export interface ArchiveRunOptions {
  httpPort?: number;
}

export async function runArchive(config: Config, log: Logger, options: ArchiveRunOptions = {}): Promise<void> {
  const store = createArchiveStore(config.archive.target ?? defaultArchiveTarget(config.kafka.topicPrefix), s3Options(config.archive.s3));
  const registry = createMetricsRegistry();
  const registers = [registry];
  const seq = new Gauge({ name: 'ctrelay_archive_batch_seq', help: 'last batch archived (in a segment the manifest lists)', registers });
  const version = new Gauge({ name: 'ctrelay_archive_version', help: 'source version of the last archived window', registers });
  let newest = -1n;
  let archivedSeq = -1n;
  new Gauge({ name: 'ctrelay_archive_lag_batches', help: 'batches in the batch log not yet archived', registers, collect() { this.set(Number(newest > archivedSeq ? newest - archivedSeq : 0n)); } });
  const kafka = createKafkajsPort({ brokers: config.kafka.brokers, clientId: `${config.kafka.clientId}-archive`, logger: log.child({ component: 'kafkajs' }) });
  const wire = singleObjectWireFormat();
  const archiver = new Archiver(
    { sourceId: config.source.id, topicPrefix: config.kafka.topicPrefix, segmentBytes: config.archive.segmentBytes, segmentMs: config.archive.segmentMs, codec: config.archive.codec, retainFulls: config.archive.retention?.fulls },
    {
      kafka, control: wire.control, events: new TopicDecoder(kafka, config.kafka.topicPrefix, wire.decoder()), store, log: log.child({ component: 'archive' }),
      archived: (m) => {
        archivedSeq = BigInt(m.archived.seq);
        seq.set(Number(m.archived.seq));
        version.set(Number(m.archived.version));
      },
      observe: (s) => void (s > newest && (newest = s)),
    },
  );
  try {
    // control topics capture created a moment ago may not have a known leader yet
    await retryTransient(() => archiver.resume(), 8, (err) => log.warn({ err }, 'resuming from the archive manifest failed; retrying'));
    const http = await startHttpServer({
      host: config.http.archive.host,
      port: options.httpPort ?? config.http.archive.port,
      registry,
      health: () => ({ ok: true }),
      ready: () => ({ ok: true, detail: { seq: archiver.archivedSeq.toString() } }),
    });
    log.info({ url: http.url, location: store.location }, 'archive running');
    try {
      await runUntilSignalled(archiver, () => log.info('stopping: writing the open segment'));
    } finally {
      await http.close();
    }
  } finally {
    await kafka.close();
    await store.close();
    log.info('archive stopped');
  }
}

const size = (n: number) => (n >= 1 << 30 ? `${(n / 2 ** 30).toFixed(1)} GiB` : n >= 1 << 20 ? `${(n / 2 ** 20).toFixed(1)} MiB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n} B`);

/**
 * The oldest restore point (null: none yet): the first window at which every table restores, from
 * the archive's beginning (its first complete snapshot there) or from a synthetic full (each table
 * not in it restorable from its own snapshot by then).
 */
export async function oldestRestorable(store: ArchiveStore, m: Manifest, fulls: FullEntry[]): Promise<WindowEntry | null> {
  if (m.segments.length === 0) return null;
  const firstSeq = BigInt(m.segments[0].firstSeq);
  const tables = [...new Set(m.epochs.map((e) => e.table))];
  /** from `from` on, when does `table` restore without a full? (null: never, its start is gone) */
  const ownSnapshot = (table: string, from: bigint): bigint | null => {
    const e = m.epochs.filter((x) => x.table === table && x.doneSeq !== null && BigInt(x.startedSeq) >= firstSeq && BigInt(x.doneSeq) >= from).sort((a, b) => a.epoch - b.epoch)[0];
    return e ? BigInt(e.doneSeq!) : null;
  };
  const candidates: bigint[] = [];
  if (!m.retainedFrom) {
    const each = tables.map((t) => ownSnapshot(t, -1n));
    if (each.every((x) => x !== null)) candidates.push(each.reduce((a, x) => (x! > a ? x! : a), -1n)!);
  }
  for (const f of fulls) {
    const c = BigInt(f.window.seq);
    let seq: bigint | null = c;
    for (const t of tables) {
      if (f.tables.some((x) => x.table === t) || !m.epochs.some((e) => e.table === t && BigInt(e.startedSeq) <= c)) continue;
      const own = ownSnapshot(t, c);
      seq = own === null || seq === null ? null : own > seq ? own : seq;
    }
    if (seq !== null) candidates.push(seq);
  }
  if (candidates.length === 0) return null;
  const seq = candidates.reduce((a, x) => (x < a ? x : a));
  const segment = m.segments.find((s) => BigInt(s.lastSeq) >= seq);
  return segment ? ((await readWindows(store, segment)).find((w) => BigInt(w.seq) >= seq) ?? null) : null;
}

/** `archive list`: the restorable window and the files per table, as text. */
export function formatArchiveList(location: string, m: Manifest, oldest: WindowEntry | null, fulls: FullEntry[] = []): string {
  const lines = [
    `archive ${location}: source ${m.sourceId}, topic prefix ${m.topicPrefix}, ${m.segments.length} segments, batches up to ${m.archived.seq}`,
    oldest
      ? `restorable: version ${oldest.version} (${oldest.commitTs ?? 'commit time unknown'}) .. version ${m.archived.version} (${m.archived.commitTs ?? 'commit time unknown'})`
      : 'restorable: nothing yet (a table\'s first snapshot is not complete in the archive)',
    `synthetic fulls (ctrelay archive compact): ${fulls.length === 0 ? 'none' : fulls.map((f) => `version ${f.window.version}`).join(', ')}${m.retainedFrom ? `; retention keeps from version ${m.retainedFrom.version}` : ''}`,
    '',
    'table                              files   fulls  rows        size       restorable from version',
  ];
  for (const table of [...new Set(m.epochs.map((e) => e.table))].sort()) {
    const files = m.files.filter((f) => f.table === table);
    const done = m.epochs.filter((e) => e.table === table && e.doneVersion !== null);
    lines.push(
      `${table.padEnd(34)} ${String(files.length).padStart(5)} ${String(done.length).padStart(7)}  ${String(files.reduce((a, f) => a + f.rows, 0)).padEnd(11)} ${size(files.reduce((a, f) => a + f.bytes, 0)).padEnd(10)} ${done[0]?.doneVersion ?? '(snapshot not complete)'}`,
    );
  }
  return lines.join('\n') + '\n';
}

export async function listArchive(location: string, s3: Omit<S3StoreOptions, 'url'> = {}): Promise<string> {
  const store = createArchiveStore(location, s3);
  try {
    const m = await requireManifest(store);
    const fulls = await readFulls(store, m);
    return formatArchiveList(store.location, m, await oldestRestorable(store, m, fulls), fulls);
  } finally {
    await store.close();
  }
}
