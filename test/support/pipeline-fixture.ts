// One fixture for the end-to-end tests of capture and apply: a throwaway PostgreSQL source database
// with change tracking on its tables, an admin client on it, a Kafka port, the ctrelay processes a
// test spawns, config files with per-file defaults, throwaway standby databases, and cleanup of all
// of it. A test file calls `usePipeline({...})` once at top level; the returned fixture is ready
// inside the tests (vitest beforeAll) and torn down after them (afterAll: kill -9 of every process
// still running, clients closed, databases dropped).
import mysql from 'mysql2/promise';
import pg from 'pg';
import { afterAll, beforeAll, expect } from 'vitest';
import type { TableMeta, TableRef } from '../../src/core/model.ts';
import type { KafkaPort } from '../../src/kafka/port.ts';
import { ctEnable } from '../../src/sources/postgres/ct-admin.ts';
import { createDialect } from '../../src/standby/create-dialect.ts';
import { createMariaDatabase, createPgDatabase, type ThrowawayDb } from './db.ts';
import { kafkaBrokers } from './kafka.ts';
import {
  canonical, readBatches, readCaptured, runCtrelay, sourceRows, spawnCtrelay, standbyRows, testKafka, uniquePrefix, until, waitForVersion, writeConfig,
  type Captured, type Proc,
} from './pipeline.ts';

/** A part of a ctrelay config; nested mappings merge key by key, anything else replaces. */
export type ConfigPatch = { [key: string]: unknown };

export interface PipelineOptions {
  /** name prefix of the throwaway source database (and of the default topic prefixes) */
  name: string;
  /** SQL run on the source before change tracking is enabled: tables and their first rows */
  schema?: string;
  /** `schema.table` names whose change tracking is enabled; also the default `source.tables` */
  tables?: string[];
  /** `source.id` of the default config (default 'src'): what the batch log and standby name */
  sourceId?: string;
  /**
   * This file's config defaults, merged over the fixture's base (see `config`); a function of the
   * topic prefix when a default depends on it.
   */
  config?: ConfigPatch | ((prefix: string) => ConfigPatch);
}

/** `schema.table` -> TableRef. */
export function tableRef(name: string): TableRef {
  const dot = name.indexOf('.');
  return { schema: name.slice(0, dot), table: name.slice(dot + 1) };
}

function isMapping(v: unknown): v is ConfigPatch {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * `standby.protect: false` for a MariaDB standby unless the test says otherwise: its protection is
 * the whole server's read_only, and the test server is shared by every test file (each in its own
 * database), the very case the README tells operators to turn it off for. PostgreSQL standbys keep
 * the default (protected: the database defaults to read-only transactions).
 */
function unprotectedMariaDb(config: ConfigPatch): ConfigPatch {
  const standby = config.standby;
  if (!isMapping(standby) || standby.protect !== undefined) return config;
  const kind = typeof standby.kind === 'string' ? standby.kind : typeof standby.url === 'string' ? /^(\w+):/.exec(standby.url)?.[1] : undefined;
  return kind === 'mariadb' || kind === 'mysql' ? { ...config, standby: { ...standby, protect: false } } : config;
}

/** `patch` over `base`: mappings merge recursively, other values (arrays too) replace, undefined is skipped. */
export function mergeConfig(base: ConfigPatch, patch: ConfigPatch): ConfigPatch {
  const out: ConfigPatch = { ...base };
  for (const [k, v] of Object.entries(patch)) {
    if (v === undefined) continue;
    out[k] = isMapping(out[k]) && isMapping(v) ? mergeConfig(out[k] as ConfigPatch, v) : v;
  }
  return out;
}

/** How Standby waits: for which source id, how long, and what to add to the timeout error. */
export interface WaitOptions {
  sourceId?: string;
  timeoutMs?: number;
  diagnostics?: () => string;
}

/**
 * A throwaway standby database with a plain client of its own, for the test's own SQL (never
 * ctrelay's code): reads of replicated rows, of `ctrelay_state`, of pg_stat_activity.
 */
export class Standby {
  private constructor(
    readonly kind: 'postgres' | 'mariadb',
    readonly db: ThrowawayDb,
    private readonly pgClient: pg.Client | null,
    private readonly myClient: mysql.Connection | null,
  ) {}

  static async create(kind: 'postgres' | 'mariadb', db: ThrowawayDb): Promise<Standby> {
    if (kind === 'mariadb') return new Standby(kind, db, null, await mysql.createConnection(db.url));
    const c = new pg.Client({ connectionString: db.url });
    // ended by the server when a promote demotes this database: reported by the next query
    c.on('error', () => undefined);
    await c.connect();
    return new Standby(kind, db, c, null);
  }

  get url(): string {
    return this.db.url;
  }

  get name(): string {
    return this.db.name;
  }

  /** Where the applier puts a source table: the same schema on PostgreSQL, the URL's database on MariaDB. */
  schemaOf(sourceSchema: string): string {
    return this.kind === 'postgres' ? sourceSchema : this.db.name;
  }

  /** Rows of one statement (placeholders: $1 on PostgreSQL, ? on MariaDB), untyped like the drivers'. */
  async query(sql: string, params: unknown[] = []): Promise<any[]> {
    if (this.pgClient) return (await this.pgClient.query(sql, params)).rows;
    const [rows] = await this.myClient!.query(sql, params);
    return rows as unknown[];
  }

  /** The source version in ctrelay_state (of `sourceId`, else the highest), or null while it holds none. */
  appliedVersion(sourceId?: string): Promise<bigint | null> {
    return this.stateMax('version', sourceId);
  }

  /** The batch sequence number in ctrelay_state (of `sourceId`, else the highest), or null while it holds none. */
  appliedSeq(sourceId?: string): Promise<bigint | null> {
    return this.stateMax('batch_seq', sourceId);
  }

  private async stateMax(column: 'version' | 'batch_seq', sourceId?: string): Promise<bigint | null> {
    const sql =
      this.kind === 'postgres'
        ? `SELECT max(${column})::text AS v FROM ctrelay.ctrelay_state${sourceId === undefined ? '' : ' WHERE source_id = $1'}`
        : `SELECT CAST(MAX(${column}) AS CHAR) AS v FROM ctrelay_state${sourceId === undefined ? '' : ' WHERE source_id = ?'}`;
    const rows = await this.query(sql, sourceId === undefined ? [] : [sourceId]);
    return rows[0]?.v == null ? null : BigInt(rows[0].v);
  }

  /**
   * Waits (bounded) until the standby applied `version`. A missing state table counts as "not yet";
   * `diagnostics` is added to the timeout error (the processes' logs, say).
   */
  waitApplied(version: bigint, opts: WaitOptions = {}): Promise<void> {
    return this.waitState('version', version, opts);
  }

  /** Waits (bounded) until the standby applied batch `seq` (see waitApplied). */
  waitAppliedSeq(seq: bigint, opts: WaitOptions = {}): Promise<void> {
    return this.waitState('batch_seq', seq, opts);
  }

  private async waitState(column: 'version' | 'batch_seq', target: bigint, opts: WaitOptions): Promise<void> {
    let lastError = '';
    await until(
      () => this.stateMax(column, opts.sourceId).catch((err: Error) => ((lastError = err.message), null)),
      (v) => v !== null && v >= target,
      () => `the standby's ${column} to reach ${target}${lastError && ` (last error: ${lastError})`}${opts.diagnostics ? `\n${opts.diagnostics()}` : ''}`,
      opts.timeoutMs ?? 120_000,
    );
  }

  async close(): Promise<void> {
    await this.pgClient?.end();
    await this.myClient?.end();
  }
}

export class PipelineFixture {
  readonly sourceId: string;
  /** the tables change tracking is enabled for */
  readonly tables: TableRef[];
  private source?: ThrowawayDb;
  private client?: pg.Client;
  private port?: KafkaPort;
  private readonly procs: Proc[] = [];
  private readonly dbs: ThrowawayDb[] = [];
  private readonly standbys: Standby[] = [];

  constructor(private readonly opts: PipelineOptions) {
    this.sourceId = opts.sourceId ?? 'src';
    this.tables = (opts.tables ?? []).map(tableRef);
  }

  /** Creates the source database, runs `schema`, enables change tracking, opens the clients. */
  async start(): Promise<void> {
    this.source = await createPgDatabase(this.opts.name);
    this.client = new pg.Client({ connectionString: this.source.url });
    // a session the server ends (ctrelay promote --demote-source ends application sessions) is
    // reported by the next query, not as an uncaught 'error' event
    this.client.on('error', () => undefined);
    await this.client.connect();
    if (this.opts.schema) await this.client.query(this.opts.schema);
    if (this.tables.length > 0) await ctEnable(this.source.url, this.tables);
    this.port = testKafka(kafkaBrokers());
  }

  /** Kills (SIGKILL) every process still running, closes every client, drops every database. */
  async close(): Promise<void> {
    const errors: unknown[] = [];
    const step = async (f: () => Promise<unknown> | undefined) => {
      try {
        await f();
      } catch (err) {
        errors.push(err);
      }
    };
    for (const p of this.procs) await step(() => p.kill());
    for (const s of this.standbys) await step(() => s.close());
    await step(() => this.port?.close());
    await step(() => this.client?.end());
    for (const d of this.dbs) await step(() => d.drop());
    await step(() => this.source?.drop());
    if (errors.length > 0) throw errors[0];
  }

  private ready<T>(v: T | undefined, what: string): T {
    if (v === undefined) throw new Error(`pipeline fixture: ${what} is used before start() (only inside tests and hooks)`);
    return v;
  }

  /** The source database. */
  get db(): ThrowawayDb {
    return this.ready(this.source, 'db');
  }

  /** An admin client on the source database. */
  get admin(): pg.Client {
    return this.ready(this.client, 'admin');
  }

  /** A new admin session on the source, after the server ended the old one (promote --demote-source does). */
  async reconnectAdmin(): Promise<void> {
    await this.client?.end().catch(() => undefined);
    this.client = new pg.Client({ connectionString: this.db.url });
    this.client.on('error', () => undefined);
    await this.client.connect();
  }

  /** A Kafka port on the test brokers. */
  get kafka(): KafkaPort {
    return this.ready(this.port, 'kafka');
  }

  /**
   * Writes a config file: the fixture's base (this source, its tables and id, the test brokers,
   * `topicPrefix` = `prefix`, one partition, HTTP on free ports, log level info), then the file's
   * defaults, then `patch`.
   */
  config(prefix = uniquePrefix(this.opts.name), patch: ConfigPatch = {}): string {
    const base: ConfigPatch = {
      source: { id: this.sourceId, url: this.db.url, tables: this.opts.tables ?? [], pollIntervalMs: 100 },
      kafka: { brokers: kafkaBrokers(), topicPrefix: prefix, partitions: 1 },
      http: { capture: { port: 0 }, apply: { port: 0 } },
      log: { level: 'info' },
    };
    const defaults = typeof this.opts.config === 'function' ? this.opts.config(prefix) : (this.opts.config ?? {});
    return writeConfig(unprotectedMariaDb(mergeConfig(mergeConfig(base, defaults), patch)));
  }

  /** Spawns `ctrelay ...args` as a real process, killed (SIGKILL) at the end unless it exited. */
  spawn(args: string[], env: Record<string, string> = {}): Proc {
    const p = spawnCtrelay(args, env);
    this.procs.push(p);
    return p;
  }

  /** `ctrelay capture -c file` (not waited for). */
  capture(file: string): Proc {
    return this.spawn(['capture', '-c', file]);
  }

  /** `ctrelay apply -c file` (not waited for). */
  apply(file: string): Proc {
    return this.spawn(['apply', '-c', file]);
  }

  /** Starts capture, waits for 'capture running' and returns the process and its HTTP base URL. */
  async captureRunning(file: string): Promise<{ p: Proc; url: string }> {
    const p = this.capture(file);
    return { p, url: await captureUrl(p) };
  }

  /** Runs `ctrelay ...args` to completion: exit code, stdout, stderr. */
  run(args: string[], timeoutMs?: number): ReturnType<typeof runCtrelay> {
    return runCtrelay(args, {}, timeoutMs);
  }

  /** The source's current change-tracking version (SELECT ctrelay.current_version()). */
  async currentVersion(): Promise<bigint> {
    return BigInt((await this.admin.query(`SELECT ctrelay.current_version()::text AS v`)).rows[0].v);
  }

  /** Waits until the batch log of `prefix` holds a complete window at `version` (default: the current one). */
  async waitCaptured(prefix: string, version?: bigint): Promise<void> {
    try {
      await waitForVersion(this.kafka, prefix, this.sourceId, version ?? (await this.currentVersion()));
    } catch (err) {
      // say what the processes were doing: an exit code and the last log lines beat a bare timeout
      const tails = this.procs.slice(-3).map((p) => `--- ${p.child.spawnargs.slice(2).join(' ')} (exit ${p.child.exitCode ?? 'none, running'}):\n${p.stderr().slice(-2500)}`);
      throw new Error(`${(err as Error).message}\n${tails.join('\n')}`, { cause: err });
    }
  }

  /** What is committed on Kafka under `prefix`, folded (default tables: the tracked ones). */
  captured(prefix: string, tables: TableRef[] = this.tables): Promise<Captured> {
    return readCaptured(this.kafka, prefix, tables);
  }

  /** Waits for the current version on Kafka, then: the folded events of `table` equal the source's rows. */
  async expectFoldEqualsSource(prefix: string, table: TableRef = this.tables[0]): Promise<Captured> {
    await this.waitCaptured(prefix);
    const captured = await this.captured(prefix);
    const src = await sourceRows(this.db.url, table);
    expect(canonical(captured.fold.tables.get(`${table.schema}.${table.table}`)?.rows ?? new Map())).toEqual(canonical(src.rows));
    return captured;
  }

  /** Another throwaway PostgreSQL database, dropped at the end. */
  async database(name: string): Promise<ThrowawayDb> {
    const db = await createPgDatabase(name);
    this.dbs.push(db);
    return db;
  }

  /** A throwaway standby database (dropped at the end) with a plain client of its own. */
  async standby(kind: 'postgres' | 'mariadb', name = 'sby'): Promise<Standby> {
    const db = kind === 'postgres' ? await createPgDatabase(name) : await createMariaDatabase(name);
    this.dbs.push(db);
    const s = await Standby.create(kind, db);
    this.standbys.push(s);
    return s;
  }

  /**
   * Waits (bounded) until the standby holds the source as it is now: capture published the current
   * version in a complete window with every snapshot done, and the standby applied that window.
   * (Reaching the version alone is not enough: a snapshot spanning several windows carries the same
   * version in each, so the standby "has" it from the first window on.)
   */
  async waitStandbyCaughtUp(prefix: string, standby: Standby, timeoutMs = 120_000): Promise<void> {
    const version = await this.currentVersion();
    await waitForVersion(this.kafka, prefix, this.sourceId, version, timeoutMs);
    const done = (await readBatches(this.kafka, prefix)).find(
      ({ batch: b }) => b.sourceId === this.sourceId && b.complete && b.version >= version && b.tables.every((t) => !t.snapshot || t.snapshot.done),
    )!.batch.seq;
    await standby.waitAppliedSeq(done, { sourceId: this.sourceId, timeoutMs });
  }

  /** waitStandbyCaughtUp, failing at once with the applier's log if `app` exits first. */
  async waitCaughtUpWhileRunning(prefix: string, standby: Standby, app: Proc): Promise<void> {
    let done = false;
    const died = app.exited.then((code) => {
      if (!done) throw new Error(`the ${standby.kind} applier exited (${code}) before catching up:\n${app.stderr().slice(-3000)}`);
    });
    try {
      await Promise.race([this.waitStandbyCaughtUp(prefix, standby), died]);
    } finally {
      done = true;
    }
  }

  /** Every row of every tracked table on the standby equals the source's (read through ctrelay's dialect and source). */
  async expectStandbyEqualsSource(standby: Standby, tables: TableRef[] = this.tables): Promise<void> {
    const dialect = createDialect(standby.kind, standby.url);
    await dialect.connect();
    try {
      for (const t of tables) {
        const src = await sourceRows(this.db.url, t);
        const meta: TableMeta = { ...src.meta, schema: standby.schemaOf(t.schema) };
        expect(canonical(await standbyRows(dialect, meta)), `${t.schema}.${t.table}`).toEqual(canonical(src.rows));
      }
    } finally {
      await dialect.close();
    }
  }
}

/** Exit code and `error:` lines of a process expected to stop (killed, and so failing, after `timeoutMs`). */
export async function stoppedWith(p: Proc, timeoutMs = 120_000): Promise<{ code: number | null; error: string }> {
  const timer = setTimeout(() => p.child.kill('SIGKILL'), timeoutMs);
  const code = await p.exited;
  clearTimeout(timer);
  return { code, error: p.stderr().split('\n').filter((l) => l.startsWith('error: ')).join('\n') };
}

/** Waits for a capture process's 'capture running' line and returns the HTTP base URL it names. */
export async function captureUrl(p: Proc): Promise<string> {
  return runningUrl(p, 'capture running');
}

/** The HTTP base URL a ctrelay process logged with `message` ('capture running', 'apply running'). */
export async function runningUrl(p: Proc, message: string): Promise<string> {
  await p.waitFor(message);
  const line = p.stderr().split('\n').find((l) => l.includes(`"${message}"`))!;
  const url = JSON.parse(line).url as string;
  expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  return url;
}

/** A pipeline fixture started in beforeAll and closed in afterAll of the calling test file. */
export function usePipeline(opts: PipelineOptions): PipelineFixture {
  const fx = new PipelineFixture(opts);
  beforeAll(() => fx.start());
  afterAll(() => fx.close());
  return fx;
}
