// `ctrelay failback`: after a promotion, reverses the flow. The promoted database becomes the
// source of a new pipeline (change tracking enabled on its copies of the replicated tables) and the
// old primary its standby, brought up to date by the new pipeline's initial snapshot. The reversed
// configuration is written from the original file's text, so `${ENV}` references (passwords) stay
// references and never land in the new file. A second promote of the reversed pipeline returns to
// the original direction.
import { readFile, writeFile } from 'node:fs/promises';
import { parseDocument, stringify } from 'yaml';
import type { Config, StandbyConfig } from '../config/schema.ts';
import { ConfigError } from '../core/errors.ts';
import { qualifiedName, type TableRef } from '../core/model.ts';
import { targetNamer } from '../apply/run.ts';
import { createDialect, standbyKind } from '../standby/create-dialect.ts';
import { isPromotable } from '../standby/promotion.ts';
import { ctEnable } from '../sources/postgres/ct-admin.ts';

export interface FailbackOptions {
  /** the reversed configuration's path */
  out: string;
  /** the new pipeline's kafka.topicPrefix (default: the old one with -r1, -r2, ... appended) */
  topicPrefix?: string;
  warn(message: string): void;
}

export interface FailbackResult {
  out: string;
  topicPrefix: string;
  /** the new source's tables (the promoted database's names) */
  tables: TableRef[];
}

type Raw = Record<string, any>;

export async function failback(configPath: string, config: Config, opts: FailbackOptions): Promise<FailbackResult> {
  const standby = config.standby;
  if (!standby) throw new ConfigError('standby: required by `ctrelay failback` (the promoted database, the new source)');
  if (standbyKind(standby.kind) !== 'postgres') {
    throw new ConfigError(`standby.kind: failback needs the promoted database to carry ctrelay's change tracking, which exists for PostgreSQL; a ${standby.kind} database cannot be the new source yet`);
  }
  if (!standbyKind(config.source.kind)) throw new ConfigError(`source.kind: a ${config.source.kind} database cannot be a standby`);
  await requirePromoted(standby, config.source.id);

  const names = targetNamer(standby.kind, standby.url, standby.schema);
  const sourceTables: TableRef[] = config.source.tables.map((t) => ({ schema: t.schema, table: t.table }));
  const tables = sourceTables.map(names);
  const schemas = new Set(sourceTables.map((t) => t.schema));
  if (standby.schema && schemas.size > 1) {
    throw new ConfigError(`standby.schema: the standby holds tables of ${schemas.size} source schemas in ${standby.schema}; failback cannot tell them apart again`);
  }
  if (config.source.tables.some((t) => t.excludeColumns.length > 0) || standby.tables.length > 0) {
    opts.warn('columns left out or kept as text on the standby (source.tables excludeColumns, standby.tables) are not on the promoted database: the reversed pipeline replicates what it holds');
  }

  const raw = parseDocument(await readFile(configPath, 'utf8')).toJS() as Raw;
  const topicPrefix = opts.topicPrefix ?? nextPrefix(config.kafka.topicPrefix);
  const reversed = reversedConfig(raw, config, tables, topicPrefix, standby.schema ? [...schemas][0] : undefined);
  await ctEnable(standby.url, tables, { warn: opts.warn });
  await writeFile(opts.out, `# reversed by ctrelay failback from ${configPath} (${new Date().toISOString()})\n${stringify(reversed, { lineWidth: 0 })}`, { mode: 0o600 });
  return { out: opts.out, topicPrefix, tables };
}

async function requirePromoted(standby: StandbyConfig, sourceId: string): Promise<void> {
  const d = createDialect(standby.kind, standby.url);
  if (!isPromotable(d)) throw new ConfigError(`standby.kind: a ${standby.kind} standby cannot be promoted`);
  try {
    await d.connect();
    if (!(await d.readPromotion(sourceId))) {
      throw new ConfigError(`failback: the standby ${standby.id} is not promoted (ctrelay_state of source ${sourceId}); run ctrelay promote first`);
    }
  } finally {
    await d.close().catch(() => undefined);
  }
}

/** prefix -> prefix-r1, prefix-r1 -> prefix-r2: each reversal gets topics of its own. */
export function nextPrefix(prefix: string): string {
  const m = /^(.*)-r(\d+)$/.exec(prefix);
  return m ? `${m[1]}-r${Number(m[2]) + 1}` : `${prefix}-r1`;
}

/** The reversed file: source and standby swapped (their raw URLs), ids swapped, tables renamed. */
export function reversedConfig(raw: Raw, config: Pick<Config, 'source' | 'standby'>, tables: TableRef[], topicPrefix: string, schema: string | undefined): Raw {
  const { id: _sid, url: sourceUrl, kind: _sk, tables: _st, ...captureOptions } = raw.source ?? {};
  const { id: _bid, url: standbyUrl, kind: _bk, schema: _bs, tables: _bt, ...applyOptions } = raw.standby ?? {};
  // options that only mean something on a SQL Server source do not carry over to a PostgreSQL one
  for (const k of ['allowNonSnapshot', 'commitTime', 'pollTimeoutMs']) delete captureOptions[k];
  const out: Raw = { ...raw };
  out.source = { id: config.standby!.id, url: standbyUrl, tables: tables.map(qualifiedName), ...captureOptions };
  out.standby = { id: config.source.id, kind: config.source.kind, url: sourceUrl, ...(schema ? { schema } : {}), ...applyOptions };
  out.kafka = { ...(raw.kafka ?? {}), topicPrefix };
  return out;
}

