// The applier's lag metrics tell the truth from the first scrape after a start, also when nothing
// can be applied: they used to be set only after a transaction (so 0 after every restart), and
// lag_versions compared the applied batch with itself (always 0).
import pg from 'pg';
import { expect, it } from 'vitest';
import { get, parseMetrics, sample } from '../support/http.ts';
import { runningUrl, usePipeline } from '../support/pipeline-fixture.ts';
import { uniquePrefix, until } from '../support/pipeline.ts';

const fx = usePipeline({
  name: 'applag',
  schema: `CREATE TABLE orders (id int PRIMARY KEY, item text); INSERT INTO orders SELECT g, 'o' || g FROM generate_series(1, 100) g`,
  tables: ['public.orders'],
});

it('a restarted applier that cannot write shows the real lag in versions, batches and seconds, and 0 once caught up', async () => {
  const prefix = uniquePrefix('applag');
  const standby = await fx.standby('postgres', 'applagsby');
  const file = fx.config(prefix, { standby: { id: 'applagsby', url: standby.url } });
  const cap = fx.capture(file);
  let app = fx.apply(file);
  await standby.waitApplied(await fx.currentVersion());
  await app.kill('SIGTERM');
  const applied = (await standby.appliedVersion())!;

  // 50 transactions captured while the applier is down
  for (let i = 1; i <= 50; i++) await fx.admin.query(`UPDATE orders SET item = item || '+' WHERE id = $1`, [i]);
  const source = await fx.currentVersion();
  await fx.waitCaptured(prefix, source);

  // the standby's state row is locked: the restarted applier reads the backlog but cannot commit
  // read-write like the applier's own sessions: the applier protected the standby (new sessions default to read-only)
  const lock = new pg.Client({ connectionString: standby.url, options: '-c default_transaction_read_only=off' });
  await lock.connect();
  try {
    await lock.query(`BEGIN; SELECT * FROM ctrelay.ctrelay_state FOR UPDATE`);
    app = fx.apply(file);
    const url = await runningUrl(app, 'apply running');
    const m = await until(
      async () => parseMetrics((await get(`${url}/metrics`)).text),
      (s) => sample(s, 'ctrelay_apply_lag_versions') === Number(source - applied),
      `ctrelay_apply_lag_versions = ${source - applied}`,
    );
    expect(sample(m, 'ctrelay_apply_version')).toBe(Number(applied));
    expect(sample(m, 'ctrelay_apply_lag_batches')).toBeGreaterThan(0);
    expect(sample(m, 'ctrelay_apply_lag_seconds')).toBeGreaterThan(0);
  } finally {
    await lock.query('COMMIT').catch(() => undefined);
    await lock.end();
  }
  await standby.waitApplied(source);
  const url = await runningUrl(app, 'apply running');
  await until(
    async () => parseMetrics((await get(`${url}/metrics`)).text),
    (s) => sample(s, 'ctrelay_apply_lag_versions') === 0 && sample(s, 'ctrelay_apply_lag_seconds') === 0 && sample(s, 'ctrelay_apply_lag_batches') === 0,
    'no lag once caught up',
  );
  await app.kill('SIGTERM');
  await cap.kill('SIGTERM');
});
