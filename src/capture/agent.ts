// The capture agent: poll the source in one snapshot transaction, publish each page of the window
// in one Kafka transaction together with its batch-log record, repeat. The batch log is the only
// checkpoint: after any failure the agent re-initialises its producer (fencing, aborting what was
// open) and resumes from the last committed batch record, so nothing is lost or published twice.
// Transient failures (src/core/errors.ts) are waited out; anything else stops the agent.
import type { Logger } from 'pino';
import type { BatchRecord } from '../core/batch.ts';
import { canWatchCatalog, hasStartupWarnings, type ChangeSource, type PollSession } from '../core/change-source.ts';
import type { SchemaRecord, TableEncoder, WireFormat } from '../core/codec.ts';
import type { Mode, SyncGate } from '../core/modes.ts';
import { qualifiedName, type TableMeta, type TableRef } from '../core/model.ts';
import { retryTransient, RetryPolicy, runWithRetries } from '../core/retry.ts';
import { assertDistinctTopics, batchesTopic, captureTransactionalId, dataTopic, schemasTopic } from '../core/topics.ts';
import type { KafkaPort, OutRecord, TransactionalProducer, WrittenRange } from '../kafka/port.ts';
import { readLastBatch } from '../kafka/batch-log.ts';
import type { CaptureMetrics } from './metrics.ts';
import { pageRecords } from './publish.ts';
import { emptyState, isNoop, readWindow, type CaptureState, type Page } from './window.ts';

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
  /** true once the agent resumed and completed a poll: /readyz */
  ready = false;
  /** when the last poll started or the last page was published (ms; 0 = never): /healthz */
  lastPollAt = 0;

  constructor(private readonly opts: CaptureOptions, private readonly deps: CaptureDeps) {
    this.retry = new RetryPolicy({ maxConsecutiveFailures: opts.maxConsecutiveFailures ?? 0 });
  }

  get currentState(): CaptureState {
    return this.state;
  }

  /** Connects, reads the catalog, creates topics. User errors surface here, before any loop. */
  async start(): Promise<void> {
    const { source, kafka } = this.deps;
    assertDistinctTopics(this.opts.topicPrefix, this.opts.tables);
    await source.connect();
    if (hasStartupWarnings(source)) for (const w of await source.startupWarnings()) this.deps.log.warn(w);
    await this.describe();
    const admin = await kafka.admin();
    try {
      const { partitions, replicationFactor } = this.opts;
      await admin.ensureTopics([
        ...this.metas.map((m) => ({ topic: dataTopic(this.opts.topicPrefix, m), partitions, replicationFactor })),
        { topic: batchesTopic(this.opts.topicPrefix), partitions: 1, replicationFactor },
        { topic: schemasTopic(this.opts.topicPrefix), partitions: 1, replicationFactor, config: { 'cleanup.policy': 'compact' } },
      ]);
    } finally {
      await admin.close();
    }
    // topics created a moment ago may not have a known leader yet (NOT_LEADER_FOR_PARTITION)
    await retryTransient(() => this.resume(), 8, (err) => this.deps.log.warn({ err }, 'resuming from the batch log failed; retrying'));
  }

  /** Reads the catalog and builds one encoder per table; a changed table gets a new schema version. */
  private async describe(): Promise<void> {
    const { source, wire } = this.deps;
    if (canWatchCatalog(source)) this.catalogSignature = await source.catalogSignature(this.opts.tables);
    this.metas = await source.describe(this.opts.tables, this.opts.exclude);
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
          if (!published && !this.stopping) await this.sleep(this.opts.pollIntervalMs);
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
      throw err;
    } finally {
      await this.producer?.close().catch(() => undefined);
      await this.deps.source.close().catch(() => undefined);
    }
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
      for (const [topic, records] of byTopic) ranges.push(...(await tx.send(topic, records)));
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
