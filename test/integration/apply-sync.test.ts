// Sync mode end to end with real processes: capture publishes window N+1 only after the standby
// acknowledged window N; /v1/wait; and the degrade and block policies when the applier is down.
import { beforeAll, describe, expect, it } from 'vitest';
import { acksTopic } from '../../src/core/topics.ts';
import { captureUrl, usePipeline, type Standby } from '../support/pipeline-fixture.ts';
import { control, readAll, readBatches, sleep, uniquePrefix, until } from '../support/pipeline.ts';

const fx = usePipeline({
  name: 'sync',
  schema: `CREATE TABLE orders (id int PRIMARY KEY, item text)`,
  tables: ['public.orders'],
  config: (prefix) => ({ source: { id: `orders_${prefix}`, pollIntervalMs: 50 }, mode: 'sync' }),
});

let sby: Standby;
beforeAll(async () => {
  sby = await fx.standby('postgres', 'syncsby');
});

function config(prefix: string, sync: { timeoutMs: number; policy: 'degrade' | 'block' }, sourceId?: string) {
  return fx.config(prefix, { source: { id: sourceId }, sync, standby: { id: 'sby', url: sby.url } });
}

async function insert(n: number): Promise<bigint> {
  await fx.admin.query(`INSERT INTO orders (id, item) VALUES ($1, 'item ' || $1::int)`, [n]);
  return fx.currentVersion();
}

async function batchLog(prefix: string) {
  const batches = (await readBatches(fx.kafka, prefix)).map((b) => b.batch);
  const acks = (await readAll(fx.kafka, [acksTopic(prefix)])).filter((r) => r.value).map((r) => control.decodeAck(r.value!));
  return { batches, acks };
}

describe('sync mode', () => {
  it('publishes a window only after the previous one was applied, and /v1/wait returns after the apply', async () => {
    const prefix = uniquePrefix('sync');
    const file = config(prefix, { timeoutMs: 30_000, policy: 'block' });
    const cap = fx.capture(file);
    const app = fx.apply(file);
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
        expect((await sby.query(`SELECT count(*)::int AS n FROM public.orders WHERE id = $1`, [i]))[0].n).toBe(1);
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
    const other = await fx.run(['apply', '-c', config(uniquePrefix('other'), { timeoutMs: 1000, policy: 'block' }, `orders_${prefix}`)]);
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
    const cap = fx.capture(file);
    let app = fx.apply(file);
    await captureUrl(cap);
    await app.waitFor('apply running');
    const v0 = await insert(1000);
    await until(() => batchLog(prefix), ({ acks }) => acks.some((a) => a.version >= v0), `an ack of version ${v0}`, 60_000, 300).catch(() => undefined);
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
    app = fx.apply(file);
    const finalV = await fx.currentVersion();
    await sby.waitApplied(finalV, { sourceId: `orders_${prefix}`, timeoutMs: 60_000 });
    expect((await sby.query(`SELECT count(*)::int AS n FROM public.orders WHERE id BETWEEN 1001 AND 1005`))[0].n).toBe(5);
    await app.kill('SIGTERM');
    await cap.kill('SIGTERM');
  });

  it('degrade: with the standby down capture goes on asynchronously, flagged, and turns synchronous again', async () => {
    const prefix = uniquePrefix('degrade');
    const file = config(prefix, { timeoutMs: 1000, policy: 'degrade' });
    const cap = fx.capture(file);
    const url = await captureUrl(cap);
    // no applier at all: the first window waits 1 s, then capture degrades
    for (let i = 1; i <= 5; i++) {
      await insert(2000 + i);
      await sleep(300);
    }
    await cap.waitFor('degraded to asynchronous');
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(/^ctrelay_capture_sync_degraded 1$/m);
    const v = await fx.currentVersion();
    const published = await until(
      async () => (await batchLog(prefix)).batches.filter((b) => b.complete).map((b) => b.version),
      (versions) => versions.some((x) => x >= v),
      `a window at version ${v} published while degraded`,
      30_000,
      300,
    ).catch(() => [] as bigint[]);
    expect(published.some((x) => x >= v)).toBe(true);
    const app = fx.apply(file);
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
