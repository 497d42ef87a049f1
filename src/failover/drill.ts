// `ctrelay drill`: a failover on real services (a staging pair, or the demo's databases) while
// their workload runs, measured rather than estimated.
//
// planned: `promote --demote-source` (drain, verify, switch). unplanned: at a random moment within
// --cut-within, the source is cut off from the pipeline (the batch log is fenced: capture publishes
// nothing more, its open transaction is aborted) and the standby is promoted as after a disaster
// (`promote --force`: the applier applies every batch before the fence).
//
// RPO is counted after the fact from the source's change tracking, which the drill can still ask:
// at the cut, one snapshot of the source gives its version and clock and every key changed after
// the standby's version; once promoted, the changes above the promoted version are the ones lost.
// (Change tracking keeps a key's last change: a key changed twice within the lost window counts
// once.) Its time: from the first lost commit to the cut. The acknowledgements on the acks topic
// give the newest version a standby confirmed (what /v1/wait returned for): a promoted version below
// it would mean an acknowledged write was lost, which sync mode must never do.
// RTO: from the cut (planned: the demotion) to the standby promoted and writable (planned: verified too).
import { setTimeout as sleep } from 'node:timers/promises';
import { SingleObjectControlCodec } from '../avro/control.ts';
import type { Config } from '../config/schema.ts';
import { ConfigError } from '../core/errors.ts';
import type { TableRef } from '../core/model.ts';
import { acksTopic } from '../core/topics.ts';
import type { KafkaPort } from '../kafka/port.ts';
import { readLast } from '../kafka/read-to-end.ts';
import { createDialect } from '../standby/create-dialect.ts';
import { isPromotable } from '../standby/promotion.ts';
import { fenceBatchLog } from './fence.ts';
import { promote, type PromoteOptions, type PromoteReport } from './promote.ts';
import { sourceFailover } from './source-failover.ts';

export interface DrillOptions extends Omit<PromoteOptions, 'force' | 'demoteSource' | 'verify'> {
  kind: 'planned' | 'unplanned';
  /** unplanned: the cut comes at a random moment within this many ms */
  cutWithinMs: number;
  objectiveRpoMs?: number;
  objectiveRtoMs?: number;
}

export interface DrillReport {
  kind: 'planned' | 'unplanned';
  mode: 'async' | 'sync';
  sourceId: string;
  standbyId: string;
  timeline: { at: string; event: string }[];
  /** the source at the cut (its clock) */
  cut: { at: string; version: string };
  rpo: {
    /** changed keys committed by the cut and not on the promoted standby, in all and per table */
    changes: number;
    perTable: Record<string, number>;
    /** from the first lost commit to the cut; 0 when nothing was lost */
    seconds: number;
    /** the newest version a standby acknowledged (what /v1/wait confirmed), and whether the promoted standby lacks it */
    acknowledgedVersion: string | null;
    acknowledgedLost: boolean;
  };
  rto: { seconds: number };
  objectives: { rpoSeconds: number | null; rtoSeconds: number | null; rpoMet: boolean | null; rtoMet: boolean | null };
  /** every objective given was met, and no acknowledged write was lost */
  met: boolean;
  promote: PromoteReport;
}

export async function drill(config: Config, kafka: KafkaPort, opts: DrillOptions): Promise<DrillReport> {
  const standby = config.standby;
  if (!standby) throw new ConfigError('standby: required by `ctrelay drill` (the database to fail over to)');
  const source = sourceFailover(config.source);
  const tables: TableRef[] = config.source.tables.map((t) => ({ schema: t.schema, table: t.table }));
  const timeline: DrillReport['timeline'] = [];
  const mark = (event: string, at = new Date()) => {
    timeline.push({ at: at.toISOString(), event });
    opts.progress(event);
  };
  mark(`drill started (${opts.kind}, ${config.mode})`);

  let cutAtMs: number;
  let cut: Awaited<ReturnType<typeof source.cutState>> | null = null;
  let report: PromoteReport;
  if (opts.kind === 'unplanned') {
    await sleep(Math.floor(Math.random() * opts.cutWithinMs));
    // the cut: capture is fenced first (nothing it has not published gets through any more), then
    // the source is read; what it committed up to that read and the standby lacks is lost
    cutAtMs = Date.now();
    await fenceBatchLog(kafka, config.kafka.topicPrefix, config.source.id, new SingleObjectControlCodec(), { standbyId: standby.id, atMs: cutAtMs, kind: 'forced' });
    const since = (await standbyState(standby, config.source.id)) ?? -1n;
    cut = await source.cutState(tables, since);
    mark(`cut: the source is cut off from the pipeline (capture fenced) at version ${cut.version}`, cut.at);
    report = await promote(config, kafka, { ...opts, force: true, demoteSource: false, verify: false });
  } else {
    cutAtMs = Date.now();
    mark('cut: planned switchover begins (source demoted)');
    report = await promote(config, kafka, { ...opts, force: false, demoteSource: true, verify: true });
  }
  const promotedAtMs = Date.now();
  mark(`standby ${standby.id} promoted at source version ${report.promotedVersion}${report.verified ? ', verified' : ''} and writable`);
  const promoted = BigInt(report.promotedVersion);
  // planned: the cut is the demotion; whatever the source holds beyond the promoted version now
  // (a session that escaped the demotion) is lost
  if (!cut) {
    const now = await source.cutState(tables, promoted);
    cut = { version: report.cutVersion === null ? now.version : BigInt(report.cutVersion), at: new Date(cutAtMs), changes: now.changes };
  }
  const lost = cut.changes.filter((c) => c.version > promoted);
  const perTable: Record<string, number> = {};
  for (const c of lost) perTable[c.table] = (perTable[c.table] ?? 0) + 1;
  const acknowledged = await lastAcknowledged(kafka, config, standby.id);
  const rpoSeconds = lost.length === 0 ? 0 : Math.max(0, (cut.at.getTime() - lost[0].commitTs.getTime()) / 1000);
  const rtoSeconds = (promotedAtMs - cutAtMs) / 1000;
  const rpoMet = opts.objectiveRpoMs === undefined ? null : rpoSeconds * 1000 <= opts.objectiveRpoMs;
  const rtoMet = opts.objectiveRtoMs === undefined ? null : rtoSeconds * 1000 <= opts.objectiveRtoMs;
  // an ack is written after the standby's commit, so this holds unless the promoted standby lost
  // data it had acknowledged (restored from a backup, another database behind the same id): checked
  const acknowledgedLost = acknowledged !== null && acknowledged > promoted;
  return {
    kind: opts.kind,
    mode: config.mode,
    sourceId: config.source.id,
    standbyId: standby.id,
    timeline,
    cut: { at: cut.at.toISOString(), version: cut.version.toString() },
    rpo: { changes: lost.length, perTable, seconds: rpoSeconds, acknowledgedVersion: acknowledged?.toString() ?? null, acknowledgedLost },
    rto: { seconds: rtoSeconds },
    objectives: {
      rpoSeconds: opts.objectiveRpoMs === undefined ? null : opts.objectiveRpoMs / 1000,
      rtoSeconds: opts.objectiveRtoMs === undefined ? null : opts.objectiveRtoMs / 1000,
      rpoMet,
      rtoMet,
    },
    met: rpoMet !== false && rtoMet !== false && !acknowledgedLost,
    promote: report,
  };
}

async function standbyState(standby: NonNullable<Config['standby']>, sourceId: string): Promise<bigint | null> {
  const d = createDialect(standby.kind, standby.url);
  if (!isPromotable(d)) throw new ConfigError(`standby.kind: a ${standby.kind} standby cannot be promoted yet`);
  try {
    await d.connect();
    return (await d.readState(sourceId))?.version ?? null;
  } finally {
    await d.close().catch(() => undefined);
  }
}

/** The newest version `standbyId` acknowledged on the acks topic (null: none). */
async function lastAcknowledged(kafka: KafkaPort, config: Config, standbyId: string): Promise<bigint | null> {
  const control = new SingleObjectControlCodec();
  const topic = acksTopic(config.kafka.topicPrefix);
  const last = await readLast(kafka, topic, (r) => {
    if (r.value === null) return undefined;
    const a = control.decodeAck(r.value, `${topic}[0]@${r.offset}`);
    return a.sourceId === config.source.id && a.standbyId === standbyId ? a : undefined;
  });
  return last?.value.version ?? null;
}
