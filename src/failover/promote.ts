// `ctrelay promote`: makes the standby the primary (DESIGN section 5).
//
// Planned (the source answers): demote the source (optional), read its version V, wait until
// capture and the applier brought the standby to V, verify, fence, switch: RPO 0 by construction
// when writes stopped (demotion makes sure they did). Forced (--force, the source is gone): fence,
// let the applier apply every complete batch Kafka holds (it stops at the fence), switch; what the
// source committed after that is lost and reported.
//
// Fencing, in this order: the batch log gets a fence record under capture's transactional id (a
// running capture is fenced and stops; a restarted one refuses), then the standby's ctrelay_state
// is marked promoted (an applier transaction in flight fails at its state write; a restarted
// applier refuses). Then every sequence feeding a replicated column is moved past the source's
// values, and the write protection is lifted. Every step is idempotent: a promotion interrupted
// after the fence is finished by running promote again. Before the fence, a failure undoes the
// demotion and leaves the pipeline as it was.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { SingleObjectControlCodec } from '../avro/control.ts';
import { targetNamer } from '../apply/run.ts';
import type { Config, StandbyConfig } from '../config/schema.ts';
import { ConfigError, CtrelayError } from '../core/errors.ts';
import type { TableRef } from '../core/model.ts';
import type { KafkaPort } from '../kafka/port.ts';
import { createDialect } from '../standby/create-dialect.ts';
import { floorKey, isPromotable, type PromotableDialect, type SequenceAdvance } from '../standby/promotion.ts';
import { readLastBatch } from '../kafka/batch-log.ts';
import { fenceBatchLog } from './fence.ts';
import { sourceFailover } from './source-failover.ts';

export interface PromoteOptions {
  force: boolean;
  /** planned: make the source refuse writes first (PostgreSQL sources) */
  demoteSource: boolean;
  /** planned: verify the standby before switching (exit 1 and no switch when it differs) */
  verify: boolean;
  /** how long to wait for capture and the applier to drain */
  waitMs: number;
  log: Logger;
  progress(message: string): void;
  /** runs `ctrelay verify` over every table; true when equal */
  runVerify(): Promise<boolean>;
}

export interface PromoteReport {
  kind: 'planned' | 'forced';
  sourceId: string;
  standbyId: string;
  startedAt: string;
  finishedAt: string;
  /** from start to promoted and writable */
  ms: number;
  steps: { step: string; ms: number }[];
  /** planned: the source version when writes stopped */
  cutVersion: string | null;
  /** what the promoted standby holds: the source version, its batch and commit time at the source */
  promotedVersion: string;
  promotedBatch: string;
  promotedCommitAt: string | null;
  /** planned: the source version at the end; above cutVersion when writes went on (lost) */
  sourceVersionAfter: string | null;
  demoted: { database: string; terminated: number } | null;
  verified: boolean | null;
  sequences: { table: string; column: string; sequence: string; before: string | null; next: string }[];
}

export async function promote(config: Config, kafka: KafkaPort, opts: PromoteOptions): Promise<PromoteReport> {
  const standby = requireStandby(config);
  const prefix = config.kafka.topicPrefix;
  const control = new SingleObjectControlCodec();
  const started = Date.now();
  const steps: PromoteReport['steps'] = [];
  const step = async <T>(name: string, f: () => Promise<T>): Promise<T> => {
    const t = Date.now();
    const out = await f();
    steps.push({ step: name, ms: Date.now() - t });
    opts.progress(`${name} (${Date.now() - t} ms)`);
    return out;
  };
  const dialect = promotable(standby);
  await dialect.connect();
  try {
    let cut: bigint | null = null;
    let demoted: PromoteReport['demoted'] = null;
    let verified: boolean | null = null;
    const source = opts.force ? null : sourceFailover(config.source);
    const already = await dialect.readPromotion(config.source.id);
    // a promotion interrupted after its fence is finished from the fence: the source is not demoted
    // or read again (capture is fenced: the standby could never reach a newer version)
    const fencedBefore = (await readLastBatch(kafka, prefix, config.source.id, control))?.batch.fence ?? null;
    if (fencedBefore && !already) opts.progress(`the batch log already ends with a fence (${fencedBefore.kind}, ${new Date(fencedBefore.atMs).toISOString()}): finishing that promotion`);
    let fenced: Awaited<ReturnType<typeof fenceBatchLog>> | null = null;
    const fence = () => step('pipeline fenced in the batch log (capture stops)', () =>
      fenceBatchLog(kafka, prefix, config.source.id, control, { standbyId: standby.id, atMs: Date.now(), kind: opts.force ? 'forced' : 'planned' }));
    if (!already && !fencedBefore && source) {
      try {
        if (opts.demoteSource) demoted = await step('source demoted (new sessions read-only, application sessions ended)', () => source.demote());
        cut = await step('source version read', () => source.version());
        await step(`standby ${standby.id} caught up to source version ${cut}`, () => waitState(dialect, config.source.id, (s) => s.version >= cut!, opts.waitMs, `source version ${cut}`, 'are capture and the applier running?'));
        if (opts.verify) {
          verified = await step('standby verified against the source', () => opts.runVerify());
          if (!verified) throw new CtrelayError(`promote: the standby ${standby.id} differs from the source (see verify's report above): not promoted`);
        }
        fenced = await fence();
      } catch (err) {
        // before the fence nothing is switched: the source takes writes again
        if (opts.demoteSource) await source.undemote().catch(() => undefined);
        throw err;
      }
    }
    fenced ??= await fence();
    const drainTo = fenced.lastComplete;
    if (drainTo && !already) {
      await step(`standby applied every batch before the fence (batch ${drainTo.seq})`, () =>
        waitState(dialect, config.source.id, (s) => s.batchSeq >= drainTo.seq, opts.waitMs, `batch ${drainTo.seq}`, 'is the applier running? (capture is fenced already and need not run)'));
    }
    const promotion = await step('standby marked promoted (the applier stops)', () => dialect.markPromoted(config.source.id));
    const names = targetNamer(standby.kind, standby.url, standby.schema);
    const floors = new Map<string, bigint>();
    const tables: TableRef[] = config.source.tables.map((t) => ({ schema: t.schema, table: t.table }));
    if (source) {
      const values = await source.sequenceValues(tables).catch((err) => {
        opts.log.warn({ err }, 'cannot read the source\'s sequences: moving the standby\'s past their columns\' largest values only');
        return [];
      });
      for (const v of values) floors.set(floorKey(names(v.table), v.column), v.value);
    }
    const sequences = await step('sequences and identities moved past the source\'s values', () => dialect.advanceSequences(tables.map(names), floors));
    await step('write protection lifted: the standby is the primary', () => dialect.unprotect());
    const after = source ? await source.version().catch(() => null) : null;
    return {
      kind: opts.force ? 'forced' : 'planned',
      sourceId: config.source.id,
      standbyId: standby.id,
      startedAt: new Date(started).toISOString(),
      finishedAt: new Date().toISOString(),
      ms: Date.now() - started,
      steps,
      cutVersion: cut?.toString() ?? null,
      promotedVersion: promotion.version.toString(),
      promotedBatch: promotion.batchSeq.toString(),
      promotedCommitAt: drainTo?.commitTsMs != null ? new Date(drainTo.commitTsMs).toISOString() : null,
      sourceVersionAfter: after?.toString() ?? null,
      demoted,
      verified,
      sequences: sequences.map(stringly),
    };
  } finally {
    await dialect.close().catch(() => undefined);
  }
}

function stringly(s: SequenceAdvance): PromoteReport['sequences'][number] {
  return { table: s.table, column: s.column, sequence: s.sequence, before: s.before?.toString() ?? null, next: s.next.toString() };
}

function requireStandby(config: Config): StandbyConfig {
  if (!config.standby) throw new ConfigError('standby: required by `ctrelay promote` (the database to make the primary)');
  return config.standby;
}

function promotable(standby: StandbyConfig): PromotableDialect {
  const d = createDialect(standby.kind, standby.url);
  if (!isPromotable(d)) throw new ConfigError(`standby.kind: a ${standby.kind} standby cannot be promoted yet`);
  return d;
}

/** Polls the standby's state of `sourceId` until `done`; an error (exit 1) naming `what` after `ms`. */
async function waitState(dialect: PromotableDialect, sourceId: string, done: (s: { version: bigint; batchSeq: bigint }) => boolean, ms: number, what: string, hint: string): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    const s = await dialect.readState(sourceId);
    if (s && done(s)) return;
    if (Date.now() > until) {
      throw new CtrelayError(`promote: the standby did not reach ${what} within ${ms} ms (it holds ${s ? `batch ${s.batchSeq}, source version ${s.version}` : 'nothing of this source'}): ${hint}; run promote again once it can`);
    }
    await sleep(100);
  }
}
