// `ctrelay lost-changes`: after a forced promotion, once the old primary answers again, the changes
// it committed after the version the promoted standby holds: one JSON line per changed key, with the
// row as the old primary holds it now, for the operator to inspect and re-apply on the new primary.
import type { Config } from '../config/schema.ts';
import { ConfigError } from '../core/errors.ts';
import type { TableRef } from '../core/model.ts';
import { createDialect } from '../standby/create-dialect.ts';
import { isPromotable } from '../standby/promotion.ts';
import { sourceFailover } from './source-failover.ts';

export interface LostChangesResult {
  since: bigint;
  count: number;
}

/** Writes the lines through `write`; `since` defaults to the promoted standby's version. */
export async function writeLostChanges(config: Config, write: (line: string) => void, since?: bigint): Promise<LostChangesResult> {
  const from = since ?? (await promotedVersion(config));
  const tables: TableRef[] = config.source.tables.map((t) => ({ schema: t.schema, table: t.table }));
  const changes = await sourceFailover(config.source).lostChanges(tables, from);
  for (const c of changes) {
    // the key and row are PostgreSQL's own JSON text, spliced in unparsed so numbers keep every digit
    write(`{"table":${JSON.stringify(c.table)},"op":"${c.rowJson === null ? 'delete' : 'upsert'}","version":"${c.version}",` +
      `"commitTs":${JSON.stringify(c.commitTs.toISOString())},"key":${c.keyJson},"row":${c.rowJson ?? 'null'}}\n`);
  }
  return { since: from, count: changes.length };
}

async function promotedVersion(config: Config): Promise<bigint> {
  const standby = config.standby;
  if (!standby) throw new ConfigError('standby: required to find the promoted version (or give --since-version)');
  const d = createDialect(standby.kind, standby.url);
  if (!isPromotable(d)) throw new ConfigError(`standby.kind: a ${standby.kind} standby cannot be promoted`);
  try {
    await d.connect();
    const p = await d.readPromotion(config.source.id);
    if (!p) throw new ConfigError(`lost-changes: the standby ${standby.id} is not promoted; nothing was lost (or give --since-version)`);
    return p.version;
  } finally {
    await d.close().catch(() => undefined);
  }
}
