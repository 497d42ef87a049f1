// The replica applier: complete windows from Kafka -> ONE standby transaction each (or several
// consecutive windows merged, in async mode), together with the ctrelay_state row that records
// the last applied batch. The state row is the only checkpoint: after a crash the applier resumes
// from it, so a window is applied exactly once and the standby never shows half a window.
// Transient failures (a standby or broker away, a deadlock) are waited out and resumed from the
// state; refused data, a mismatch, fencing or a bug stop the applier.
//
// Standby tables follow the source's definitions as the events' writer schemas give them: every
// transaction first makes the standby tables hold the definitions it writes with (ensureTable:
// create, add columns, widen columns; a narrowing or conversion stops the applier with an error
// naming table, column, both types and the ways out). Where the engine's DDL is transactional
// (PostgreSQL, SQL Server) that happens inside the transaction, so a widened column appears with
// the rows that need it; on MariaDB, whose DDL commits the open transaction, just before it.
// Windows are merged only while they describe every table alike.
import type { Logger } from 'pino';
import { describeFence, type BatchRecord, type FenceMark } from '../core/batch.ts';
import type { ControlCodec } from '../core/codec.ts';
import { ApplyRefusedError, BatchLogMismatchError, ConcurrentApplierError, ConfigError, isTransient, PipelineFencedError, ProducerFencedError } from '../core/errors.ts';
import { retryTransient, RetryPolicy, runWithRetries } from '../core/retry.ts';
import { acksTopic, applyTransactionalId, batchesTopic, schemasTopic } from '../core/topics.ts';
import type { KafkaPort, TransactionalProducer } from '../kafka/port.ts';
import { topicOffsets } from '../kafka/read-to-end.ts';
import { readLastBatch } from '../kafka/batch-log.ts';
import type { TopicDecoder } from '../kafka/schemas-topic.ts';
import { ColumnChangeRefusedError } from '../standby/column-change.ts';
import type { ApplyState, StandbyDialect } from '../standby/dialect.ts';
import type { ApplyMetrics } from './metrics.ts';
import { definitionChanges, mergeDefinitions, planWindows, snapshotStarts, StandbyTables, tableDefinitions, type ColumnOptions, type TargetNamer } from './plan.ts';
import { WindowReader, type CompleteWindow } from './window-reader.ts';

export interface ApplyOptions {
  sourceId: string;
  standbyId: string;
  topicPrefix: string;
  /** replication factor for control topics the applier creates when capture has not yet */
  replicationFactor?: number;
  /** async mode: merge up to this many ready windows into one standby transaction */
  mergeWindows: number;
  /**
   * ... and windows of at most this many bytes of records in all (config standby.mergeBytes,
   * default 64 MiB): memory follows the bytes merged, not the window count. A window larger than
   * this is applied alone, in one transaction: a window is never split.
   */
  mergeBytes?: number;
  /** maps a source table to its standby name (schema = PostgreSQL schema or MariaDB database) */
  target: TargetNamer;
  /** this standby's column options by source table "schema.table" (config standby.tables) */
  columns?: ReadonlyMap<string, ColumnOptions>;
}

export interface ApplyDeps {
  kafka: KafkaPort;
  dialect: StandbyDialect;
  control: ControlCodec;
  events: TopicDecoder;
  log: Logger;
  metrics: ApplyMetrics;
}

/** Default byte budget of the windows merged into one standby transaction. */
export const DEFAULT_MERGE_BYTES = 64 << 20;

export class Applier {
  private stopping = false;
  private reader: WindowReader | null = null;
  private ackProducer: TransactionalProducer | null = null;
  private readonly tables: StandbyTables;
  private readonly retry = new RetryPolicy();
  private readonly mergeBytes: number;
  appliedSeq = -1n;
  /** a window read ahead that must open its own transaction */
  private held: CompleteWindow | null = null;
  /** the ack last attempted, until it is published */
  private ackPending: { seq: bigint; version: bigint } | null = null;
  appliedVersion = -1n;
  ready = false;

  constructor(private readonly opts: ApplyOptions, private readonly deps: ApplyDeps) {
    this.tables = new StandbyTables(opts.target, opts.columns);
    this.mergeBytes = opts.mergeBytes ?? DEFAULT_MERGE_BYTES;
  }

  async start(): Promise<void> {
    await this.deps.dialect.connect();
    await this.deps.dialect.ensureStateTable();
    // control topics created a moment ago may not have a known leader yet
    await retryTransient(() => this.resume(), 8, (err) => this.deps.log.warn({ err }, 'resuming from the standby state failed; retrying'));
    // the column options against the tables' definitions known so far (the others: on first sight)
    for (const name of this.opts.columns?.keys() ?? []) {
      const meta = this.deps.events.decoder.tableMeta(name);
      if (meta) this.tables.validate(meta);
    }
  }

  /** (Re)positions on the standby's state: after start and after every transient failure. */
  private async resume(): Promise<void> {
    const { dialect, kafka, log } = this.deps;
    this.ready = false;
    await this.reader?.close();
    this.reader = null;
    await this.ackProducer?.close().catch(() => undefined);
    this.held = null;
    const state = await dialect.readState(this.opts.sourceId);
    this.appliedSeq = state?.batchSeq ?? -1n;
    this.appliedVersion = state?.version ?? -1n;
    await this.ensureControlTopics();
    await this.deps.events.load();
    if (state) await this.checkBatchLogHolds(state);
    // one applier per standby: a second one with the same id fences this one's acks
    this.ackProducer = kafka.producer(applyTransactionalId(this.opts.topicPrefix, this.opts.standbyId));
    await this.ackProducer.init();
    // resume AT the last applied batch's record, to check it is still the batch the standby holds
    const from = state ? state.batchOffset : 0n;
    const metrics = this.deps.metrics;
    metrics.standbyAt(state && { seq: state.batchSeq, version: state.version });
    // the newest batch captured, so the lag is true from the first scrape, before anything is applied
    const last = await readLastBatch(kafka, this.opts.topicPrefix, this.opts.sourceId, this.deps.control);
    if (last) metrics.sawBatch(last.batch);
    this.reader = new WindowReader(kafka, batchesTopic(this.opts.topicPrefix), this.opts.sourceId, this.deps.control, this.deps.events, from, state ? { seq: state.batchSeq } : null, (b) => metrics.sawBatch(b));
    // a crash between the standby commit and its ack would leave a sync-mode capture waiting
    // for an ack that never comes: acknowledge what the standby holds on every start
    if (state) await this.ack({ seq: state.batchSeq, version: state.version }, 0);
    this.ready = true;
    log.info({ seq: this.appliedSeq.toString(), version: this.appliedVersion.toString() }, state ? 'resuming after the last applied batch' : 'no state on the standby: applying from the start of the batch log');
  }

  /** The applier may start before capture ever ran: the control topics it reads must exist. */
  private async ensureControlTopics(): Promise<void> {
    const admin = await this.deps.kafka.admin();
    try {
      const rf = this.opts.replicationFactor ?? 1;
      await admin.ensureTopics([
        { topic: acksTopic(this.opts.topicPrefix), partitions: 1, replicationFactor: rf },
        { topic: batchesTopic(this.opts.topicPrefix), partitions: 1, replicationFactor: rf },
        { topic: schemasTopic(this.opts.topicPrefix), partitions: 1, replicationFactor: rf, config: { 'cleanup.policy': 'compact' } },
      ]);
    } finally {
      await admin.close();
    }
  }

  /**
   * The batch the standby holds must still be in this batch log, else resuming by offset would
   * silently skip or repeat batches (a reset log, another prefix or cluster).
   */
  private async checkBatchLogHolds(state: ApplyState): Promise<void> {
    const topic = batchesTopic(this.opts.topicPrefix);
    const p0 = (await topicOffsets(this.deps.kafka, topic))?.find((p) => p.partition === 0);
    if (p0 && p0.low <= state.batchOffset && state.batchOffset < p0.stable) return;
    throw new BatchLogMismatchError(
      `the standby's ctrelay_state says source ${this.opts.sourceId} batch ${state.batchSeq} was applied from ${topic} offset ${state.batchOffset}, ` +
        `but that offset holds nothing (${!p0 ? 'the topic does not exist' : p0.stable > p0.low ? `the log holds offsets ${p0.low}..${p0.stable - 1n}` : 'the log is empty'}): ` +
        `the batch log was reset or belongs to another pipeline. Re-initialise this standby (delete its ctrelay_state row for ${this.opts.sourceId} and its tables) to re-snapshot it.`,
    );
  }

  stop(): void {
    this.stopping = true;
  }

  /** Applies windows until stop(); stops with an error on a window that cannot be applied. */
  async run(): Promise<void> {
    const { log, metrics } = this.deps;
    try {
      await runWithRetries(this.retry, {
        step: async () => void (await this.applyNext(500)),
        recover: () => this.resume(),
        stopping: () => this.stopping,
        onRetry: (err, failures, delayMs) => {
          this.ready = false;
          metrics.errors.inc();
          log.error({ err, failures, retryInMs: delayMs }, 'apply failed; resuming from the standby state');
        },
        sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
      });
    } finally {
      await this.reader?.close();
      await this.ackProducer?.close().catch(() => undefined);
      await this.deps.dialect.close().catch(() => undefined);
    }
  }

  /** Applies the next ready window(s); returns false if none arrived within waitMs. */
  async applyNext(waitMs: number): Promise<boolean> {
    const first = this.held ?? (await this.reader!.next(this.appliedSeq, waitMs));
    this.held = null;
    if (!first) {
      if (this.ackPending) await this.ack(this.ackPending, 0);
      return false;
    }
    // everything before the fence is applied (and acknowledged); nothing after it ever comes
    const fence = fenceOf(first);
    if (fence) {
      if (this.ackPending) await this.ack(this.ackPending, 0);
      throw new PipelineFencedError(`the applier stopped at batch ${first.batches.at(-1)!.seq}: ${describeFence(this.opts.topicPrefix, fence)}`);
    }
    const windows: CompleteWindow[] = [first];
    let last = first;
    let bytes = first.bytes;
    const seen = new Map<string, Set<string>>();
    if (this.opts.mergeWindows > 1) mergeDefinitions(seen, tableDefinitions(first));
    while (windows.length < this.opts.mergeWindows && bytes < this.mergeBytes && !this.stopping) {
      const more = await this.reader!.next(last.batches[last.batches.length - 1].seq, 0);
      if (!more) break;
      // a window that (re)starts a snapshot empties its tables first, and one that describes a
      // table differently needs the standby table changed first: each opens a transaction; so
      // does one that would take the transaction past its byte budget
      const defs = tableDefinitions(more);
      if (fenceOf(more) || snapshotStarts(more).length > 0 || definitionChanges(seen, defs) || bytes + more.bytes > this.mergeBytes) {
        this.held = more;
        break;
      }
      mergeDefinitions(seen, defs);
      windows.push(more);
      last = more;
      bytes += more.bytes;
    }
    await this.apply(windows);
    return true;
  }

  private async apply(windows: CompleteWindow[]): Promise<void> {
    const { dialect, metrics } = this.deps;
    const started = Date.now();
    const final = windows[windows.length - 1];
    const finalBatch = final.batches[final.batches.length - 1];
    const plan = planWindows(windows, this.tables, (name) => this.deps.events.decoder.tableMeta(name));
    const seqs = () => windows.flatMap((w) => w.batches.map((b) => b.seq)).join(',');
    /** runs `f`; what the standby refuses stops the applier, naming batch and source table */
    const refused = async (name: string, f: () => Promise<void>): Promise<void> => {
      try {
        await f();
      } catch (err) {
        // a standby that went away is waited out; a configuration error speaks for itself
        if (isTransient(err) || err instanceof ConfigError) throw err;
        let msg = err instanceof Error ? err.message : String(err);
        if (err instanceof ColumnChangeRefusedError && plan.emptied.some((e) => e.name === name)) {
          // the snapshot rewrites the table whole: a table re-created from it is exact again
          msg += `. Capture re-snapshots ${name} from this batch on, so dropping the standby table and restarting the applier is enough: it re-creates the table from the snapshot`;
        }
        throw new ApplyRefusedError(`cannot apply batch ${seqs()} (source table ${name}) to the standby: ${msg}`, { cause: err });
      }
    };
    const sourceName = new Map(plan.tables.map((p) => [p.target, p.name]));
    const ensure = [...plan.ensure];
    // A table whose snapshot (re)starts without an event here: emptied when it exists, left as it
    // is (no widening to the newest definition, which could be wider than the events that follow
    // it in a backlog); created empty from the newest definition when absent, as the source has it.
    const emptied = [];
    for (const e of plan.emptied) {
      if (e.hasEvents) emptied.push(e);
      else if ((await dialect.describeTable(e.target)) !== null) emptied.push(e);
      else {
        ensure.push(e.target);
        sourceName.set(e.target, e.name);
      }
    }
    // MariaDB: DDL would commit the transaction, so the tables change just before it
    if (!dialect.transactionalDdl) for (const t of ensure) await refused(sourceName.get(t)!, () => dialect.ensureTable(t));
    const tx = await dialect.begin();
    try {
      if (dialect.transactionalDdl) for (const t of ensure) await refused(sourceName.get(t)!, () => tx.ensureTable(t));
      // (re)snapshot starts: the snapshot rewrites the table whole, so rows the source lost while
      // its changes could not be read (cleanup, TRUNCATE, restore) do not linger on the standby
      for (const e of emptied) await refused(e.name, () => tx.deleteAll(e.target));
      for (const p of plan.tables) {
        await refused(p.name, async () => {
          if (p.deletes.size > 0) await tx.delete(p.target, [...p.deletes.values()]);
          if (p.upserts.size > 0) await tx.upsert(p.target, [...p.upserts.values()]);
        });
      }
      await tx.writeState({ sourceId: this.opts.sourceId, batchSeq: finalBatch.seq, version: finalBatch.version, batchOffset: final.offset });
      await tx.commit();
    } catch (err) {
      await tx.rollback().catch(() => undefined);
      throw err;
    }
    this.appliedSeq = finalBatch.seq;
    this.appliedVersion = finalBatch.version;
    metrics.observeApplied(finalBatch, plan.events, windows.length, Date.now() - started);
    await this.ack(finalBatch, plan.events);
  }

  /**
   * Publishes the ack of what the standby now holds. A failure is kept and retried when idle (a
   * sync-mode capture waits for it); a fenced producer means a second applier took over: stop.
   */
  private async ack(batch: Pick<BatchRecord, 'seq' | 'version'>, rows: number): Promise<void> {
    this.ackPending = { seq: batch.seq, version: batch.version };
    try {
      await this.sendAck(batch, rows);
      this.ackPending = null;
    } catch (err) {
      if (err instanceof ProducerFencedError) {
        throw new ConcurrentApplierError(`another applier with standby id ${this.opts.standbyId} started (its acks fenced this one's): this one stops`, { cause: err });
      }
      this.deps.log.warn({ err }, 'could not publish the ack (the standby state is committed); retrying when idle');
      await this.ackProducer?.close().catch(() => undefined);
      this.ackProducer = this.deps.kafka.producer(applyTransactionalId(this.opts.topicPrefix, this.opts.standbyId));
      await this.ackProducer.init().catch(() => undefined);
    }
  }

  private async sendAck(batch: Pick<BatchRecord, 'seq' | 'version'>, rows: number): Promise<void> {
    const tx = await this.ackProducer!.begin();
    try {
      await tx.send(acksTopic(this.opts.topicPrefix), [{
        key: Buffer.from(this.opts.standbyId),
        value: this.deps.control.encodeAck({ sourceId: this.opts.sourceId, standbyId: this.opts.standbyId, seq: batch.seq, version: batch.version, appliedAtMs: Date.now(), rows: BigInt(rows) }),
        partition: 0,
      }]);
      await tx.commit();
    } catch (err) {
      await tx.abort().catch(() => undefined);
      throw err;
    }
  }
}

/** The fence that ends the pipeline, when this window is it. */
function fenceOf(w: CompleteWindow): FenceMark | undefined {
  return w.batches.find((b) => b.fence)?.fence;
}
