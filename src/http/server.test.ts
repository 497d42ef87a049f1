import { afterEach, describe, expect, it } from 'vitest';
import { Counter } from 'prom-client';
import { createMetricsRegistry } from './metrics.ts';
import { HttpError, sendJson, startHttpServer, type HttpServer } from './server.ts';

const servers: HttpServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function start(options: Partial<Parameters<typeof startHttpServer>[0]> = {}) {
  const server = await startHttpServer({ host: '127.0.0.1', port: 0, registry: createMetricsRegistry(), ...options });
  servers.push(server);
  return server;
}

describe('startHttpServer', () => {
  it('listens on a free port with port 0 and serves Prometheus text on /metrics', async () => {
    const registry = createMetricsRegistry();
    new Counter({ name: 'ctrelay_batches_total', help: 'batches published', registers: [registry] }).inc(3);
    const server = await start({ registry });
    expect(server.port).toBeGreaterThan(0);
    expect(server.url).toBe(`http://127.0.0.1:${server.port}`);
    const res = await fetch(`${server.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    const text = await res.text();
    expect(text).toContain('ctrelay_batches_total 3');
    expect(text).toContain('ctrelay_process_cpu_user_seconds_total');
  });

  it('answers /healthz and /readyz with 200 or 503 and a JSON body', async () => {
    let ready = false;
    const server = await start({
      health: () => ({ ok: true, detail: { lag: 0 } }),
      ready: async () => ({ ok: ready, detail: ready ? 'caught up' : 'snapshotting' }),
    });
    const health = await fetch(`${server.url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok', detail: { lag: 0 } });
    const notReady = await fetch(`${server.url}/readyz`);
    expect(notReady.status).toBe(503);
    expect(await notReady.json()).toEqual({ status: 'unavailable', detail: 'snapshotting' });
    ready = true;
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
  });

  it('reports a throwing check as unavailable, redacted', async () => {
    const server = await start({
      health: () => {
        throw new Error('cannot reach postgres://u:pw@h/db');
      },
    });
    const res = await fetch(`${server.url}/healthz`);
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ status: 'unavailable', detail: 'cannot reach postgres://u:***@h/db' });
  });

  it('serves extra routes, maps HttpError to its status and other errors to a redacted 500', async () => {
    const errors: unknown[] = [];
    const server = await start({
      onError: (err) => errors.push(err),
      routes: {
        '/v1/wait': (_req, res, url) => {
          const version = url.searchParams.get('version');
          if (!version) throw new HttpError(400, 'version is required');
          sendJson(res, 200, { applied: Number(version) });
        },
        '/boom': async () => {
          throw new Error('Password=pw; rejected');
        },
      },
    });
    expect(await (await fetch(`${server.url}/v1/wait?version=42`)).json()).toEqual({ applied: 42 });
    const bad = await fetch(`${server.url}/v1/wait`);
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({ error: 'version is required' });
    const boom = await fetch(`${server.url}/boom`);
    expect(boom.status).toBe(500);
    expect(await boom.json()).toEqual({ error: 'Password=***; rejected' });
    expect(errors).toHaveLength(1);
    expect((await fetch(`${server.url}/nope`)).status).toBe(404);
    expect((await fetch(`${server.url}/metrics`, { method: 'POST' })).status).toBe(405);
  });

  it('close() does not wait for a pending long poll', async () => {
    const server = await start({ routes: { '/v1/wait': () => new Promise(() => {}) } });
    const pending = fetch(`${server.url}/v1/wait`).catch((err: unknown) => err);
    await new Promise((r) => setTimeout(r, 50));
    await server.close();
    servers.splice(0);
    expect(await pending).toBeInstanceOf(Error);
  });

  it('turns a busy port into a CtrelayError', async () => {
    const first = await start();
    await expect(start({ port: first.port })).rejects.toThrow(/cannot listen on 127\.0\.0\.1:\d+: EADDRINUSE/);
  });
});
