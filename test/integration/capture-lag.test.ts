// Monitoring that tells the truth when capture is not polling. In sync mode with policy block and
// the applier down, capture waits for an ack and reads nothing new; its source_version and
// lag_versions must still follow the source (they used to freeze at the last poll: 42 versions
// "behind" while the real gap was thousands), and /readyz must say it is blocked (it answered 200).
import { expect, it } from 'vitest';
import { get, parseMetrics, sample } from '../support/http.ts';
import { usePipeline } from '../support/pipeline-fixture.ts';
import { uniquePrefix, until } from '../support/pipeline.ts';

const fx = usePipeline({
  name: 'caplag',
  schema: `CREATE TABLE orders (id int PRIMARY KEY, item text)`,
  tables: ['public.orders'],
});

it('sync mode blocked on a standby that is down: source version and lag follow the source, /readyz says blocked', async () => {
  const prefix = uniquePrefix('lag');
  const standby = await fx.standby('postgres', 'lagsby');
  const file = fx.config(prefix, { mode: 'sync', sync: { timeoutMs: 1_000, policy: 'block' }, standby: { id: 'lagsby', url: standby.url } });
  // the applier runs first, so the initial window is acknowledged; then it goes away
  const app = fx.apply(file);
  const { url } = await fx.captureRunning(file);
  await app.waitFor('apply running');
  await standby.waitApplied(await fx.currentVersion());
  await app.kill('SIGKILL');

  // one write: capture publishes it or not (the dead applier may or may not have acked the window
  // before), and then blocks: nothing acknowledges what it published
  await fx.admin.query(`INSERT INTO orders VALUES (0, 'first')`);
  await until(() => get(`${url}/readyz`), (r) => r.status === 503, '/readyz 503 once capture blocks');
  const blockedAt = sample(parseMetrics((await get(`${url}/metrics`)).text), 'ctrelay_capture_published_version')!;
  // writes while capture is blocked: none of them can be published
  for (let i = 1; i <= 200; i++) await fx.admin.query(`INSERT INTO orders VALUES ($1, 'o' || $1::int)`, [i]);
  const source = await fx.currentVersion();
  const metrics = await until(
    async () => parseMetrics((await get(`${url}/metrics`)).text),
    (s) => sample(s, 'ctrelay_capture_source_version') === Number(source),
    `ctrelay_capture_source_version to reach the source's version ${source}`,
  );
  const published = sample(metrics, 'ctrelay_capture_published_version')!;
  // the gap is real: none of the 200 single-row transactions is published
  expect(published).toBe(blockedAt);
  expect(source - BigInt(published)).toBeGreaterThanOrEqual(200n);
  expect(sample(metrics, 'ctrelay_capture_lag_versions')).toBe(Number(source) - published);
  const ready = await until(() => get(`${url}/readyz`), (r) => r.status === 503, '/readyz 503 while blocked');
  expect(JSON.parse(ready.text).detail).toMatchObject({ reason: expect.stringMatching(/waiting for the standby/), sourceVersion: String(source) });

  // the standby comes back: capture goes on, catches up, and is ready again with no lag
  const app2 = fx.apply(file);
  await app2.waitFor('apply running');
  await until(() => get(`${url}/readyz`), (r) => r.status === 200, '/readyz 200 after the standby came back', 120_000);
  await until(
    async () => parseMetrics((await get(`${url}/metrics`)).text),
    (s) => sample(s, 'ctrelay_capture_lag_versions') === 0 && sample(s, 'ctrelay_capture_published_version') === Number(source),
    'lag 0 at the source version', 120_000,
  );
  await standby.waitApplied(source);
  const rows = await standby.query(`SELECT count(*)::int AS n FROM public.orders`);
  expect(rows[0].n).toBe(201);
});
