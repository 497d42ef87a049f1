// Helpers for end-to-end tests: config files, real ctrelay processes, and reading back what is
// committed on Kafka (batches + events folded into table contents) to compare with the databases.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { stringify } from 'yaml';
import { singleObjectWireFormat } from '../../src/avro/wire-format.ts';
import { keyId, type BatchRecord, type ChangeEvent } from '../../src/core/batch.ts';
import type { ControlCodec } from '../../src/core/codec.ts';
import { Fold } from '../../src/core/fold.ts';
import type { Row, TableMeta, TableRef } from '../../src/core/model.ts';
import { batchesTopic, dataTopic } from '../../src/core/topics.ts';
import { ChunkAssembler } from '../../src/kafka/chunks.ts';
import { createKafkajsPort } from '../../src/kafka/kafkajs/index.ts';
import type { InRecord, KafkaPort } from '../../src/kafka/port.ts';
import { readToEnd } from '../../src/kafka/read-to-end.ts';
import { TopicDecoder } from '../../src/kafka/schemas-topic.ts';
import { PostgresSource } from '../../src/sources/postgres/source.ts';
import type { StandbyDialect } from '../../src/standby/dialect.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CTRELAY = join(ROOT, 'bin', 'ctrelay.js');

export const uniquePrefix = (p = 'e2e') => `${p}_${Date.now().toString(36)}_${randomBytes(2).toString('hex')}`;

export function writeConfig(config: Record<string, unknown>): string {
  const dir = mkdtempSync(join(tmpdir(), 'ctrelay-test-'));
  const file = join(dir, 'ctrelay.yaml');
  writeFileSync(file, stringify(config));
  return file;
}

export interface Proc {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
  /** resolves when stderr (JSON logs) contains `text` */
  waitFor(text: string | RegExp, timeoutMs?: number): Promise<void>;
  kill(signal?: NodeJS.Signals): Promise<number | null>;
  /**
   * The process's peak resident set (VmHWM, kB) as last sampled: every 200 ms while it runs, and
   * right before kill() signals it (a SIGKILL-ed process leaves nothing to read afterwards).
   */
  peakRssKb(): number;
}

/** VmHWM of a live process in kB, or null once it is gone. */
export function readPeakRssKb(pid: number): number | null {
  try {
    const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** Spawns `node bin/ctrelay.js ...args` as a real process. */
export function spawnCtrelay(args: string[], env: Record<string, string> = {}): Proc {
  const child = spawn(process.execPath, [CTRELAY, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  // decoded as streams: a UTF-8 character split between two pipe reads must not become two U+FFFD
  child.stdout!.setEncoding('utf8');
  child.stderr!.setEncoding('utf8');
  child.stdout!.on('data', (d: string) => (out += d));
  child.stderr!.on('data', (d: string) => (err += d));
  let peak = 0;
  const sample = () => {
    if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const kb = readPeakRssKb(child.pid);
    if (kb !== null && kb > peak) peak = kb;
  };
  const sampler = setInterval(sample, 200);
  sampler.unref();
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code, signal) => {
    clearInterval(sampler);
    resolve(signal ? null : code);
  }));
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    async waitFor(text, timeoutMs = 60_000) {
      const start = Date.now();
      const has = () => (typeof text === 'string' ? err.includes(text) : text.test(err));
      while (!has()) {
        if (child.exitCode !== null) throw new Error(`ctrelay exited (${child.exitCode}) before logging ${text}:\n${err.slice(-3000)}`);
        if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${text}:\n${err.slice(-3000)}`);
        await sleep(100);
      }
    },
    async kill(signal = 'SIGKILL') {
      if (child.exitCode === null && child.signalCode === null) {
        sample();
        child.kill(signal);
      }
      return exited;
    },
    peakRssKb() {
      sample();
      return peak;
    },
  };
}

/**
 * `work`, unless one of `procs` exits first: then an error naming the process, its exit code and
 * the end of its log, at once (a wait for an outcome a dead process will never bring would
 * otherwise run into its timeout).
 */
export async function unlessExited<T>(procs: Proc[], work: Promise<T>): Promise<T> {
  let settled = false;
  const exits = procs.map((p) =>
    p.exited.then((code) => {
      if (settled) return new Promise<never>(() => {});
      throw new Error(`ctrelay ${p.child.spawnargs.slice(2).join(' ')} exited (${code ?? p.child.signalCode}) while it was needed:\n${p.stderr().slice(-3000)}`);
    }),
  );
  try {
    return await Promise.race([work, ...exits]);
  } finally {
    settled = true;
  }
}

/** Runs ctrelay to completion and returns exit code and output. */
export async function runCtrelay(args: string[], env: Record<string, string> = {}, timeoutMs = 90_000) {
  const p = spawnCtrelay(args, env);
  const timer = setTimeout(() => p.child.kill('SIGKILL'), timeoutMs);
  const code = await p.exited;
  clearTimeout(timer);
  return { code, stdout: p.stdout(), stderr: p.stderr() };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function testKafka(brokers: string[]): KafkaPort {
  return createKafkajsPort({ brokers, clientId: 'ctrelay-test' });
}

/** The codecs of ctrelay's wire format, for decoding what the tests read back. */
export const wire = singleObjectWireFormat();
export const control: ControlCodec = wire.control;

/** Every committed record of the given topics, from the log start to the stable offset. */
export async function readAll(kafka: KafkaPort, topics: string[]): Promise<InRecord[]> {
  const out: InRecord[] = [];
  for (const topic of topics) await readToEnd(kafka, topic, (r) => out.push(r));
  return out;
}

/**
 * Records with chunked events put back together (src/kafka/chunks.ts), in the order given (per
 * partition in offset order); a chunk sequence left open at the end is an error.
 */
export function assembleChunks(records: InRecord[]): InRecord[] {
  const chunks = new ChunkAssembler();
  const out: InRecord[] = [];
  for (const r of records) {
    const whole = chunks.push(r);
    if (whole) out.push(whole);
  }
  chunks.assertComplete('the records read');
  return out;
}

/** Every batch record of the batch log, decoded, with its offset. */
export async function readBatches(kafka: KafkaPort, prefix: string): Promise<{ batch: BatchRecord; offset: bigint }[]> {
  return (await readAll(kafka, [batchesTopic(prefix)])).filter((r) => r.value).map((r) => ({ batch: control.decodeBatch(r.value!), offset: r.offset }));
}

export interface Captured {
  batches: { batch: BatchRecord; offset: bigint }[];
  events: Map<bigint, ChangeEvent[]>;
  fold: Fold;
  metas: Map<string, TableMeta>;
  decoder: TopicDecoder;
}

/** Reads the batch log and the data topics and folds them by the consumer rules (src/core/fold.ts). */
export async function readCaptured(kafka: KafkaPort, prefix: string, tables: TableRef[]): Promise<Captured> {
  const decoder = new TopicDecoder(kafka, prefix, wire.decoder());
  await decoder.load();
  const batches = await readBatches(kafka, prefix);
  const events = new Map<bigint, ChangeEvent[]>();
  const metas = new Map<string, TableMeta>();
  const records = assembleChunks(await readAll(kafka, tables.map((t) => dataTopic(prefix, t))));
  records.sort((a, b) => (a.offset < b.offset ? -1 : a.offset > b.offset ? 1 : 0));
  for (const r of records) {
    if (!r.value) continue;
    const d = await decoder.decodeEvent(r.value, `${r.topic}@${r.offset}`);
    metas.set(`${d.table.schema}.${d.table.table}`, d.table);
    const list = events.get(d.event.source.batch) ?? [];
    list.push(d.event);
    events.set(d.event.source.batch, list);
  }
  const fold = new Fold((t) => metas.get(t)?.key ?? []);
  for (const { batch } of batches) fold.add(batch, events.get(batch.seq) ?? []);
  return { batches, events, fold, metas, decoder };
}

/** The source table's current rows, read through the PostgreSQL source itself (canonical values), without the `exclude`d columns. */
export async function sourceRows(url: string, table: TableRef, exclude: string[] = []): Promise<{ meta: TableMeta; rows: Map<string, Row> }> {
  const src = new PostgresSource(url);
  try {
    const [meta] = await src.describe([table], new Map([[`${table.schema}.${table.table}`, new Set(exclude)]]));
    const s = await src.beginPoll();
    try {
      return { meta, rows: await scanAll(meta, (after) => s.snapshotChunk(meta, after, 50_000), 50_000) };
    } finally {
      await s.end();
    }
  } finally {
    await src.close();
  }
}

/** All rows of a standby table, canonical, keyed like the fold. */
export function standbyRows(dialect: StandbyDialect, meta: TableMeta): Promise<Map<string, Row>> {
  return scanAll(meta, (after) => dialect.scan(meta, after, 20_000), 20_000);
}

/** Reads a table page by page in key order (`page` returns at most `size` rows after a key) into rows by key. */
async function scanAll(meta: TableMeta, page: (after: Row | null) => Promise<Row[]>, size: number): Promise<Map<string, Row>> {
  const rows = new Map<string, Row>();
  for (let after: Row | null = null; ; ) {
    const chunk = await page(after);
    for (const r of chunk) rows.set(keyId(r, meta.key), r);
    if (chunk.length < size) return rows;
    after = chunk[chunk.length - 1];
  }
}

/** Serialises rows for equality assertions (bigint and Buffer aware), sorted by key. */
export function canonical(rows: Map<string, Row>): string[] {
  return [...rows.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    // Buffers through the holder: Buffer#toJSON would make an array of one number per byte
    .map(([, r]) => JSON.stringify(r, function (this: Record<string, unknown>, k, v) {
      const raw = this[k];
      return Buffer.isBuffer(raw) ? raw.toString('hex') : typeof v === 'bigint' ? `${v}n` : v;
    }));
}

/**
 * Polls `fn` until `ok` holds for its result and returns that result: a bounded wait for an
 * outcome, not a timing assertion. Throws naming `what` (evaluated then) and the last result after `timeoutMs`.
 */
export async function until<T>(fn: () => Promise<T>, ok: (v: T) => boolean, what: string | (() => string), timeoutMs = 60_000, intervalMs = 200): Promise<T> {
  const start = Date.now();
  for (;;) {
    const v = await fn();
    if (ok(v)) return v;
    if (Date.now() - start > timeoutMs) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${typeof what === 'string' ? what : what()}; last: ${JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? `${x}n` : x))}`);
    }
    await sleep(intervalMs);
  }
}

/** Waits until the batch log holds a complete window at version >= `version`. */
export async function waitForVersion(kafka: KafkaPort, prefix: string, sourceId: string, version: bigint, timeoutMs = 120_000): Promise<void> {
  let lastError = '';
  const highest = async () => {
    let v = -1n;
    const batches = await readBatches(kafka, prefix).catch((err: Error) => {
      lastError = `; the last read of the batch log failed: ${err.message}`;
      return [];
    });
    for (const { batch: b } of batches) {
      if (b.sourceId === sourceId && b.complete && b.tables.every((t) => !t.snapshot || t.snapshot.done) && b.version > v) v = b.version;
    }
    return v;
  };
  await until(highest, (v) => v >= version, () => `capture to reach version ${version} (last: the highest complete window's)${lastError}`, timeoutMs, 500);
}
