// `ctrelay promote` with real capture and apply processes, a real pgbench workload and real
// standbys: a planned switchover (the source demoted) loses nothing, by the test's own comparison;
// the promoted standby takes writes whose keys come from an identity and a sequence that were moved
// past the source's values; the old capture and applier are fenced and refuse to start again. A
// forced promotion (capture killed, the source not asked) applies what Kafka holds and nothing
// after it. The history table has an identity key, so pgbench's own inserts draw from it.
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { pgbenchHistory, pgbenchSchema, runPgbench } from '../support/pgbench.ts';
import { stoppedWith, usePipeline, type Standby } from '../support/pipeline-fixture.ts';
import { uniquePrefix } from '../support/pipeline.ts';

const ORDERS = `CREATE TABLE orders (id serial PRIMARY KEY, note text)`;

const fx = usePipeline({
  name: 'promote',
  schema: `${pgbenchSchema(1, true)};
    ${ORDERS};
    INSERT INTO orders (note) SELECT 'o' || g FROM generate_series(1, 50) g;`,
  tables: ['public.pgbench_branches', 'public.pgbench_tellers', 'public.pgbench_accounts', 'public.pgbench_history', 'public.orders'],
  config: { source: { pollIntervalMs: 100, maxBatchRows: 20_000, snapshotChunkRows: 50_000 } },
});

async function fresh(url: string): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: url });
  c.on('error', () => undefined);
  await c.connect();
  return c;
}

/** An ordinary new session's INSERT: the error text, or null when it committed. */
async function tryInsert(url: string, sql: string): Promise<string | null> {
  const c = await fresh(url);
  try {
    await c.query(sql);
    return null;
  } catch (err) {
    return (err as Error).message;
  } finally {
    await c.end();
  }
}

/** Makes the source database writable again after a planned switchover demoted it (as failing back would). */
async function undemote(): Promise<void> {
  const c = await fresh(fx.db.url);
  await c.query('SET default_transaction_read_only = off');
  await c.query(`ALTER DATABASE "${fx.db.name}" RESET default_transaction_read_only`);
  await c.end();
  await fx.reconnectAdmin();
}

describe('ctrelay promote', () => {
  it('forced, with capture killed: the standby gets every batch Kafka holds and nothing after', { timeout: 300_000 }, async () => {
    const prefix = uniquePrefix('promf');
    const standby: Standby = await fx.standby('mariadb', 'prommy');
    await standby.query('CREATE TABLE orders (id INT AUTO_INCREMENT PRIMARY KEY, note LONGTEXT)');
    const file = fx.config(prefix, { standby: { id: 'dr-maria', url: standby.url } });
    const app = fx.apply(file);
    const cap = fx.capture(file);
    await fx.waitCaughtUpWhileRunning(prefix, standby, app);
    const admin = await fresh(fx.db.url);
    try {
      await admin.query(`INSERT INTO orders (note) SELECT 'before' FROM generate_series(1, 20)`);
      await fx.waitStandbyCaughtUp(prefix, standby);
      await cap.kill('SIGKILL');
      // committed at the source after capture died: lost by a forced promotion
      const lost = (await admin.query(`INSERT INTO orders (note) SELECT 'lost' FROM generate_series(1, 5) RETURNING id`)).rows.map((x) => x.id);
      const r = await fx.run(['promote', '-c', file, '--force'], 120_000);
      expect(r.code, r.stdout + r.stderr.slice(-3000)).toBe(0);
      expect(r.stdout).toContain('(forced');
      const stopped = await stoppedWith(app, 30_000);
      expect([2, 5], stopped.error).toContain(stopped.code);
      expect(stopped.error).toMatch(/dr-maria was promoted/);
      // the standby equals the source without the lost rows
      const onStandby = (await standby.query('SELECT id FROM orders ORDER BY id')).map((x) => Number(x.id));
      const onSource = (await admin.query('SELECT id FROM orders ORDER BY id')).rows.map((x) => Number(x.id));
      expect(onStandby).toEqual(onSource.filter((id) => !lost.includes(id)));
      // the old primary answers again: exactly the lost rows, as JSON lines to re-apply
      const out = join(tmpdir(), `${prefix}-lost.jsonl`);
      const lc = await fx.run(['lost-changes', '-c', file, '-o', out]);
      expect(lc.code, lc.stderr).toBe(0);
      const lines = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
      expect(lines.map((l) => [l.table, l.op, l.key.id, l.row.note])).toEqual(lost.map((id) => ['public.orders', 'upsert', id, 'lost']));
      expect(lc.stderr).toContain(`lost-changes: ${lost.length} change(s) after source version`);
      // (AUTO_INCREMENT past a floor: test/integration/standby-protection.test.ts; InnoDB itself
      // keeps it past explicitly inserted ids, so an insert here would prove nothing)
    } finally {
      await admin.end();
    }
  });
  it('a promotion interrupted after its fence finishes when run again, without touching the source', { timeout: 300_000 }, async () => {
    const prefix = uniquePrefix('promre');
    const standby: Standby = await fx.standby('postgres', 'promre');
    await standby.query(`${pgbenchHistory(true)}; ${ORDERS}`);
    const file = fx.config(prefix, { standby: { id: 'dr-rerun', url: standby.url } });
    const app = fx.apply(file);
    const cap = fx.capture(file);
    await fx.waitCaughtUpWhileRunning(prefix, standby, app);
    await app.kill('SIGKILL');
    await fx.admin.query(`INSERT INTO orders (note) SELECT 'behind' FROM generate_series(1, 7)`);
    await fx.waitCaptured(prefix);
    // the fence is written, then the drain cannot finish: no applier runs
    const first = await fx.run(['promote', '-c', file, '--force', '--wait', '1500'], 60_000);
    expect(first.code).toBe(1);
    expect(first.stderr).toMatch(/did not reach batch \d+ within 1500 ms .*is the applier running\?/);
    expect((await stoppedWith(cap, 30_000)).code).toBe(2);
    // the applier applies everything before the fence and stops at it
    const again = fx.apply(file);
    const stopped = await stoppedWith(again, 60_000);
    expect(stopped.code, stopped.error).toBe(2);
    expect(stopped.error).toMatch(/the applier stopped at batch \d+: the pipeline .* ended/);
    // run again (planned this time): it finishes from the fence instead of demoting and draining anew
    const second = await fx.run(['promote', '-c', file], 60_000);
    expect(second.code, second.stderr.slice(-2000)).toBe(0);
    expect(second.stderr).toContain('the batch log already ends with a fence (forced');
    expect(second.stdout).not.toContain('demoted');
    expect(Number((await standby.query(`SELECT count(*) AS n FROM orders WHERE note = 'behind'`))[0].n)).toBe(7);
    expect(await tryInsert(fx.db.url, `INSERT INTO orders (note) VALUES ('source still writable')`)).toBeNull();
    // status says the pipeline ended, and the fence is no batch the standby is behind by
    const st = await fx.run(['status', '-c', file]);
    expect(st.stdout).toMatch(/pipeline ENDED: standby dr-rerun was promoted \(forced\) at .* holding source version \d+/);
    expect(st.stdout).toMatch(/behind by \d+ versions, 0 batches/);
  });

  it.each(['async', 'sync'] as const)('planned, %s, under pgbench: nothing lost, the promoted standby takes writes, the old pipeline is fenced', { timeout: 400_000 }, async (mode) => {
    await undemote();
    const prefix = uniquePrefix('prom');
    const standby: Standby = await fx.standby('postgres', `prom${mode}`);
    // pre-created as an operator would (pg_dump -s): identity and sequence defaults on the standby
    await standby.query(`${pgbenchHistory(true)}; ${ORDERS}`);
    const file = fx.config(prefix, { mode, standby: { id: 'dr', url: standby.url } });
    const app = fx.apply(file);
    const cap = fx.capture(file);
    await fx.waitCaughtUpWhileRunning(prefix, standby, app);

    // a protected standby: an application session pointed at it by mistake cannot write
    expect(await tryInsert(standby.url, `INSERT INTO orders (note) VALUES ('mistake')`)).toMatch(/read-only transaction/);

    // the source's sequence runs ahead of its rows (rolled-back inserts do that)
    await fx.admin.query(`SELECT setval('orders_id_seq', (SELECT max(id) FROM orders) + 10)`);
    const { child: bench, output } = runPgbench(fx.db.url, 2, 300);
    await new Promise((r) => setTimeout(r, 3000));
    const json = join(tmpdir(), `${prefix}-promote.json`);
    const r = await fx.run(['promote', '-c', file, '--demote-source', '--json', json], 300_000);
    bench.kill('SIGINT');
    expect(r.code, r.stdout + r.stderr.slice(-3000)).toBe(0);
    const report = JSON.parse(readFileSync(json, 'utf8'));
    console.log(r.stdout.trim());
    expect(report.kind).toBe('planned');
    expect(report.verified).toBe(true);
    expect(report.promotedVersion).toBe(report.cutVersion);
    expect(report.sourceVersionAfter).toBe(report.cutVersion);
    expect(report.demoted.terminated).toBeGreaterThanOrEqual(2); // pgbench's two sessions
    expect(r.stdout).toContain('nothing lost');

    // RPO 0 by the test's own comparison; the workload really wrote during the switchover
    await fx.expectStandbyEqualsSource(standby);
    const history = Number((await standby.query('SELECT count(*) AS n FROM pgbench_history'))[0].n);
    expect(history, output()).toBeGreaterThan(100);

    // the demoted source refuses new writers
    expect(await tryInsert(fx.db.url, `INSERT INTO orders (note) VALUES ('late')`)).toMatch(/read-only transaction/);

    // the promoted standby takes writes from an ordinary session, keys from its identity and sequence
    const c = await fresh(standby.url);
    try {
      const maxHid = BigInt((await c.query('SELECT max(hid)::text AS m FROM pgbench_history')).rows[0].m);
      const hid = BigInt((await c.query(`INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES (1, 1, 1, 1, now()) RETURNING hid::text`)).rows[0].hid);
      expect(hid).toBeGreaterThan(maxHid);
      const src = await fresh(fx.db.url);
      const handedOut = Number((await src.query('SELECT last_value FROM orders_id_seq')).rows[0].last_value);
      const maxId = Number((await src.query('SELECT max(id) AS m FROM orders')).rows[0].m);
      await src.end();
      expect(handedOut).toBeGreaterThan(maxId); // the setval(60) above: the sequence is ahead of the rows
      const id = Number((await c.query(`INSERT INTO orders (note) VALUES ('after failover') RETURNING id`)).rows[0].id);
      expect(id).toBe(handedOut + 1); // past what the source handed out, not just past its rows
    } finally {
      await c.end();
    }

    // the old capture and applier stopped, and refuse to start again, saying why
    const capStopped = await stoppedWith(cap, 30_000);
    expect(capStopped.code, capStopped.error).toBe(2);
    expect(capStopped.error).toMatch(/capture stopped: the pipeline .* ended: standby dr was promoted/);
    const appStopped = await stoppedWith(app, 30_000);
    expect([2, 5], appStopped.error).toContain(appStopped.code);
    expect(appStopped.error).toMatch(/dr was promoted/);
    const again = await stoppedWith(fx.capture(file));
    expect(again.code).toBe(2);
    expect(again.error).toMatch(/capture refuses to publish: the pipeline .* ended: standby dr was promoted \(planned\)/);
    const applyAgain = await stoppedWith(fx.apply(file));
    expect(applyAgain.code).toBe(5);
    expect(applyAgain.error).toMatch(/was promoted at .*the applier refuses to write it/);
  });


  it('round trip: A -> B (promote, writes on B), failback, B -> A (promote back): A equals B', { timeout: 300_000 }, async () => {
    await undemote();
    const prefix = uniquePrefix('promrt');
    const b: Standby = await fx.standby('postgres', 'promrt');
    await b.query(`${pgbenchHistory(true)}; ${ORDERS}`);
    const file = fx.config(prefix, { standby: { id: 'site-b', url: b.url } });
    const app = fx.apply(file);
    fx.capture(file);
    await fx.waitCaughtUpWhileRunning(prefix, b, app);
    const there = await fx.run(['promote', '-c', file, '--demote-source'], 120_000);
    expect(there.code, there.stderr.slice(-3000)).toBe(0);

    // the application moved to B and writes there
    const onB = await fresh(b.url);
    await onB.query(`INSERT INTO orders (note) SELECT 'written on b' FROM generate_series(1, 30)`);
    await onB.query('UPDATE pgbench_accounts SET abalance = abalance + 7 WHERE aid <= 500');
    await onB.query('DELETE FROM pgbench_accounts WHERE aid BETWEEN 600 AND 610');
    await onB.end();

    const reversed = join(tmpdir(), `${prefix}-reversed.yaml`);
    const fb = await fx.run(['failback', '-c', file, '-o', reversed]);
    expect(fb.code, fb.stderr).toBe(0);
    expect(fb.stdout).toContain(`under topic prefix ${prefix}-r1`);
    const text = readFileSync(reversed, 'utf8');
    expect(text).toContain(`id: site-b`);
    fx.capture(reversed);
    fx.apply(reversed);
    // planned: promote waits until A (now the standby) caught up with B, verifies, then switches back
    const back = await fx.run(['promote', '-c', reversed, '--demote-source', '--wait', '180000'], 240_000);
    expect(back.code, back.stdout + back.stderr.slice(-3000)).toBe(0);
    expect(back.stdout).toContain('nothing lost');

    // A equals B, table by table, by the test's own SQL
    const onA = await fresh(fx.db.url);
    const onB2 = await fresh(b.url);
    try {
      for (const t of ['pgbench_branches', 'pgbench_tellers', 'pgbench_accounts', 'pgbench_history', 'orders']) {
        const sql = `SELECT coalesce(json_agg(x ORDER BY 1), '[]')::text AS j FROM (SELECT * FROM ${t} ORDER BY 1) x`;
        const a = (await onA.query(sql)).rows[0].j;
        expect(a, t).toBe((await onB2.query(sql)).rows[0].j);
      }
      expect(Number((await onA.query(`SELECT count(*) AS n FROM orders WHERE note = 'written on b'`)).rows[0].n)).toBe(30);
      // A is the primary again: it takes writes, keys past everything B handed out
      const id = Number((await onA.query(`INSERT INTO orders (note) VALUES ('back on a') RETURNING id`)).rows[0].id);
      expect(id).toBeGreaterThan(Number((await onB2.query('SELECT max(id) AS m FROM orders')).rows[0].m));
    } finally {
      await onA.end();
      await onB2.end();
    }
  });
});
