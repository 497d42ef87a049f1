// The operational HTTP surface of a long-running ctrelay process: /metrics, /healthz, /readyz and
// whatever routes the process adds (the capture agent's /v1/wait). node:http only: a handful of
// GET routes do not justify a framework.

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { CtrelayError } from '../core/errors.ts';
import { redact } from '../core/redact.ts';

export interface Check {
  ok: boolean;
  /** shown in the JSON body, e.g. { lagVersions: 3 } or a reason string */
  detail?: unknown;
}
export type CheckFn = () => Check | Promise<Check>;

/** A route handler; `url` is the parsed request URL (query in url.searchParams). */
export type RouteHandler = (req: IncomingMessage, res: ServerResponse, url: URL) => void | Promise<void>;

/** Throw from a route handler for a client error: answered as `status` with `{ error: message }`. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

export interface HttpServerOptions {
  host: string;
  /** 0 picks a free port (tests); the chosen one is in the returned url */
  port: number;
  registry: Registry;
  /** liveness: false when the process should be restarted */
  health?: CheckFn;
  /** readiness: false while the process cannot do its job yet (or any more), e.g. catching up */
  ready?: CheckFn;
  /** extra routes keyed by path, e.g. { '/v1/wait': handler }; any method reaches them */
  routes?: Record<string, RouteHandler>;
  /** called with unexpected handler errors (they are answered with 500) */
  onError?: (err: unknown, req: IncomingMessage) => void;
}

export interface HttpServer {
  /** base URL, e.g. http://127.0.0.1:9464 */
  url: string;
  port: number;
  /** stops listening and drops open connections (long polls included) */
  close(): Promise<void>;
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(text);
}

const OK: CheckFn = () => ({ ok: true });

async function answerCheck(res: ServerResponse, check: CheckFn): Promise<void> {
  let result: Check;
  try {
    result = await check();
  } catch (err) {
    result = { ok: false, detail: redact(err instanceof Error ? err.message : String(err)) };
  }
  sendJson(res, result.ok ? 200 : 503, { status: result.ok ? 'ok' : 'unavailable', detail: result.detail ?? null });
}

export async function startHttpServer(options: HttpServerOptions): Promise<HttpServer> {
  const builtin: Record<string, RouteHandler> = {
    '/metrics': async (_req, res) => {
      const text = await options.registry.metrics();
      res.writeHead(200, { 'content-type': options.registry.contentType });
      res.end(text);
    },
    '/healthz': (_req, res) => answerCheck(res, options.health ?? OK),
    '/readyz': (_req, res) => answerCheck(res, options.ready ?? OK),
  };
  const routes: Record<string, RouteHandler> = { ...builtin, ...options.routes };

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const handler = routes[url.pathname];
    if (!handler) {
      sendJson(res, 404, { error: `no route ${url.pathname}`, routes: Object.keys(routes) });
      return;
    }
    if (url.pathname in builtin && !(url.pathname in (options.routes ?? {})) && req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      sendJson(res, 405, { error: `method ${req.method} not allowed` });
      return;
    }
    Promise.resolve()
      .then(() => handler(req, res, url))
      .catch((err: unknown) => {
        if (!(err instanceof HttpError)) options.onError?.(err, req);
        if (res.headersSent) {
          res.destroy();
          return;
        }
        const status = err instanceof HttpError ? err.status : 500;
        sendJson(res, status, { error: redact(err instanceof Error ? err.message : String(err)) });
      });
  });

  await new Promise<void>((resolve, reject) => {
    // A busy port is an operator's problem (another instance, wrong http.*.port), not a bug.
    const onError = (err: NodeJS.ErrnoException) =>
      reject(new CtrelayError(`cannot listen on ${options.host}:${options.port}: ${err.code ?? err.message}`, 1, { cause: err }));
    server.once('error', onError);
    server.listen(options.port, options.host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}`,
    port: address.port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}
