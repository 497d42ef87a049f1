// `ctrelay demo` (npm run demo): the whole pipeline on this machine. A demo schema in a local
// PostgreSQL source, the local Kafka broker, capture and apply to a standby, a short workload,
// then what was replicated, the lag, and `ctrelay verify`'s comparison ending in `consistent: yes|NO`.
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import mysql from 'mysql2/promise';
import pg from 'pg';
import type { Logger } from 'pino';
import { Applier } from '../apply/applier.ts';
import { ApplyMetrics } from '../apply/metrics.ts';
import { targetNamer } from '../apply/run.ts';
import { singleObjectWireFormat } from '../avro/wire-format.ts';
import { CaptureAgent } from '../capture/agent.ts';
import { CaptureMetrics } from '../capture/metrics.ts';
import { CtrelayError } from '../core/errors.ts';
import type { TableRef } from '../core/model.ts';
import { createMetricsRegistry } from '../http/metrics.ts';
import { createKafkajsPort } from '../kafka/kafkajs/index.ts';
import { TopicDecoder } from '../kafka/schemas-topic.ts';
import { ctEnable } from '../sources/postgres/ct-admin.ts';
import { PostgresSource } from '../sources/postgres/source.ts';
import { createDialect } from '../standby/create-dialect.ts';
import { prepareStandby } from '../standby/promotion.ts';
import { createSourceSide, createStandbySide } from '../verify/engines/index.ts';
import { keyText, verifyColumns } from '../verify/side.ts';
import { verifyTable } from '../verify/verify-table.ts';

export interface DemoOptions {
  standby: 'postgres' | 'mariadb';
  seconds: number;
  pgUrl: string;
  mysqlUrl: string;
  brokers?: string[];
  out: (line: string) => void;
}

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const TABLES: TableRef[] = [
  { schema: 'public', table: 'accounts' },
  { schema: 'public', table: 'transfers' },
  { schema: 'public', table: 'products' },
];

const SCHEMA = `
CREATE TABLE accounts (id int PRIMARY KEY, owner text NOT NULL, balance numeric(14,2) NOT NULL, opened date NOT NULL);
CREATE TABLE transfers (id bigserial PRIMARY KEY, src int NOT NULL, dst int NOT NULL, amount numeric(12,2) NOT NULL,
                        at timestamptz(6) NOT NULL DEFAULT now(), ref uuid NOT NULL DEFAULT gen_random_uuid());
CREATE TABLE products (sku text PRIMARY KEY, name text NOT NULL, price numeric(10,2), stock int, photo bytea,
                       attrs json, updated timestamp(3) DEFAULT now()::timestamp(3));
INSERT INTO accounts SELECT g, 'customer ' || g, 1000, date '2020-01-01' + g FROM generate_series(1, 500) g;
INSERT INTO products SELECT 'SKU-' || g, 'product ' || g || ' ✓', g * 1.25, g % 50, decode(md5(g::text), 'hex'),
                            json_build_object('color', 'c' || (g % 7)) FROM generate_series(1, 2000) g;
`;

function withDatabase(url: string, db: string): string {
  const u = new URL(url);
  u.pathname = `/${db}`;
  return u.toString();
}

async function recreatePg(adminUrl: string, db: string): Promise<string> {
  const c = new pg.Client({ connectionString: adminUrl });
  await c.connect();
  try {
    await c.query(`DROP DATABASE IF EXISTS "${db}" WITH (FORCE)`);
    await c.query(`CREATE DATABASE "${db}"`);
  } finally {
    await c.end();
  }
  return withDatabase(adminUrl, db);
}

async function recreateMaria(adminUrl: string, db: string): Promise<string> {
  const c = await mysql.createConnection(adminUrl);
  try {
    await c.query(`DROP DATABASE IF EXISTS \`${db}\``);
    await c.query(`CREATE DATABASE \`${db}\` CHARACTER SET utf8mb4`);
  } finally {
    await c.end();
  }
  return withDatabase(adminUrl, db);
}

/** Transfers between accounts and catalogue edits, in small multi-statement transactions. */
async function workload(url: string, seconds: number): Promise<{ transactions: number }> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  const end = Date.now() + seconds * 1000;
  let transactions = 0;
  try {
    while (Date.now() < end) {
      const a = 1 + Math.floor(Math.random() * 500);
      const b = 1 + Math.floor(Math.random() * 500);
      const amount = (1 + Math.floor(Math.random() * 10000)) / 100;
      await c.query('BEGIN');
      await c.query('UPDATE accounts SET balance = balance - $1 WHERE id = $2', [amount, a]);
      await c.query('UPDATE accounts SET balance = balance + $1 WHERE id = $2', [amount, b]);
      await c.query('INSERT INTO transfers (src, dst, amount) VALUES ($1, $2, $3)', [a, b, amount]);
      const sku = `SKU-${1 + Math.floor(Math.random() * 2500)}`;
      const r = Math.random();
      if (r < 0.3) await c.query(`INSERT INTO products (sku, name, price, stock) VALUES ($1, 'new ' || $1, 9.99, 1) ON CONFLICT (sku) DO UPDATE SET stock = products.stock + 1`, [sku]);
      else if (r < 0.9) await c.query(`UPDATE products SET price = price + 0.01, updated = now()::timestamp(3) WHERE sku = $1`, [sku]);
      else await c.query(`DELETE FROM products WHERE sku = $1`, [sku]);
      await c.query('COMMIT');
      transactions++;
    }
  } finally {
    await c.end();
  }
  return { transactions };
}

function startLocalKafka(out: (l: string) => void): string[] {
  out('starting the local Kafka broker (deploy/local/kafka.sh start; the first run downloads Kafka from Maven Central)...');
  const stdout = execFileSync('bash', [join(ROOT, 'deploy', 'local', 'kafka.sh'), 'start'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const brokers = stdout.trim().split('\n').pop()!.trim();
  return brokers.split(',');
}

export async function runDemo(opts: DemoOptions, log: Logger): Promise<boolean> {
  const { out } = opts;
  const brokers = opts.brokers ?? startLocalKafka(out);
  out(`kafka: ${brokers.join(',')}`);
  const sourceUrl = await recreatePg(opts.pgUrl, 'ctrelay_demo_source');
  const standbyUrl = opts.standby === 'postgres' ? await recreatePg(opts.pgUrl, 'ctrelay_demo_standby') : await recreateMaria(opts.mysqlUrl, 'ctrelay_demo_standby');
  const src = new pg.Client({ connectionString: sourceUrl });
  await src.connect();
  await src.query(SCHEMA);
  await src.end();
  await ctEnable(sourceUrl, TABLES);
  out(`source: PostgreSQL database ctrelay_demo_source (accounts 500 rows, products 2000 rows, transfers), change tracking enabled`);
  out(`standby: ${opts.standby} database ctrelay_demo_standby`);

  const prefix = `demo_${Date.now().toString(36)}`;
  const registry = createMetricsRegistry();
  const kafka = createKafkajsPort({ brokers, clientId: 'ctrelay-demo' });
  const wire = singleObjectWireFormat();
  const topicDecoder = new TopicDecoder(kafka, prefix, wire.decoder());
  const captureMetrics = new CaptureMetrics(registry);
  const applyMetrics = new ApplyMetrics(registry);
  const source = new PostgresSource(sourceUrl);
  const agent = new CaptureAgent(
    { sourceId: 'demo', db: 'ctrelay_demo_source', tables: TABLES, topicPrefix: prefix, partitions: 3, replicationFactor: 1, pollIntervalMs: 100, maxBatchRows: 5000, snapshotChunkRows: 10000, mode: 'async' },
    { source, kafka, wire, log: log.child({ component: 'capture' }), metrics: captureMetrics },
  );
  const dialect = createDialect(opts.standby, standbyUrl, log.child({ component: 'standby' }));
  const applier = new Applier(
    { sourceId: 'demo', standbyId: `demo-${opts.standby}`, topicPrefix: prefix, mergeWindows: 10, target: targetNamer(opts.standby, standbyUrl) },
    { kafka, dialect, control: wire.control, events: topicDecoder, log: log.child({ component: 'apply' }), metrics: applyMetrics },
  );
  await agent.start();
  const capturing = agent.run();
  // protected as `ctrelay apply` protects it, except a MariaDB standby: its protection is the whole
  // server's read_only, and the demo's server is the local one everything else uses too
  await prepareStandby(dialect, 'demo', opts.standby !== 'mariadb');
  await applier.start();
  const applying = applier.run();
  out(`capture and apply running (topics ${prefix}.*); workload for ${opts.seconds} s...`);
  const started = Date.now();
  const { transactions } = await workload(sourceUrl, opts.seconds);
  out(`workload: ${transactions} source transactions in ${((Date.now() - started) / 1000).toFixed(1)} s`);

  // catch up: the standby must reach the source's current version
  const probe = new PostgresSource(sourceUrl);
  const poll = await probe.beginPoll();
  const target = poll.currentVersion;
  await poll.end();
  const deadline = Date.now() + 120_000;
  while (applier.appliedVersion < target) {
    if (Date.now() > deadline) throw new CtrelayError(`the standby did not reach source version ${target} within 120 s (at ${applier.appliedVersion})`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const caughtUpMs = Date.now() - started - opts.seconds * 1000;
  agent.stop();
  applier.stop();
  await Promise.all([capturing, applying]);

  const metrics = await registry.getMetricsAsJSON();
  const value = (name: string) => metrics.find((m) => m.name === name)?.values ?? [];
  out('');
  out('replicated:');
  const events = value('ctrelay_capture_events_total');
  for (const t of TABLES) {
    const name = `${t.schema}.${t.table}`;
    const byOp = (op: string) => events.filter((v) => v.labels.table === name && v.labels.op === op).reduce((n, v) => n + v.value, 0);
    out(`  ${name.padEnd(18)} snapshot ${String(byOp('r')).padStart(6)}  insert ${String(byOp('c')).padStart(6)}  update ${String(byOp('u')).padStart(6)}  delete ${String(byOp('d')).padStart(6)}`);
  }
  const batches = value('ctrelay_capture_batches_total')[0]?.value ?? 0;
  const txs = value('ctrelay_apply_transactions_total')[0]?.value ?? 0;
  out(`  ${batches} batches on Kafka, applied in ${txs} standby transactions, standby at source version ${applier.appliedVersion}`);
  out('lag:');
  out(`  apply lag after the catch-up: ${(value('ctrelay_apply_lag_seconds')[0]?.value ?? 0).toFixed(3)} s (age of the oldest change not yet on the standby), ${value('ctrelay_apply_lag_versions')[0]?.value ?? 0} versions behind the source`);
  out(`  catch-up after the workload stopped: ${(Math.max(0, caughtUpMs) / 1000).toFixed(2)} s`);

  out('verify (chunked checksums inside both databases, as `ctrelay verify` computes them):');
  const comparer = new PostgresSource(sourceUrl);
  const sourceSide = createSourceSide({ kind: 'postgres', url: sourceUrl });
  const side = createStandbySide(opts.standby, standbyUrl, targetNamer(opts.standby, standbyUrl), 'demo', `standby demo-${opts.standby}`);
  let consistent = true;
  try {
    for (const meta of await comparer.describe(TABLES)) {
      // capture and apply have stopped at the source's version: nothing is in flight
      const r = await verifyTable({ source: meta, columns: verifyColumns(meta), keyCount: meta.key.length }, sourceSide, side, {
        chunkRows: 10_000, leafRows: 256, attempts: 1, lock: false, maxExamined: 1000, maxChunksPerSecond: 0, waitStandby: async () => true,
      });
      const equal = !r.missingOnStandby && r.differenceCount === 0 && r.unsettled.length === 0;
      consistent &&= equal;
      out(`  ${r.table.padEnd(18)} rows ${String(r.rows).padStart(6)}  chunks ${r.chunks}  ${equal ? 'equal' : r.missingOnStandby ? 'MISSING on the standby' : `${r.differenceCount} DIFFERENT`}`);
      for (const d of r.differences) out(`    key ${keyText(d.key)}: ${d.kind}${d.columns.length ? ` in ${d.columns.join(', ')}` : ''}`);
    }
  } finally {
    await Promise.all([sourceSide.close(), side.close(), comparer.close(), probe.close(), kafka.close()]);
  }
  out(`consistent: ${consistent ? 'yes' : 'NO'}`);
  return consistent;
}
