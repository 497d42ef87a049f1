// `ctrelay snapshot` (and `verify --repair`): an online re-snapshot of chosen tables through the
// normal pipeline. The source is asked to invalidate the tables' cursors (PostgreSQL: as TRUNCATE
// does, see ctResnapshot); the running capture re-snapshots them in its next polls, and the applier
// empties and refills the standby tables in its ordinary windows, exactly once. Waiting follows the
// batch log until the snapshots are done, then the standby's ctrelay_state until it applied them.
import { setTimeout as sleep } from 'node:timers/promises';
import { SingleObjectControlCodec } from '../avro/control.ts';
import type { Config } from '../config/schema.ts';
import { ConfigError, CtrelayError, StandbyError } from '../core/errors.ts';
import { qualifiedName, type TableRef } from '../core/model.ts';
import { readLastBatch } from '../kafka/batch-log.ts';
import type { KafkaPort } from '../kafka/port.ts';
import { ctResnapshot } from '../sources/postgres/ct-admin.ts';
import { createDialect } from '../standby/create-dialect.ts';

export interface ResnapshotOptions {
  /** how long to wait for capture and the standby (0: do not wait) */
  waitMs: number;
  reason: string;
  progress?(message: string): void;
}


/** Requests the re-snapshot; when waiting, resolves with the batch seq that completed it, applied. */
export async function requestResnapshot(config: Config, tables: TableRef[], kafka: KafkaPort, opts: ResnapshotOptions): Promise<bigint | null> {
  if (config.source.kind !== 'postgres') {
    throw new ConfigError(`snapshot: a ${config.source.kind} source cannot be asked for a re-snapshot yet (PostgreSQL sources only)`);
  }
  const names = tables.map(qualifiedName);
  for (const t of tables) {
    if (!config.source.tables.some((x) => x.schema === t.schema && x.table === t.table)) {
      throw new ConfigError(`--table: ${qualifiedName(t)} is not a table capture replicates (source.tables: ${config.source.tables.map((x) => x.name).join(', ')})`);
    }
  }
  const control = new SingleObjectControlCodec();
  const last = async () => readLastBatch(kafka, config.kafka.topicPrefix, config.source.id, control);
  const before = new Map((await last())?.batch.tables.map((t) => [t.table, t.snapshot?.epoch ?? 0]) ?? []);
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
  const dialect = createDialect(config.standby.kind, config.standby.url);
  try {
    await dialect.connect();
    for (;;) {
      const state = await dialect.readState(config.source.id);
      if (state && state.batchSeq >= seq) break;
      if (Date.now() > until) throw new StandbyError(`snapshot: the standby ${config.standby.id} did not apply batch ${seq} within ${opts.waitMs} ms; is the applier running?`);
      await sleep(500);
    }
  } finally {
    await dialect.close();
  }
  opts.progress?.(`the standby ${config.standby.id} applied the re-snapshot`);
  return seq;
}
