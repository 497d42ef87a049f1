// Sync mode end to end with real processes: capture publishes window N+1 only after the standby
// acknowledged window N; /v1/wait; and the degrade and block policies when the applier is down.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acksTopic } from '../../src/core/topics.ts';
import type { KafkaPort } from '../../src/kafka/port.ts';
import { ctEnable } from '../../src/sources/postgres/ct-admin.ts';
import { createPgDatabase, type ThrowawayDb } from '../support/db.ts';
import { kafkaBrokers } from '../support/kafka.ts';
import { control, readAll, readBatches, runCtrelay, sleep, spawnCtrelay, testKafka, uniquePrefix, writeConfig, type Proc } from '../support/pipeline.ts';

let source: ThrowawayDb;
let standby: ThrowawayDb;
let src: pg.Client;
let sby: pg.Client;
let kafka: KafkaPort;
const procs: Proc[] = [];

function start(args: string[]): Proc {
  const p = spawnCtrelay(args);
  procs.push(p);
  return p;
}

function config(prefix: string, sync: { timeoutMs: number; policy: 'degrade' | 'block' }, sourceId = `orders_${prefix}`) {
  return writeConfig({
    source: { id: sourceId, url: source.url, tables: ['public.orders'], pollIntervalMs: 50 },
    kafka: { brokers: kafkaBrokers(), topicPrefix: prefix, partitions: 1 },
    mode: 'sync',
    sync,
    standby: { id: 'sby', url: standby.url },
    http: { capture: { port: 0 }, apply: { port: 0 } },
  });
}

async function captureUrl(p: Proc): Promise<string> {
  await p.waitFor('capture running');
  const line = p.stderr().split('\n').find((l) => l.includes('"capture running"'))!;
  return JSON.parse(line).url;
}

async function version(): Promise<bigint> {
  return BigInt((await src.query(`SELECT ctrelay.current_version()::text AS v`)).rows[0].v);
}

async function insert(n: number): Promise<bigint> {
  await src.query(`INSERT INTO orders (id, item) VALUES ($1, 'item ' || $1::int)`, [n]);
  return version();
}

async function batchLog(prefix: string) {
  const batches = (await readBatches(kafka, prefix)).map((b) => b.batch);
  const acks = (await readAll(kafka, [acksTopic(prefix)])).filter((r) => r.value).map((r) => control.decodeAck(r.value!));
  return { batches, acks };
}

beforeAll(async () => {
  source = await createPgDatabase('sync');
  standby = await createPgDatabase('syncsby');
  src = new pg.Client({ connectionString: source.url });
  await src.connect();
  sby = new pg.Client({ connectionString: standby.url });
  await sby.connect();
  await src.query(`CREATE TABLE orders (id int PRIMARY KEY, item text)`);
  await ctEnable(source.url, [{ schema: 'public', table: 'orders' }]);
  kafka = testKafka(kafkaBrokers());
});

afterAll(async () => {
  for (const p of procs) await p.kill();
  await kafka?.close();
  await src?.end();
  await sby?.end();
  await source?.drop();
  await standby?.drop();
});

describe('sync mode', () => {
  it('publishes a window only after the previous one was applied, and /v1/wait returns after the apply', async () => {
    const prefix = uniquePrefix('sync');
    const file = config(prefix, { timeoutMs: 30_000, policy: 'block' });
    const cap = start(['capture', '-c', file]);
    const app = start(['apply', '-c', file]);
    const url = await captureUrl(cap);
    await app.waitFor('apply running');
    for (let i = 1; i <= 20; i++) {
      const v = await insert(i);
      if (i % 5 === 0) {
        const res = await fetch(`${url}/v1/wait?version=${v}&timeout=30000`);
        if (res.status !== 200) console.log('CAPTURE', cap.stderr().slice(-4000), 'APPLY', app.stderr().slice(-4000));
        expect(res.status).toBe(200);
        expect((await res.json()).applied).toBe(true);
        // RPO 0 for this write: it is on the standby when /v1/wait answers
        expect((await sby.query(`SELECT count(*)::int AS n FROM public.orders WHERE id = $1`, [i])).rows[0].n).toBe(1);
      }
    }
    const { batches, acks } = await batchLog(prefix);
    const windows = batches.filter((b) => b.complete);
    expect(windows.length).toBeGreaterThan(3);
    const ackedAt = new Map(acks.map((a) => [a.seq, a.appliedAtMs]));
    // every window after the first was captured after the standby acknowledged the one before it
    for (let i = 1; i < windows.length; i++) {
      const prevAck = ackedAt.get(windows[i - 1].seq);
      expect(prevAck, `ack of batch ${windows[i - 1].seq}`).toBeDefined();
      expect(windows[i].captureTsMs).toBeGreaterThanOrEqual(prevAck!);
    }
    await app.kill('SIGTERM');
    // the standby's state belongs to this batch log: pointed at another one, apply refuses to guess
    const other = await runCtrelay(['apply', '-c', config(uniquePrefix('other'), { timeoutMs: 1000, policy: 'block' }, `orders_${prefix}`)]);
    expect(other.code).toBe(5);
    expect(other.stderr).toMatch(/error: the standby's ctrelay_state says source orders_\S+ batch \d+ was applied from \S+ offset \d+, but that offset holds nothing/);
    // with the applier down /v1/wait times out as documented: 408 after the timeout
    const v = await insert(100);
    const t0 = Date.now();
    const res = await fetch(`${url}/v1/wait?version=${v}&timeout=1500`);
    expect(res.status).toBe(408);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1400);
    expect((await res.json()).applied).toBe(false);
    await cap.kill('SIGTERM');
  });

  it('block: with the standby down capture holds at one unacknowledged window, then resumes', async () => {
    const prefix = uniquePrefix('block');
    const file = config(prefix, { timeoutMs: 1000, policy: 'block' });
    const cap = start(['capture', '-c', file]);
    let app = start(['apply', '-c', file]);
    await captureUrl(cap);
    await app.waitFor('apply running');
    const v0 = await insert(1000);
    const deadline = Date.now() + 60_000;
    while ((await batchLog(prefix)).acks.every((a) => a.version < v0) && Date.now() < deadline) await sleep(300);
    await app.kill('SIGKILL');
    for (let i = 1; i <= 5; i++) {
      await insert(1000 + i);
      await sleep(200);
    }
    await cap.waitFor('still waiting for the standby');
    const { batches, acks } = await batchLog(prefix);
    const lastAcked = acks.reduce((m, a) => (a.seq > m ? a.seq : m), -1n);
    const unacked = batches.filter((b) => b.complete && b.seq > lastAcked);
    expect(unacked.length).toBeLessThanOrEqual(1);
    app = start(['apply', '-c', file]);
    const finalV = await version();
    const t0 = Date.now();
    for (;;) {
      const r = await sby.query(`SELECT version::text AS v FROM ctrelay.ctrelay_state WHERE source_id = $1`, [`orders_${prefix}`]).catch(() => ({ rows: [] as { v: string }[] }));
      if (r.rows[0] && BigInt(r.rows[0].v) >= finalV) break;
      if (Date.now() - t0 > 60_000) throw new Error('standby did not catch up after the applier came back');
      await sleep(300);
    }
    expect((await sby.query(`SELECT count(*)::int AS n FROM public.orders WHERE id BETWEEN 1001 AND 1005`)).rows[0].n).toBe(5);
    await app.kill('SIGTERM');
    await cap.kill('SIGTERM');
  });

  it('degrade: with the standby down capture goes on asynchronously, flagged, and turns synchronous again', async () => {
    const prefix = uniquePrefix('degrade');
    const file = config(prefix, { timeoutMs: 1000, policy: 'degrade' });
    const cap = start(['capture', '-c', file]);
    const url = await captureUrl(cap);
    // no applier at all: the first window waits 1 s, then capture degrades
    for (let i = 1; i <= 5; i++) {
      await insert(2000 + i);
      await sleep(300);
    }
    await cap.waitFor('degraded to asynchronous');
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(/^ctrelay_capture_sync_degraded 1$/m);
    const v = await version();
    const deadline = Date.now() + 30_000;
    let published: bigint[] = [];
    while (Date.now() < deadline) {
      published = (await batchLog(prefix)).batches.filter((b) => b.complete).map((b) => b.version);
      if (published.some((x) => x >= v)) break;
      await sleep(300);
    }
    expect(published.some((x) => x >= v)).toBe(true);
    const app = start(['apply', '-c', file]);
    await app.waitFor('apply running');
    await insert(2100);
    await cap.waitFor('synchronous again', 60_000).catch((err) => {
      throw new Error(`${err.message}\nAPPLY:\n${app.stderr().slice(-3000)}`);
    });
    expect(await (await fetch(`${url}/metrics`)).text()).toMatch(/^ctrelay_capture_sync_degraded 0$/m);
    await app.kill('SIGTERM');
    await cap.kill('SIGTERM');
  });
});
