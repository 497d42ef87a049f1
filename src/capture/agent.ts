// The capture agent: poll the source in one snapshot transaction, publish each page of the window
// in one Kafka transaction together with its batch-log record, repeat. The batch log is the only
// checkpoint: after any failure the agent re-initialises its producer (fencing, aborting what was
// open) and resumes from the last committed batch record, so nothing is lost or published twice.
// Transient failures (src/core/errors.ts) are waited out; anything else stops the agent.
//
// Large values: pages are bounded by bytes as well as rows (window.ts), and an event larger than
// its topic's chunk size travels as chunk records (src/kafka/chunks.ts: the wire contract). The
// chunk size of each data topic is the configured one, lowered to what the topic's
// max.message.bytes takes (read at start), so topics made before ctrelay chunked work too. A
// record the broker refuses all the same stops capture (exit 4) naming table, key, column and size.
import type { Logger } from 'pino';
import { describeFence, type BatchRecord } from '../core/batch.ts';
import { canWatchCatalog, hasStartupWarnings, type ChangeSource, type PollSession } from '../core/change-source.ts';
import type { SchemaRecord, TableEncoder, WireFormat } from '../core/codec.ts';
import type { Mode, SyncGate } from '../core/modes.ts';
import { qualifiedName, type TableMeta, type TableRef } from '../core/model.ts';
import { retryTransient, RetryPolicy, runWithRetries } from '../core/retry.ts';
import { assertDistinctTopics, batchesTopic, captureTransactionalId, dataTopic, schemasTopic } from '../core/topics.ts';
import { ConfigError, KafkaError, isTransient, PipelineFencedError, ProducerFencedError } from '../core/errors.ts';
import { DEFAULT_CHUNK_BYTES, recordLimitOf, topicConfigForChunks } from '../kafka/chunks.ts';
import { RecordTooLargeError, type Admin, type KafkaPort, type OutRecord, type TransactionalProducer, type WrittenRange } from '../kafka/port.ts';
import { readLastBatch } from '../kafka/batch-log.ts';
import type { CaptureMetrics } from './metrics.ts';
import { describeLargest, fitRecords, pageRecords, type RecordLimit, type TopicRecords } from './publish.ts';
import { DEFAULT_BATCH_BYTES, emptyState, isNoop, ReadSizer, readWindow, type CaptureState, type Page } from './window.ts';


/** How often an idle capture looks for a promotion's fence in the batch log. */
const FENCE_CHECK_MS = 5_000;
export interface CaptureOptions {
  sourceId: string;
  db: string;
  tables: TableRef[];
  exclude?: Map<string, Set<string>>;
  topicPrefix: string;
  partitions: number;
  replicationFactor: number;
  pollIntervalMs: number;
  maxBatchRows: number;
  snapshotChunkRows: number;
  mode: Mode;
  /** stop after this many consecutive transient failures (0 = retry for ever) */
  maxConsecutiveFailures?: number;
  /** Byte budget of a page and of one source read (window.ts; config source.maxBatchBytes); default 64 MiB. */
  maxBatchBytes?: number;
  /**
   * Largest record (key + value + headers) before an event is split into chunk records; 0 = chunking
   * off (an event larger than its topic takes then stops capture). Config kafka.chunkBytes; default
   * DEFAULT_CHUNK_BYTES (1 MiB - 64 KiB).
   */
  chunkBytes?: number;
}

export interface CaptureDeps {
  source: ChangeSource;
  kafka: KafkaPort;
  wire: WireFormat;
  log: Logger;
  metrics: CaptureMetrics;
  sync?: SyncGate;
}

const columnsOf = (m: TableMeta) => m.columns.map((c) => `${c.name} ${c.sourceType}`).join(', ');

export class CaptureAgent {
  private metas: TableMeta[] = [];
  private encoders = new Map<string, TableEncoder>();
  private producer: TransactionalProducer | null = null;
  private state: CaptureState = emptyState();
  private stopping = false;
  private wake: (() => void) | null = null;
  private schemasPublished = false;
  private catalogSignature: string | null = null;
  /** whether the last batch in the log completes its window (only those are acknowledged) */
  private lastComplete = true;
  private readonly retry: RetryPolicy;
  /** bytes per page and per source read */
  private readonly maxBatchBytes: number;
  /** configured chunk size; 0 = chunking off */
  private readonly chunkBytes: number;
  /** rows per source read, learnt per table across windows */
  private readonly sizer: ReadSizer;
  /** per data topic: how large its records may be (read at start) */
  private limits = new Map<string, RecordLimit>();
  /** true once the agent resumed and completed a poll: /readyz */
  ready = false;
  /** when the last poll started or the last page was published (ms; 0 = never): /healthz */
  lastPollAt = 0;
  private fenceCheckedAt = Date.now();

  constructor(private readonly opts: CaptureOptions, private readonly deps: CaptureDeps) {
    this.retry = new RetryPolicy({ maxConsecutiveFailures: opts.maxConsecutiveFailures ?? 0 });
    this.maxBatchBytes = opts.maxBatchBytes ?? DEFAULT_BATCH_BYTES;
    if (this.maxBatchBytes < 1) throw new ConfigError('source.maxBatchBytes: the page byte budget must be at least 1 byte');
    this.chunkBytes = opts.chunkBytes ?? DEFAULT_CHUNK_BYTES;
    this.sizer = new ReadSizer(this.maxBatchBytes);
  }

  get currentState(): CaptureState {
    return this.state;
  }

  /** Connects, reads the catalog, creates topics. User errors surface here, before any loop. */
  async start(): Promise<void> {
    const { source } = this.deps;
    assertDistinctTopics(this.opts.topicPrefix, this.opts.tables);
    await source.connect();
    if (hasStartupWarnings(source)) for (const w of await source.startupWarnings()) this.deps.log.warn(w);
    await this.describe();
    // a broker that just started, and topics created a moment ago, may not know every partition's
    // leader yet (UNKNOWN_TOPIC_OR_PARTITION, NOT_LEADER_FOR_PARTITION): transient at start-up
    await retryTransient(() => this.ensureTopics(), 8, (err) => this.deps.log.warn({ err }, 'creating the topics failed; retrying'));
    await retryTransient(() => this.resume(), 8, (err) => this.deps.log.warn({ err }, 'resuming from the batch log failed; retrying'));
  }

  private async ensureTopics(): Promise<void> {
    const admin = await this.deps.kafka.admin();
    try {
      const { partitions, replicationFactor } = this.opts;
      // data topics take a chunk (an existing topic keeps its setting: readLimits adapts to it)
      const config = topicConfigForChunks(this.chunkBytes);
      await admin.ensureTopics([
        ...this.metas.map((m) => ({ topic: dataTopic(this.opts.topicPrefix, m), partitions, replicationFactor, config })),
        { topic: batchesTopic(this.opts.topicPrefix), partitions: 1, replicationFactor },
        { topic: schemasTopic(this.opts.topicPrefix), partitions: 1, replicationFactor, config: { 'cleanup.policy': 'compact' } },
      ]);
      await this.readLimits(admin);
    } finally {
      await admin.close();
    }
  }

  /**
   * How large each data topic's records may be: the configured chunk size, lowered to what the
   * topic's max.message.bytes takes. A broker that does not tell (no DescribeConfigs permission)
   * leaves the limit unknown: chunks of the configured size, and the broker has the last word.
   */
  private async readLimits(admin: Admin): Promise<void> {
    const topics = this.metas.map((m) => dataTopic(this.opts.topicPrefix, m));
    let found: Map<string, number | null>;
    try {
      found = await admin.maxMessageBytes(topics);
    } catch (err) {
      if (isTransient(err)) throw err;
      this.deps.log.warn({ err }, 'cannot read the data topics\' max.message.bytes: chunking to the configured chunk size, unchecked');
      found = new Map();
    }
    this.limits = new Map(
      topics.map((topic) => {
        const maxMessageBytes = found.get(topic) ?? null;
        const maxRecordBytes = maxMessageBytes === null ? null : recordLimitOf(maxMessageBytes);
        const chunkBytes = this.chunkBytes === 0 ? null : maxRecordBytes === null ? this.chunkBytes : Math.min(this.chunkBytes, maxRecordBytes);
        return [topic, { chunkBytes, maxRecordBytes, maxMessageBytes }];
      }),
    );
    const lowered = [...this.limits].filter(([, l]) => l.chunkBytes !== null && l.chunkBytes < this.chunkBytes);
    if (lowered.length > 0) {
      this.deps.log.warn({ topics: lowered.map(([t, l]) => `${t} (max.message.bytes ${l.maxMessageBytes})`), chunkBytes: this.chunkBytes }, 'data topics take less than the chunk size: their events are chunked smaller');
    }
  }

  /** Reads the catalog and builds one encoder per table; a changed table gets a new schema version. */
  private async describe(): Promise<void> {
    const { source, wire } = this.deps;
    if (canWatchCatalog(source)) this.catalogSignature = await source.catalogSignature(this.opts.tables);
    this.metas = await source.describe(this.opts.tables, this.opts.exclude);
    for (const m of this.metas) this.sizer.forget(m);
    this.encoders.clear();
    for (const m of this.metas) this.encoders.set(qualifiedName(m), wire.tableEncoder(m, this.opts.topicPrefix));
    this.schemasPublished = false;
  }

  /** Re-describes when a table's definition changed since the last look (e.g. a column was added). */
  private async watchCatalog(): Promise<void> {
    const { source, log } = this.deps;
    if (!canWatchCatalog(source)) return;
    const sig = await source.catalogSignature(this.opts.tables);
    if (sig === this.catalogSignature) return;
    const before = new Map(this.metas.map((m) => [qualifiedName(m), columnsOf(m)]));
    await this.describe();
    for (const m of this.metas) {
      const now = columnsOf(m);
      if (before.get(qualifiedName(m)) !== now) log.warn({ table: qualifiedName(m), before: before.get(qualifiedName(m)), after: now }, 'table definition changed: publishing a new schema version');
    }
  }

  private async resume(): Promise<void> {
    const { kafka, wire, log } = this.deps;
    if (this.producer) await this.producer.close().catch(() => undefined);
    this.producer = kafka.producer(captureTransactionalId(this.opts.topicPrefix, this.opts.sourceId));
    await this.producer.init();
    const last = await readLastBatch(kafka, this.opts.topicPrefix, this.opts.sourceId, wire.control);
    if (last?.batch.fence) throw new PipelineFencedError(`capture refuses to publish: ${describeFence(this.opts.topicPrefix, last.batch.fence)}`);
    this.state = emptyState();
    this.lastComplete = last?.batch.complete ?? true;
    if (last) {
      const b = last.batch;
      this.state = {
        seq: b.seq,
        version: b.complete ? b.version : b.previousVersion,
        tables: new Map(b.tables.map((t) => [t.table, { ...t, rows: 0 }])),
      };
    }
    this.schemasPublished = false;
    log.info({ seq: this.state.seq.toString(), version: this.state.version.toString() }, last ? 'resumed from the batch log' : 'no batch log yet: starting with snapshots');
  }

  /**
   * Runs until stop(). A transient failure leads to a resume from the batch log; any other error
   * (a table no longer tracked, a permission revoked, a value that cannot be encoded, a fenced
   * producer) is thrown: the process exits with its code.
   */
  async run(): Promise<void> {
    const { log, metrics } = this.deps;
    try {
      await runWithRetries(this.retry, {
        step: async () => {
          const published = await this.pollOnce();
          this.ready = true;
          if (!published && !this.stopping) {
            await this.checkFence();
            await this.sleep(this.opts.pollIntervalMs);
          }
        },
        recover: () => this.resume(),
        stopping: () => this.stopping,
        onRetry: (err, failures, delayMs) => {
          metrics.errors.inc();
          this.ready = false;
          log.error({ err, failures, retryInMs: delayMs }, 'capture failed; resuming from the batch log');
        },
        sleep: (ms) => this.sleep(ms),
      });
    } catch (err) {
      metrics.errors.inc();
      this.ready = false;
      throw err instanceof ProducerFencedError ? await this.whyFenced(err) : err;
    } finally {
      await this.producer?.close().catch(() => undefined);
      await this.deps.source.close().catch(() => undefined);
    }
  }

  /**
   * An idle capture never touches its producer, so it would not learn that ctrelay promote fenced
   * it (a demoted source has nothing to publish): while idle, it looks for a fence in the batch log
   * every FENCE_CHECK_MS and stops when it finds one.
   */
  private async checkFence(): Promise<void> {
    if (Date.now() - this.fenceCheckedAt < FENCE_CHECK_MS) return;
    this.fenceCheckedAt = Date.now();
    const last = await readLastBatch(this.deps.kafka, this.opts.topicPrefix, this.opts.sourceId, this.deps.wire.control);
    if (last?.batch.fence) throw new PipelineFencedError(`capture stopped: ${describeFence(this.opts.topicPrefix, last.batch.fence)}`);
  }

  /** A fenced producer: by ctrelay promote when the batch log ends with its fence, else by another capture. */
  private async whyFenced(err: ProducerFencedError): Promise<unknown> {
    const last = await readLastBatch(this.deps.kafka, this.opts.topicPrefix, this.opts.sourceId, this.deps.wire.control).catch(() => null);
    return last?.batch.fence ? new PipelineFencedError(`capture stopped: ${describeFence(this.opts.topicPrefix, last.batch.fence)}`, { cause: err }) : err;
  }

  /** Graceful stop: the current page finishes (or its transaction is abandoned), then run() returns. */
  stop(): void {
    this.stopping = true;
    this.deps.sync?.cancel();
    this.wake?.();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => { this.wake = null; resolve(); }, ms);
      this.wake = () => { clearTimeout(t); this.wake = null; resolve(); };
    });
  }

  /** One window. Returns true when something was published. */
  async pollOnce(): Promise<boolean> {
    const { metrics } = this.deps;
    // sync mode: at most one window is ever unprotected
    // after an incomplete window (a crash mid-window) nothing new was applied or can be acked: the
    // complete window before it was acknowledged before that window began
    if (this.deps.sync && this.state.seq >= 0n && this.lastComplete) {
      await this.deps.sync.awaitAck(this.state.seq);
      if (this.stopping) return false;
    }
    const session = await this.beginConsistentPoll();
    let published = false;
    try {
      this.lastPollAt = Date.now();
      metrics.sourceVersion.set(Number(session.currentVersion));
      if (this.state.version >= 0n) metrics.lagVersions.set(Number(session.currentVersion - this.state.version));
      const pages = readWindow(session, this.metas, this.state, {
        maxBatchRows: this.opts.maxBatchRows,
        maxBatchBytes: this.maxBatchBytes,
        sizer: this.sizer,
        snapshotChunkRows: this.opts.snapshotChunkRows,
        db: this.opts.db,
        topicOf: (t) => dataTopic(this.opts.topicPrefix, t),
        excluded: this.opts.exclude,
      });
      for await (const page of pages) {
        if (isNoop(page, this.state)) break;
        // a stop request abandons the window between pages: its pages stay incomplete and are
        // discarded by consumers; the next start re-reads the window
        if (this.stopping && !page.complete) return published;
        await this.publish(page);
        published = true;
      }
    } finally {
      await session.end().catch(() => undefined);
    }
    return published;
  }

  /**
   * Opens the poll's snapshot once the catalog it will be read with is the one described. The
   * catalog look before beginPoll() can miss an ALTER that commits just before the snapshot is
   * taken; rows written after it would then be read with the old column list (a new column silently
   * dropped, or an unsupported one encoded without it). A change committed before the snapshot is
   * visible to a look taken after it, so look again and start over when it moved.
   */
  private async beginConsistentPoll(): Promise<PollSession> {
    const { source } = this.deps;
    for (;;) {
      await this.watchCatalog();
      const session = await source.beginPoll();
      if (!canWatchCatalog(source)) return session;
      let sig: string;
      try {
        sig = await source.catalogSignature(this.opts.tables);
      } catch (err) {
        await session.end().catch(() => undefined);
        throw err;
      }
      if (sig === this.catalogSignature) return session;
      await session.end().catch(() => undefined);
    }
  }

  /** Schemas not yet published since the last (re)start: control records' and every table's. */
  private schemaRecords(): OutRecord[] {
    const seen = new Set<string>();
    const out: OutRecord[] = [];
    const all: SchemaRecord[] = [...this.deps.wire.control.schemas, ...[...this.encoders.values()].flatMap((e) => e.schemas)];
    for (const s of all) {
      if (seen.has(s.fingerprint)) continue;
      seen.add(s.fingerprint);
      out.push({ key: Buffer.from(s.fingerprint), value: Buffer.from(s.json), partition: 0 });
    }
    return out;
  }

  /**
   * A send of one table's records failed. A too-large refusal cannot heal by retrying: name the
   * table, the largest record's key, column and size, and what to do. Other refusals get the table
   * named; transient errors and fencing pass as they are.
   */
  private refusal(err: unknown, topic: string, t: TopicRecords, page: Page, limit: RecordLimit): unknown {
    if (isTransient(err) || err instanceof ProducerFencedError || !(err instanceof KafkaError)) return err;
    const table = qualifiedName(t.table);
    if (!(err instanceof RecordTooLargeError)) return new KafkaError(`cannot publish table ${table}: ${err.message}`, { cause: err });
    const largest = describeLargest(t, page) ?? 'no record';
    const chunking = limit.chunkBytes !== null
      ? `ctrelay sent records of at most ${limit.chunkBytes} bytes (its chunk size for this topic, from max.message.bytes ${limit.maxMessageBytes ?? 'unknown'} when capture started): ` +
        `the topic or broker takes less now (max.message.bytes lowered?); restart capture to chunk to the topic's current limit, or raise the topic's max.message.bytes`
      : 'chunking is off (kafka.chunkBytes: 0): turn it on so that large events are split into chunk records, or raise the topic\'s max.message.bytes';
    return new RecordTooLargeError(`cannot publish table ${table}: Kafka refused a record of topic ${topic} as too large; the largest record sent: ${largest}. ${chunking} (${err.message})`, { cause: err });
  }

  private async publish(page: Page): Promise<void> {
    const { wire, metrics, log } = this.deps;
    for (const r of page.resnapshots) {
      // the initial snapshot is routine; a re-snapshot means changes were lost at the source side
      // or DDL changed rows without DML (the reason says which)
      const level = r.reason === 'initial snapshot' ? 'info' : 'warn';
      log[level]({ table: r.table, seq: page.seq.toString(), reason: r.reason }, 'snapshot started');
      metrics.resnapshots.inc({ table: r.table });
    }
    const { byTopic, counts, oldestCommitMs } = pageRecords(
      page,
      (t) => this.encoders.get(qualifiedName(t))!,
      (t) => dataTopic(this.opts.topicPrefix, t),
    );
    const tx = await this.producer!.begin();
    try {
      if (!this.schemasPublished) await tx.send(schemasTopic(this.opts.topicPrefix), this.schemaRecords());
      const ranges: WrittenRange[] = [];
      for (const [topic, t] of byTopic) {
        const limit = this.limits.get(topic) ?? { chunkBytes: this.chunkBytes || null, maxRecordBytes: null, maxMessageBytes: null };
        const records = fitRecords(topic, t, page, limit);
        try {
          ranges.push(...(await tx.send(topic, records, { maxRequestBytes: limit.maxRecordBytes ?? undefined })));
        } catch (err) {
          throw this.refusal(err, topic, t, page, limit);
        }
      }
      const batch: BatchRecord = {
        sourceId: this.opts.sourceId,
        seq: page.seq,
        windowSeq: page.windowSeq,
        version: page.version,
        previousVersion: this.state.version,
        complete: page.complete,
        ranges,
        tables: page.tables,
        captureTsMs: Date.now(),
        commitTsMs: oldestCommitMs,
        mode: this.opts.mode,
      };
      await tx.send(batchesTopic(this.opts.topicPrefix), [{ key: Buffer.from(this.opts.sourceId), value: wire.control.encodeBatch(batch), partition: 0 }]);
      await tx.commit();
    } catch (err) {
      await tx.abort().catch(() => undefined);
      throw err;
    }
    this.schemasPublished = true;
    // a window of many pages (one huge source transaction) can take minutes: each published page
    // is progress, so liveness (/healthz) must not fail, and get the agent restarted, mid-window
    this.lastPollAt = Date.now();
    this.lastComplete = page.complete;
    this.state = page.complete
      ? { seq: page.seq, version: page.version, tables: new Map(page.tables.map((t) => [t.table, { ...t, rows: 0 }])) }
      : { ...this.state, seq: page.seq };
    for (const { table, ops } of counts) {
      for (const [op, n] of Object.entries(ops)) if (n > 0) metrics.events.inc({ table, op }, n);
      if (ops.r > 0) metrics.snapshotRows.inc({ table }, ops.r);
    }
    metrics.batches.inc();
    metrics.batchSeq.set(Number(page.seq));
    metrics.batchEvents.observe(page.events.length);
    if (page.complete) {
      metrics.publishedVersion.set(Number(page.version));
      metrics.lagSeconds.set(oldestCommitMs !== null ? Math.max(0, (Date.now() - oldestCommitMs) / 1000) : 0);
    }
  }
}
