// End to end on SQL Server at both ends: SQL Server change tracking -> CaptureAgent -> Kafka ->
// Applier -> SQL Server standby, both in this process (wired as src/demo/demo.ts and the `capture` /
// `apply` commands wire them), through createSource-equivalent and createDialect('sqlserver', ...)
// as the CLI reaches them. A snapshot, then inserts, updates and deletes in several transactions,
// keys that differ only in case (the source column is binary-collated), then a row-for-row
// comparison (src/verify/compare.ts).
//
// Needs a SQL Server (vitest.mssql.config.ts: MSSQL_URL or testcontainers) AND a Kafka broker
// (KAFKA_BROKERS=host:port[,...]; the mssql run starts none); skips with a notice otherwise.
// NOT RUN YET: no SQL Server where this was written.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Applier } from '../../../src/apply/applier.ts';
import { ApplyMetrics } from '../../../src/apply/metrics.ts';
import { targetNamer } from '../../../src/apply/run.ts';
import { singleObjectWireFormat } from '../../../src/avro/wire-format.ts';
import { CaptureAgent } from '../../../src/capture/agent.ts';
import { CaptureMetrics } from '../../../src/capture/metrics.ts';
import type { TableRef } from '../../../src/core/model.ts';
import { createMetricsRegistry } from '../../../src/http/metrics.ts';
import { createKafkajsPort } from '../../../src/kafka/kafkajs/index.ts';
import type { KafkaPort } from '../../../src/kafka/port.ts';
import { TopicDecoder } from '../../../src/kafka/schemas-topic.ts';
import { createLogger } from '../../../src/log/logger.ts';
import { createSource } from '../../../src/sources/factory.ts';
import { createDialect } from '../../../src/standby/create-dialect.ts';
import { compareTable } from '../../../src/verify/compare.ts';
import { sqlServerHarness } from '../../support/source-harness-sqlserver.ts';
import type { HarnessDatabase, HarnessTable, SourceHarness } from '../../support/source-harness.ts';
import { sqlServerStandbyHarness } from '../../support/standby-harness-sqlserver.ts';
import type { StandbyDatabase, StandbyHarness } from '../../support/standby-harness.ts';

const url = inject('mssqlUrl');
const brokers = (process.env.KAFKA_BROKERS ?? '').split(',').map((b) => b.trim()).filter(Boolean);
const skip = !url ? inject('mssqlSkipReason') : brokers.length === 0 ? 'SQL Server pipeline skipped: set KAFKA_BROKERS (host:port,...) to a Kafka broker' : '';
if (skip) console.warn(skip);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const suite = skip ? describe.skip : describe;
suite('SQL Server source -> Kafka -> SQL Server standby (capture and apply in process)', () => {
  let sources: SourceHarness;
  let standbys: StandbyHarness;
  let src: HarnessDatabase;
  let sb: StandbyDatabase;
  let kafka: KafkaPort;
  let items: HarnessTable;
  const codes: TableRef = { schema: 'dbo', table: 'codes' };

  beforeAll(async () => {
    sources = sqlServerHarness(url);
    standbys = sqlServerStandbyHarness(url);
    src = await sources.createDatabase('ctr_pipe_src');
    sb = await standbys.createDatabase('ctr_pipe_sb');
    items = await src.createTable({
      name: 'items',
      key: ['id'],
      columns: [
        { name: 'id', type: { kind: 'int32' } },
        { name: 'name', type: { kind: 'varchar', length: 50 } },
        { name: 'price', type: { kind: 'decimal', precision: 12, scale: 2 } },
        { name: 'at', type: { kind: 'timestamp', precision: 6 } },
        { name: 'raw', type: { kind: 'bytes' } },
      ],
    });
    // keys that differ only in case: the source keeps them apart, so must the standby
    await src.exec(`CREATE TABLE [dbo].[codes] ([code] nvarchar(20) COLLATE Latin1_General_100_BIN2 NOT NULL PRIMARY KEY, [v] int NULL)`);
    const codesTable: HarnessTable = { ref: codes, spec: { name: 'codes', key: ['code'], columns: [{ name: 'code', type: { kind: 'varchar', length: 20 } }, { name: 'v', type: { kind: 'int32' } }] } };
    await src.exec(src.insertSql(items, Array.from({ length: 50 }, (_, i) => ({ id: i + 1, name: `item ${i + 1} ✓`, price: `${i}.25`, at: '2024-02-29T12:34:56.123456', raw: Buffer.from([i, 0]) }))));
    await src.exec(`INSERT INTO [dbo].[codes] ([code], [v]) VALUES (N'k', 1), (N'K', 2), (N'é', 3)`);
    await src.enableTracking([items, codesTable]);
    kafka = createKafkajsPort({ brokers, clientId: 'ctrelay-mssql-pipeline' });
  });

  afterAll(async () => {
    await kafka?.close();
    await src?.drop();
    await sb?.drop();
    await sources?.close();
    await standbys?.close();
  });

  it('replicates a snapshot and every later change exactly, keys that differ only in case included', async () => {
    const log = createLogger({ level: 'warn' });
    const registry = createMetricsRegistry();
    const prefix = `mssqlpipe_${Date.now().toString(36)}`;
    const wire = singleObjectWireFormat();
    const tables = [items.ref, codes];
    const sourceConfig = { kind: 'sqlserver' as const, url: src.url };
    const agent = new CaptureAgent(
      { sourceId: 'mssql-src', db: src.name, tables, topicPrefix: prefix, partitions: 1, replicationFactor: 1, pollIntervalMs: 100, maxBatchRows: 5000, snapshotChunkRows: 20, mode: 'async' },
      { source: createSource(sourceConfig), kafka, wire, log: log.child({ component: 'capture' }), metrics: new CaptureMetrics(registry) },
    );
    const names = targetNamer('sqlserver', sb.url, 'replica');
    const applier = new Applier(
      { sourceId: 'mssql-src', standbyId: 'mssql-sb', topicPrefix: prefix, mergeWindows: 10, target: names },
      { kafka, dialect: createDialect('sqlserver', sb.url, log.child({ component: 'standby' })), control: wire.control, events: new TopicDecoder(kafka, prefix, wire.decoder()), log: log.child({ component: 'apply' }), metrics: new ApplyMetrics(registry) },
    );
    // a process that stops with an error fails the test at once, naming it
    let stopped: unknown = null;
    const failed = (what: string) => (err: unknown) => void (stopped ??= new Error(`${what} stopped: ${(err as Error).message}`, { cause: err }));
    await agent.start();
    const capturing = agent.run().catch(failed('capture'));
    await applier.start();
    const applying = applier.run().catch(failed('apply'));
    try {
      // changes in several transactions while capture and apply run
      await src.exec(`UPDATE [dbo].[items] SET [price] = [price] + 1, [name] = NULL WHERE [id] <= 10`);
      await src.exec(`DELETE FROM [dbo].[items] WHERE [id] BETWEEN 11 AND 15`);
      await src.exec(`BEGIN TRANSACTION; INSERT INTO [dbo].[items] ([id], [name], [price], [at], [raw]) VALUES (100, N'late', 0.01, '2024-01-01T00:00:00', 0x); UPDATE [dbo].[codes] SET [v] = 20 WHERE [code] = N'K'; COMMIT`);
      await src.exec(`INSERT INTO [dbo].[codes] ([code], [v]) VALUES (N'É', 4); DELETE FROM [dbo].[codes] WHERE [code] = N'k'`);

      const probe = createSource(sourceConfig);
      await probe.connect();
      const check = createDialect('sqlserver', sb.url);
      await check.connect();
      try {
        const metas = await probe.describe(tables);
        const compareAll = async () => {
          if (stopped) throw stopped;
          const out = [];
          for (const meta of metas) out.push(await compareTable(probe, meta, check, { ...meta, ...names(meta) }));
          return out;
        };
        // caught up when every table equals the source, which no longer changes (the applied
        // version alone can be reached by the first window of a snapshot that spans several)
        const deadline = Date.now() + 120_000;
        let comparisons = await compareAll();
        while (comparisons.some((c) => c.missing + c.extra + c.different > 0) && Date.now() < deadline) {
          await sleep(500);
          comparisons = await compareAll();
        }
        for (const c of comparisons) {
          expect(c, c.table).toMatchObject({ missing: 0, extra: 0, different: 0 });
          expect(c.standbyRows, c.table).toBe(c.sourceRows);
        }
        const codesMeta = metas.find((m) => m.table === 'codes')!;
        expect(await check.scan({ ...codesMeta, ...names(codesMeta) }, null, 10)).toEqual([
          { code: 'K', v: 20 }, { code: 'É', v: 4 }, { code: 'é', v: 3 },
        ]);
      } finally {
        await check.close();
        await probe.close();
      }
    } finally {
      agent.stop();
      applier.stop();
      await Promise.all([capturing, applying]);
    }
  });
});
