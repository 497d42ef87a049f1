// `ctrelay capture`: wires config -> source, Kafka, codecs, agent, HTTP (/metrics, /healthz,
// /readyz, /v1/wait) and signals. Graceful stop on SIGTERM/SIGINT.
import type { Logger } from 'pino';
import { singleObjectWireFormat } from '../avro/wire-format.ts';
import type { Config } from '../config/schema.ts';
import { ConfigError } from '../core/errors.ts';
import { runUntilSignalled } from '../core/signals.ts';
import { HttpError, sendJson, startHttpServer } from '../http/server.ts';
import { createMetricsRegistry } from '../http/metrics.ts';
import { createKafkajsPort } from '../kafka/kafkajs/index.ts';
import { createSource } from '../sources/factory.ts';
import { SourceVersionProbe } from '../sources/version-probe.ts';
import { AckTracker } from './ack-tracker.ts';
import { CaptureAgent } from './agent.ts';
import { CaptureMetrics } from './metrics.ts';
import { AckSyncGate } from './sync-gate.ts';

export interface CaptureRunOptions {
  /** HTTP port override (0 = any free port; the chosen URL is logged) */
  httpPort?: number;
}

function databaseOf(url: string): string {
  try {
    return decodeURIComponent(new URL(url).pathname.replace(/^\//, '')) || 'default';
  } catch {
    return 'default';
  }
}

export async function runCapture(config: Config, log: Logger, options: CaptureRunOptions = {}): Promise<void> {
  const registry = createMetricsRegistry();
  const metrics = new CaptureMetrics(registry);
  const kafka = createKafkajsPort({ brokers: config.kafka.brokers, clientId: `${config.kafka.clientId}-capture`, logger: log.child({ component: 'kafkajs' }) });
  const wire = singleObjectWireFormat();
  const standbyId = config.standby?.id ?? null;
  if (config.mode === 'sync' && !standbyId) throw new ConfigError('mode: "sync" needs standby.id (the standby whose acks capture waits for)');
  // acks answer /v1/wait whenever a standby is configured, and gate sync mode
  const acks = standbyId === null ? null : new AckTracker(
    kafka,
    { prefix: config.kafka.topicPrefix, sourceId: config.source.id, standbyId, replicationFactor: config.kafka.replicationFactor },
    wire.control,
    log.child({ component: 'acks' }),
  );
  const syncLog = log.child({ component: 'sync' });
  /** since when sync mode (block) waits past its timeout for the standby: capture is not ready then */
  let blockedSince: number | null = null;
  const gate = acks && config.mode === 'sync'
    ? new AckSyncGate(acks, config.sync.timeoutMs, config.sync.policy, {
      degraded: (seq, timeoutMs) => {
        metrics.syncDegraded.set(1);
        syncLog.warn({ seq: seq.toString(), timeoutMs }, 'sync mode: no ack from the standby in time; degraded to asynchronous');
      },
      recovered: (seq) => {
        metrics.syncDegraded.set(0);
        syncLog.warn({ seq: seq.toString() }, 'sync mode: the standby caught up; synchronous again');
      },
      stillBlocked: (seq, timeoutMs) => {
        blockedSince ??= Date.now();
        syncLog.warn({ seq: seq.toString(), timeoutMs }, 'sync mode (block): still waiting for the standby to acknowledge');
      },
      unblocked: (seq) => {
        blockedSince = null;
        syncLog.info({ seq: seq.toString() }, 'sync mode (block): the standby acknowledged; capture goes on');
      },
    })
    : undefined;
  const exclude = new Map(config.source.tables.map((t) => [`${t.schema}.${t.table}`, new Set(t.excludeColumns)]));
  const agent = new CaptureAgent(
    {
      sourceId: config.source.id,
      db: databaseOf(config.source.url),
      tables: config.source.tables.map((t) => ({ schema: t.schema, table: t.table })),
      exclude,
      topicPrefix: config.kafka.topicPrefix,
      partitions: config.kafka.partitions,
      replicationFactor: config.kafka.replicationFactor,
      pollIntervalMs: config.source.pollIntervalMs,
      maxBatchRows: config.source.maxBatchRows,
      snapshotChunkRows: config.source.snapshotChunkRows,
      maxBatchBytes: config.source.maxBatchBytes,
      chunkBytes: config.kafka.chunkBytes,
      mode: config.mode,
    },
    { source: createSource(config.source), kafka, wire, log: log.child({ component: 'capture' }), metrics, sync: gate },
  );

  await agent.start();
  acks?.start();
  // source_version and lag_versions follow the source also while capture does not poll (sync
  // mode blocked on the standby, a backoff, a long window being published)
  const probe = new SourceVersionProbe(createSource(config.source), (v) => {
    metrics.sourceVersion.set(Number(v));
    const published = agent.currentState.version;
    if (published >= 0n) metrics.lagVersions.set(Number(v > published ? v - published : 0n));
  }, log.child({ component: 'lag' }));
  probe.start();

  // alive = a poll started or a page was published recently; before the first poll, since start
  // (a probe between start() and the first poll must not see a process that never polled as dead)
  const startedAt = Date.now();
  const http = await startHttpServer({
    host: config.http.capture.host,
    port: options.httpPort ?? config.http.capture.port,
    registry,
    health: () => ({
      ok: Date.now() - Math.max(agent.lastPollAt, startedAt) < Math.max(60_000, config.source.pollIntervalMs * 20),
      detail: { lastPollAt: agent.lastPollAt > 0 ? new Date(agent.lastPollAt).toISOString() : null },
    }),
    ready: () => ({
      ok: agent.ready && blockedSince === null,
      detail: {
        seq: agent.currentState.seq.toString(),
        version: agent.currentState.version.toString(),
        sourceVersion: probe.latest?.toString() ?? null,
        ...(blockedSince !== null ? { blockedSince: new Date(blockedSince).toISOString(), reason: 'sync mode (block): waiting for the standby to acknowledge' } : {}),
      },
    }),
    routes: {
      // GET /v1/wait?version=V&timeout=ms: 200 once the standby applied V, 408 on timeout
      '/v1/wait': async (_req, res, url) => {
        const version = url.searchParams.get('version');
        const timeout = Number(url.searchParams.get('timeout') ?? '5000');
        if (!version || !/^\d+$/.test(version)) throw new HttpError(400, 'version: expected a non-negative integer');
        if (!Number.isFinite(timeout) || timeout < 0) throw new HttpError(400, 'timeout: expected milliseconds >= 0');
        if (!acks) throw new HttpError(409, 'no standby configured (standby.id): nothing acknowledges versions');
        const want = BigInt(version);
        const ack = await acks.waitFor((a) => a.version >= want, timeout);
        if (ack) sendJson(res, 200, { applied: true, version: ack.version.toString(), seq: ack.seq.toString(), standby: ack.standbyId, appliedAt: new Date(ack.appliedAtMs).toISOString() });
        else sendJson(res, 408, { applied: false, version, latest: acks.latest?.version.toString() ?? null, error: `standby did not apply version ${version} within ${timeout} ms` });
      },
    },
  });
  log.info({ url: http.url, mode: config.mode }, 'capture running');

  try {
    await runUntilSignalled(agent, () => log.info('stopping: finishing the current batch'));
  } finally {
    await probe.stop();
    await acks?.stop();
    await http.close();
    await kafka.close();
    log.info('capture stopped');
  }
}
