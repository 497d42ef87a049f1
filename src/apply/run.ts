// `ctrelay apply`: wires config -> Kafka, decoder, standby dialect, applier, HTTP and signals.
import type { Logger } from 'pino';
import { singleObjectWireFormat } from '../avro/wire-format.ts';
import type { Config, StandbyConfig } from '../config/schema.ts';
import { ConfigError } from '../core/errors.ts';
import { runUntilSignalled } from '../core/signals.ts';
import { createMetricsRegistry } from '../http/metrics.ts';
import { startHttpServer } from '../http/server.ts';
import { createKafkajsPort } from '../kafka/kafkajs/index.ts';
import { TopicDecoder } from '../kafka/schemas-topic.ts';
import { createDialect, standbyKind } from '../standby/create-dialect.ts';
import { prepareStandby } from '../standby/promotion.ts';
import { createSource } from '../sources/factory.ts';
import { SourceVersionProbe } from '../sources/version-probe.ts';
import { Applier } from './applier.ts';
import type { ColumnOptions, TargetNamer } from './plan.ts';
import { ApplyMetrics } from './metrics.ts';

export interface ApplyRunOptions {
  httpPort?: number;
}

/**
 * Target names: a PostgreSQL or SQL Server standby keeps the source schema (or standby.schema when
 * set) inside the URL's database; a MariaDB standby, whose schemas are databases, puts every table
 * in standby.schema, else in the database of the URL, else in a database named after the source
 * schema. `kind` is the configured kind or one of its aliases (createDialect).
 */
export function targetNamer(kind: string, url: string, schema?: string): TargetNamer {
  const k = standbyKind(kind);
  if (k === 'postgres' || k === 'sqlserver') return (t) => ({ schema: schema ?? t.schema, table: t.table });
  let db: string | undefined = schema;
  if (!db) {
    try {
      db = decodeURIComponent(new URL(url).pathname.replace(/^\//, '')) || undefined;
    } catch {
      db = undefined;
    }
  }
  return (t) => ({ schema: db ?? t.schema, table: t.table });
}

/**
 * This standby's column options (standby.tables) by source table. An entry for a table capture
 * does not replicate (source.tables), or a table listed twice, is a ConfigError naming it; the
 * columns are checked against each table's definition by the applier (StandbyTables.validate).
 */
export function columnOptions(config: Pick<Config, 'source'> & { standby?: Pick<StandbyConfig, 'tables'> }): Map<string, ColumnOptions> {
  const out = new Map<string, ColumnOptions>();
  const sources = config.source.tables.map((t) => t.name);
  for (const [i, t] of (config.standby?.tables ?? []).entries()) {
    if (!sources.includes(t.name)) {
      throw new ConfigError(`standby.tables[${i}]: table ${t.name} is not one capture replicates (source.tables: ${sources.join(', ')})`);
    }
    if (out.has(t.name)) throw new ConfigError(`standby.tables[${i}]: table ${t.name} is listed twice`);
    out.set(t.name, { exclude: t.excludeColumns, text: t.textColumns });
  }
  return out;
}

export async function runApply(config: Config, log: Logger, options: ApplyRunOptions = {}): Promise<void> {
  const standby = config.standby;
  if (!standby) throw new ConfigError('standby: required by `ctrelay apply` (a mapping with url, and optionally id, kind, schema)');
  const columns = columnOptions(config);
  const registry = createMetricsRegistry();
  const metrics = new ApplyMetrics(registry);
  const kafka = createKafkajsPort({ brokers: config.kafka.brokers, clientId: `${config.kafka.clientId}-apply`, logger: log.child({ component: 'kafkajs' }) });
  const wire = singleObjectWireFormat();
  const events = new TopicDecoder(kafka, config.kafka.topicPrefix, wire.decoder());
  const dialect = createDialect(standby.kind, standby.url, log.child({ component: 'standby' }));
  const applier = new Applier(
    {
      sourceId: config.source.id,
      standbyId: standby.id,
      topicPrefix: config.kafka.topicPrefix,
      replicationFactor: config.kafka.replicationFactor,
      mergeWindows: config.mode === 'sync' ? 1 : standby.mergeBatches,
      mergeBytes: standby.mergeBytes,
      target: targetNamer(standby.kind, standby.url, standby.schema),
      columns,
    },
    { kafka, dialect, control: wire.control, events, log: log.child({ component: 'apply' }), metrics },
  );
  await prepareStandby(dialect, config.source.id, standby.protect); // refuses a promoted standby, protects it (standby.protect)
  await applier.start();
  // lag against the source itself when the standby site can reach it (else against the batch log)
  const probe = new SourceVersionProbe(createSource(config.source), (v) => metrics.sawSourceVersion(v), log.child({ component: 'lag' }));
  probe.start();
  const http = await startHttpServer({
    host: config.http.apply.host,
    port: options.httpPort ?? config.http.apply.port,
    registry,
    health: () => ({ ok: true }),
    ready: () => ({ ok: applier.ready, detail: { seq: applier.appliedSeq.toString(), version: applier.appliedVersion.toString() } }),
  });
  log.info({ url: http.url, standby: standby.id }, 'apply running');
  try {
    await runUntilSignalled(applier, () => log.info('stopping: finishing the current standby transaction'));
  } catch (err) {
    metrics.errors.inc();
    throw err;
  } finally {
    await probe.stop();
    await http.close();
    await kafka.close();
    log.info('apply stopped');
  }
}
