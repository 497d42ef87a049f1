// Shared pieces of the benchmarks (bench/capture.ts, bench/apply.ts): the machine line, medians,
// a throwaway PostgreSQL source with a change-tracked 10-column table, a workload writer and the
// real CaptureAgent wired in-process (fresh prom-client Registry, pino at level warn).
// Benchmarks print numbers; they never assert timing.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';
import { Registry } from 'prom-client';
import { singleObjectWireFormat } from '../src/avro/wire-format.ts';
import { CaptureAgent, type CaptureDeps, type CaptureOptions } from '../src/capture/agent.ts';
import { CaptureMetrics } from '../src/capture/metrics.ts';
import type { CaptureState } from '../src/capture/window.ts';
import type { TableRef } from '../src/core/model.ts';
import { createKafkajsPort } from '../src/kafka/kafkajs/index.ts';
import type { KafkaPort } from '../src/kafka/port.ts';
import { createLogger, type Logger } from '../src/log/logger.ts';
import { ctEnable } from '../src/sources/postgres/ct-admin.ts';
import { PostgresSource } from '../src/sources/postgres/source.ts';
import { createPgDatabase, type ThrowawayDb } from '../test/support/db.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const BROKERS = (process.env.KAFKA_BROKERS ?? '127.0.0.1:19092').split(',');
export const TABLE: TableRef = { schema: 'bench', table: 'orders' };
export const TABLE_NAME = 'bench.orders';
export const log: Logger = createLogger({ level: 'warn', name: 'bench' });

export const RUNS = Number(process.env.BENCH_RUNS ?? 3);

export function machineLine(): string {
  let model = cpus()[0]?.model ?? 'unknown';
  try {
    model = /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? model;
  } catch {
    // not Linux: os.cpus() is good enough
  }
  return `machine: ${model}, ${cpus().length} cores, node ${process.version}, load average at start ${loadavg()}`;
}

function loadavg(): string {
  try {
    return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  } catch {
    return 'n/a';
  }
}

export const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
export const fmtRate = (x: number): string => Math.round(x).toLocaleString('en');
export const fmtRuns = (xs: number[]): string => xs.map((x) => fmtRate(x)).join(', ');
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Starts the local broker unless KAFKA_BROKERS points elsewhere (kafka.sh start is idempotent). */
export async function ensureBroker(): Promise<void> {
  if (process.env.KAFKA_BROKERS) return;
  await promisify(execFile)('bash', [join(ROOT, 'deploy', 'local', 'kafka.sh'), 'start'], { maxBuffer: 1 << 22 });
}

export function uniquePrefix(what: string): string {
  return `bench.${what}.${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
}

export function kafkaPort(clientId: string): KafkaPort {
  return createKafkajsPort({ brokers: BROKERS, clientId });
}

/**
 * A throwaway source database with `bench.orders` holding `rows` rows (10 columns: int8 key, ints,
 * text, numeric(12,2), timestamptz, bool, float8) and ctrelay change tracking enabled.
 */
export async function createSource(rows: number): Promise<ThrowawayDb> {
  const db = await createPgDatabase('ctr_bench_src');
  const c = new pg.Client({ connectionString: db.url });
  await c.connect();
  try {
    await c.query(`CREATE SCHEMA bench;
      CREATE TABLE bench.orders (
        id int8 PRIMARY KEY, customer int4 NOT NULL, qty int4, name text, email text,
        amount numeric(12,2), created timestamptz, active bool, score float8, note text)`);
    await c.query(`INSERT INTO bench.orders SELECT g, g % 100000, g % 50, 'customer ' || g, 'user' || g || '@example.com',
        (g % 100000) + 0.25, timestamptz '2024-01-01 00:00:00+00' + g * interval '1.5 second', g % 3 = 0, g / 7.0,
        CASE WHEN g % 5 = 0 THEN NULL ELSE 'note ' || repeat('n', (g % 40)::int) END
      FROM generate_series(1, $1::int8) g`, [rows]);
    await c.query('VACUUM ANALYZE bench.orders');
  } finally {
    await c.end();
  }
  await ctEnable(db.url, [TABLE]);
  return db;
}

export async function currentVersion(url: string): Promise<bigint> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return BigInt((await c.query(`SELECT ctrelay.current_version()::text AS v`)).rows[0].v);
  } finally {
    await c.end();
  }
}

/**
 * Writes changes to bench.orders in transactions of `txnRows` rows (60 % updates, 25 % inserts,
 * 15 % deletes), so that between two seal() calls every key is touched at most once: a window of
 * M written changes then carries exactly M net change events. Updates cycle over the keys
 * 1..0.75*rows; inserts take new keys above everything; deletes take keys that were inserted
 * before the last seal(), upwards from the top quarter of the initial rows.
 */
export class Writer {
  private nextUpd = 1;
  private readonly updMax: number;
  private nextIns: number;
  private nextDel: number;
  private delMax: number;
  readonly upd: number;
  readonly ins: number;
  readonly del: number;
  written = 0;

  constructor(private readonly url: string, rows: number, private readonly txnRows = 1000) {
    this.upd = Math.round(txnRows * 0.6);
    this.ins = Math.round(txnRows * 0.25);
    this.del = txnRows - this.upd - this.ins;
    this.updMax = Math.floor(rows * 0.75);
    this.nextDel = this.updMax + 1;
    this.delMax = rows;
    this.nextIns = rows + 1;
  }

  /** keys inserted so far may be deleted (or updated) from now on: call at a window boundary */
  seal(): void {
    this.delMax = this.nextIns - 1;
  }

  /** Writes `changes` rows' worth of transactions; returns the changes/s the source sustained. */
  async write(changes: number, stopAt = Infinity): Promise<number> {
    const c = new pg.Client({ connectionString: this.url });
    await c.connect();
    const start = performance.now();
    let n = 0;
    try {
      for (let t = 0; n < changes && Date.now() < stopAt; t++) {
        if (this.nextDel + this.del - 1 > this.delMax) throw new Error('writer: nothing left to delete: seal() more often or load more rows');
        if (this.nextUpd + this.upd - 1 > this.updMax) this.nextUpd = 1;
        await c.query('BEGIN');
        await c.query(`UPDATE bench.orders SET qty = coalesce(qty, 0) + 1, amount = amount + 1, note = 'upd ' || clock_timestamp()
          WHERE id BETWEEN $1 AND $2`, [this.nextUpd, this.nextUpd + this.upd - 1]);
        await c.query(`INSERT INTO bench.orders SELECT g, g % 100000, g % 50, 'new ' || g, 'new' || g || '@example.com',
            (g % 100000) + 0.5, now(), g % 2 = 0, g / 3.0, NULL FROM generate_series($1::int8, $2::int8) g`, [this.nextIns, this.nextIns + this.ins - 1]);
        await c.query(`DELETE FROM bench.orders WHERE id BETWEEN $1 AND $2`, [this.nextDel, this.nextDel + this.del - 1]);
        await c.query('COMMIT');
        this.nextUpd += this.upd;
        this.nextIns += this.ins;
        this.nextDel += this.del;
        n += this.txnRows;
      }
    } finally {
      await c.end();
    }
    this.written += n;
    return n / ((performance.now() - start) / 1000);
  }
}

export interface AgentSettings {
  maxBatchRows: number;
  snapshotChunkRows: number;
  partitions?: number;
  pollIntervalMs?: number;
}

/** CaptureAgent, or a variant of it for a local experiment */
export type AgentClass = new (opts: CaptureOptions, deps: CaptureDeps) => CaptureAgent;

export interface RunningAgent {
  agent: CaptureAgent;
  registry: Registry;
  kafka: KafkaPort;
  /** resolves when run() returned */
  done: Promise<void>;
  /** events published by this agent instance (ctrelay_capture_events_total) */
  events(): Promise<number>;
  stop(): Promise<void>;
}

/** The real CaptureAgent, in-process: start() (connect, describe, topics, resume), then run() in the background. */
export async function startAgent(url: string, prefix: string, s: AgentSettings, sourceId = 'bench', Agent: AgentClass = CaptureAgent): Promise<RunningAgent> {
  const registry = new Registry();
  const metrics = new CaptureMetrics(registry);
  const kafka = kafkaPort('bench-capture');
  const opts: CaptureOptions = {
    sourceId,
    db: new URL(url).pathname.slice(1),
    tables: [TABLE],
    topicPrefix: prefix,
    partitions: s.partitions ?? 3,
    replicationFactor: 1,
    pollIntervalMs: s.pollIntervalMs ?? 200,
    maxBatchRows: s.maxBatchRows,
    snapshotChunkRows: s.snapshotChunkRows,
    mode: 'async',
    maxConsecutiveFailures: 3,
  };
  const agent = new Agent(opts, { source: new PostgresSource(url), kafka, wire: singleObjectWireFormat(), log: log.child({ component: 'capture' }), metrics });
  await agent.start();
  let failure: unknown = null;
  const done = agent.run().catch((err) => {
    failure = err;
  });
  return {
    agent,
    registry,
    kafka,
    done,
    async events() {
      const m = await registry.getSingleMetric('ctrelay_capture_events_total')!.get();
      return m.values.reduce((a, v) => a + v.value, 0);
    },
    async stop() {
      agent.stop();
      await done;
      await kafka.close();
      if (failure) throw failure;
    },
  };
}

/** Waits until `ok(state)` holds; fails when the agent stopped (its run() returned) first. */
export async function waitFor(a: RunningAgent, ok: (s: CaptureState) => boolean, timeoutMs = 600_000): Promise<void> {
  let ended = false;
  void a.done.then(() => (ended = true));
  const deadline = Date.now() + timeoutMs;
  while (!ok(a.agent.currentState)) {
    if (ended) {
      await a.stop();
      throw new Error('the capture agent stopped before reaching the goal');
    }
    if (Date.now() > deadline) throw new Error('timed out waiting for the capture agent');
    await sleep(5);
  }
}

export const snapshotDone = (s: CaptureState): boolean => s.tables.get(TABLE_NAME)?.snapshot?.done === true;
