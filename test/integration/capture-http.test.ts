// The capture agent's HTTP surface on a real process: /metrics (Prometheus text), /healthz, /readyz,
// /v1/wait (400 on a bad version, 409 without a standby, 408 then 200 with a standby whose ack
// arrives on the acks topic), and SIGTERM -> exit 0 with 'capture stopped'.
import { describe, expect, it } from 'vitest';
import { acksTopic } from '../../src/core/topics.ts';
import { get, parseMetrics, sample } from '../support/http.ts';
import { usePipeline } from '../support/pipeline-fixture.ts';
import { control, sleep, uniquePrefix, until } from '../support/pipeline.ts';

const fx = usePipeline({
  name: 'caphttp',
  schema: `CREATE TABLE items (id int PRIMARY KEY, name text); INSERT INTO items SELECT g, 'n' || g FROM generate_series(1, 10) g`,
  tables: ['public.items'],
  config: { kafka: { partitions: 2 } },
});

describe('capture HTTP surface', () => {
  it('serves metrics, health, readiness and /v1/wait errors, and stops on SIGTERM with exit 0', async () => {
    const prefix = uniquePrefix('http');
    const { p, url } = await fx.captureRunning(fx.config(prefix));

    // liveness holds from the start; readiness once the agent resumed and completed a poll
    const health = await get(`${url}/healthz`);
    expect(health.status, health.text).toBe(200);
    expect(JSON.parse(health.text).status).toBe('ok');
    const ready = await until(() => get(`${url}/readyz`), (r) => r.status === 200, '/readyz 200');
    expect(JSON.parse(ready.text)).toMatchObject({ status: 'ok', detail: { seq: expect.stringMatching(/^\d+$/) } });

    // changes after the snapshot: 5 inserts, 3 updates, 2 deletes
    await fx.admin.query(`INSERT INTO items SELECT g, 'n' || g FROM generate_series(11, 15) g`);
    await fx.admin.query(`UPDATE items SET name = 'u' WHERE id IN (1, 2, 3)`);
    await fx.admin.query(`DELETE FROM items WHERE id IN (9, 10)`);
    const v = await fx.currentVersion();
    await fx.waitCaptured(prefix, v);

    // caught up: a poll after the last publish sees no lag
    const metrics = await until(
      async () => get(`${url}/metrics`),
      (m) => m.status === 200 && sample(parseMetrics(m.text), 'ctrelay_capture_lag_versions') === 0 && sample(parseMetrics(m.text), 'ctrelay_capture_published_version') === Number(v),
      'lag 0 at the current version',
    );
    expect(metrics.type).toMatch(/^text\/plain/);
    expect(metrics.text).toContain('# TYPE ctrelay_capture_lag_versions gauge');
    expect(metrics.text).toContain('# TYPE ctrelay_capture_batch_events histogram');
    expect(metrics.text).toContain('# TYPE ctrelay_capture_events_total counter');
    const s = parseMetrics(metrics.text);
    const ev = (op: string) => sample(s, 'ctrelay_capture_events_total', { table: 'public.items', op });
    expect([ev('r'), ev('c'), ev('u'), ev('d')]).toEqual([10, 5, 3, 2]);
    // every event was counted in exactly one published batch
    expect(sample(s, 'ctrelay_capture_batch_events_sum')).toBe(20);
    expect(sample(s, 'ctrelay_capture_batch_events_count')).toBeGreaterThanOrEqual(2);
    expect(sample(s, 'ctrelay_capture_batch_events_bucket', { le: '+Inf' })).toBe(sample(s, 'ctrelay_capture_batch_events_count'));
    expect(sample(s, 'ctrelay_capture_source_version')).toBe(Number(v));
    expect(sample(s, 'ctrelay_capture_snapshot_rows_total', { table: 'public.items' })).toBe(10);
    expect(sample(s, 'ctrelay_capture_errors_total')).toBe(0);

    // /v1/wait: a bad version is a 400, and without a standby nothing can acknowledge: 409
    for (const q of ['', '?version=abc', '?version=-1', '?version=1.5']) {
      const r = await get(`${url}/v1/wait${q}`);
      expect(r.status, `/v1/wait${q}: ${r.text}`).toBe(400);
      expect(JSON.parse(r.text).error).toMatch(/version/);
    }
    const badTimeout = await get(`${url}/v1/wait?version=1&timeout=-5`);
    expect(badTimeout.status).toBe(400);
    expect(JSON.parse(badTimeout.text).error).toMatch(/timeout/);
    const noStandby = await get(`${url}/v1/wait?version=${v}`);
    expect(noStandby.status, noStandby.text).toBe(409);
    expect(JSON.parse(noStandby.text).error).toMatch(/standby/);
    expect((await get(`${url}/nosuch`)).status).toBe(404);

    // SIGTERM: a graceful stop, exit 0
    await p.kill('SIGTERM');
    expect(await p.exited, p.stderr().slice(-2000)).toBe(0);
    expect(p.stderr()).toContain('"capture stopped"');
    expect(p.stderr()).not.toMatch(/"level":"error"/);
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
  });

  it('with a standby configured, /v1/wait answers 408 until the standby acknowledges the version, then 200', async () => {
    const prefix = uniquePrefix('httpwait');
    const { p, url } = await fx.captureRunning(fx.config(prefix, { standby: { id: 'sb1', url: 'postgres://postgres@127.0.0.1:5432/unused' } }));
    await fx.admin.query(`INSERT INTO items VALUES (100, 'x')`);
    const v = await fx.currentVersion();
    await fx.waitCaptured(prefix, v);

    const early = await get(`${url}/v1/wait?version=${v}&timeout=300`);
    expect(early.status, early.text).toBe(408);
    expect(JSON.parse(early.text)).toMatchObject({ applied: false, version: String(v) });

    // a waiter parked before the ack arrives is released by it
    const parked = get(`${url}/v1/wait?version=${v}&timeout=60000`);
    const producer = fx.kafka.producer(`test-acks-${prefix}`);
    await producer.init();
    try {
      const tx = await producer.begin();
      // an ack of another standby and an older ack of ours do not count
      await tx.send(acksTopic(prefix), [
        { key: Buffer.from('src'), value: control.encodeAck({ sourceId: 'src', standbyId: 'other', seq: 99n, version: v + 10n, appliedAtMs: Date.now(), rows: 1n }), partition: 0 },
        { key: Buffer.from('src'), value: control.encodeAck({ sourceId: 'src', standbyId: 'sb1', seq: 0n, version: v - 1n, appliedAtMs: Date.now(), rows: 1n }), partition: 0 },
      ]);
      await tx.commit();
      await sleep(1500);
      const still = await get(`${url}/v1/wait?version=${v}&timeout=200`);
      expect(still.status, still.text).toBe(408);
      expect(JSON.parse(still.text).latest).toBe(String(v - 1n));
      const tx2 = await producer.begin();
      await tx2.send(acksTopic(prefix), [
        { key: Buffer.from('src'), value: control.encodeAck({ sourceId: 'src', standbyId: 'sb1', seq: 1n, version: v, appliedAtMs: Date.now(), rows: 1n }), partition: 0 },
      ]);
      await tx2.commit();
    } finally {
      await producer.close();
    }
    const released = await parked;
    expect(released.status, released.text).toBe(200);
    expect(JSON.parse(released.text)).toMatchObject({ applied: true, version: String(v), seq: '1', standby: 'sb1' });
    const now = await get(`${url}/v1/wait?version=${v}&timeout=0`);
    expect(now.status).toBe(200);

    await p.kill('SIGTERM');
    expect(await p.exited, p.stderr().slice(-2000)).toBe(0);
    expect(p.stderr()).toContain('"capture stopped"');
  });
});
