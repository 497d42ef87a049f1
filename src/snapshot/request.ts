// `ctrelay snapshot` (and `verify --repair`): an online re-snapshot of chosen tables or keys through
// the normal pipeline. Whole tables: the source invalidates the tables' cursors as TRUNCATE does;
// the running capture re-snapshots them in its next polls and the applier empties and refills the
// standby tables in its ordinary windows, exactly once; waiting follows the batch log until the
// snapshots are done, then the standby's ctrelay_state until it applied them. Keys: the source marks
// them changed, capture sends them like updates; waiting follows the standby's applied version.
// (PostgreSQL sources: src/sources/postgres/ct-resnapshot.ts.)
import { setTimeout as sleep } from 'node:timers/promises';
import { SingleObjectControlCodec } from '../avro/control.ts';
import type { Config } from '../config/schema.ts';
import { describeFence } from '../core/batch.ts';
import { ConfigError, CtrelayError, PipelineFencedError, StandbyError } from '../core/errors.ts';
import { qualifiedName, type TableRef } from '../core/model.ts';
import { readLastBatch } from '../kafka/batch-log.ts';
import type { KafkaPort } from '../kafka/port.ts';
import { ctResnapshot, ctResnapshotKeys, type KeySelection } from '../sources/postgres/ct-resnapshot.ts';
import type { ApplyState } from '../standby/dialect.ts';
import { createDialect } from '../standby/create-dialect.ts';

export interface ResnapshotOptions {
  /** how long to wait for capture and the standby (0: do not wait) */
  waitMs: number;
  reason: string;
  progress?(message: string): void;
}


/** Requests the re-snapshot; when waiting, resolves with the batch seq that completed it, applied. */
export async function requestResnapshot(config: Config, tables: TableRef[], kafka: KafkaPort, opts: ResnapshotOptions): Promise<bigint | null> {
  checkRequest(config, tables);
  const names = tables.map(qualifiedName);
  const control = new SingleObjectControlCodec();
  const last = async () => readLastBatch(kafka, config.kafka.topicPrefix, config.source.id, control);
  const head = await last();
  if (head?.batch.fence) throw new PipelineFencedError(`snapshot: ${describeFence(config.kafka.topicPrefix, head.batch.fence)}`);
  const before = new Map(head?.batch.tables.map((t) => [t.table, t.snapshot?.epoch ?? 0]) ?? []);
  await ctResnapshot(config.source.url, tables, opts.reason);
  opts.progress?.(`re-snapshot requested for ${names.join(', ')}`);
  if (opts.waitMs <= 0) return null;

  const until = Date.now() + opts.waitMs;
  let seq: bigint | null = null;
  while (seq === null) {
    const b = (await last())?.batch;
    const done = b?.complete && names.every((n) => {
      const s = b.tables.find((t) => t.table === n)?.snapshot;
      return s !== null && s !== undefined && s.epoch > (before.get(n) ?? 0) && s.done;
    });
    if (done) seq = b!.seq;
    else if (Date.now() > until) throw new CtrelayError(`snapshot: capture did not complete the re-snapshot of ${names.join(', ')} within ${opts.waitMs} ms; is capture running?`);
    else await sleep(500);
  }
  opts.progress?.(`capture re-snapshotted ${names.join(', ')} (batch ${seq})`);
  if (!config.standby) return seq;
  await waitStandby(config, until, opts.waitMs, (s) => s.batchSeq >= seq!, `batch ${seq}`);
  opts.progress?.(`the standby ${config.standby.id} applied the re-snapshot`);
  return seq;
}

/**
 * Re-snapshots keys of one table (given keys, or the source rows of a key range): they are marked
 * changed on the source and the running capture sends them again like any update. When waiting,
 * resolves once the standby applied the marking version; resolves with that version and the count.
 */
export async function requestKeyResnapshot(config: Config, table: TableRef, sel: KeySelection, opts: ResnapshotOptions): Promise<{ keys: number; version: bigint }> {
  checkRequest(config, [table]);
  const marked = await ctResnapshotKeys(config.source.url, table, sel);
  opts.progress?.(`re-snapshot requested for ${marked.keys} key(s) of ${qualifiedName(table)} (source version ${marked.version})`);
  if (opts.waitMs <= 0 || !config.standby || marked.keys === 0) return marked;
  await waitStandby(config, Date.now() + opts.waitMs, opts.waitMs, (s) => s.version >= marked.version, `source version ${marked.version}`);
  opts.progress?.(`the standby ${config.standby.id} applied them`);
  return marked;
}

function checkRequest(config: Config, tables: TableRef[]): void {
  if (config.source.kind !== 'postgres') {
    throw new ConfigError(`snapshot: a ${config.source.kind} source cannot be asked for a re-snapshot yet (PostgreSQL sources only)`);
  }
  for (const t of tables) {
    if (!config.source.tables.some((x) => x.schema === t.schema && x.table === t.table)) {
      throw new ConfigError(`--table: ${qualifiedName(t)} is not a table capture replicates (source.tables: ${config.source.tables.map((x) => x.name).join(', ')})`);
    }
  }
}

/** Polls the standby's ctrelay_state until `done`; a StandbyError naming `what` after `until`. */
async function waitStandby(config: Config, until: number, ms: number, done: (s: ApplyState) => boolean, what: string): Promise<void> {
  const standby = config.standby!;
  const dialect = createDialect(standby.kind, standby.url);
  try {
    await dialect.connect();
    for (;;) {
      const state = await dialect.readState(config.source.id);
      if (state && done(state)) return;
      if (Date.now() > until) throw new StandbyError(`snapshot: the standby ${standby.id} did not apply ${what} within ${ms} ms; are capture and the applier running?`);
      await sleep(500);
    }
  } finally {
    await dialect.close();
  }
}
