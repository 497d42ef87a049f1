// `ctrelay drill --kind unplanned` with real capture and apply processes while a workload commits
// ~2,000 rows/s: the drill's RPO (changes lost) equals what the test counts itself (rows committed
// by the cut version that the promoted standby lacks), and every write a standby had acknowledged
// through capture's /v1/wait is on the promoted standby, in async and in sync mode. The workload
// keeps writing through and after the cut (the source is still there in a drill).
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { usePipeline, type Standby } from '../support/pipeline-fixture.ts';
import { uniquePrefix } from '../support/pipeline.ts';

const fx = usePipeline({
  name: 'drill',
  schema: `CREATE TABLE work (id bigserial PRIMARY KEY, v text)`,
  tables: ['public.work'],
  config: { source: { pollIntervalMs: 300 } },
});

/** Inserts 50 rows per transaction every ~10 ms until stopped; remembers each commit's last id and version. */
function workload(url: string) {
  const commits: { id: number; version: bigint }[] = [];
  let stop = false;
  const done = (async () => {
    const c = new pg.Client({ connectionString: url });
    // a planned drill demotes the source and ends this session: the workload stops there
    c.on('error', () => undefined);
    await c.connect();
    try {
      while (!stop) {
        const r = await c.query(`INSERT INTO work (v) SELECT 'w' FROM generate_series(1, 50) RETURNING id`);
        const v = await c.query('SELECT ctrelay.current_version()::text AS v');
        commits.push({ id: Math.max(...r.rows.map((x) => Number(x.id))), version: BigInt(v.rows[0].v) });
        await new Promise((res) => setTimeout(res, 10));
      }
    } catch (err) {
      if (!/terminating connection|read-only transaction|Connection terminated|connection error/.test((err as Error).message)) throw err;
    } finally {
      await c.end().catch(() => undefined);
    }
  })();
  return { commits, stop: async () => { stop = true; await done; } };
}

describe('ctrelay drill', () => {
  it.each(['async', 'sync'] as const)('unplanned, %s, ~2,000 rows/s: RPO as counted by the test, no acknowledged write lost', { timeout: 300_000 }, async (mode) => {
    const prefix = uniquePrefix(`drill${mode}`);
    const standby: Standby = await fx.standby('postgres', `dr${mode}`);
    const file = fx.config(prefix, { mode, standby: { id: `dr-${mode}`, url: standby.url } });
    const app = fx.apply(file);
    const { url: captureUrl } = await fx.captureRunning(file);
    await fx.waitCaughtUpWhileRunning(prefix, standby, app);

    const work = workload(fx.db.url);
    // what /v1/wait confirmed: every row up to the id of a commit whose version a standby applied
    let acknowledgedId = 0;
    let acking = true;
    const acker = (async () => {
      while (acking) {
        const last = work.commits.at(-1);
        if (last) {
          const r = await fetch(`${captureUrl}/v1/wait?version=${last.version}&timeout=2000`).catch(() => null);
          if (r?.status === 200) acknowledgedId = Math.max(acknowledgedId, last.id);
        }
        await new Promise((res) => setTimeout(res, 50));
      }
    })();
    let json = '';
    let started = 0;
    let stdout = '';
    try {
      await new Promise((r) => setTimeout(r, 2000));
      started = work.commits.length;
      json = join(tmpdir(), `${prefix}-drill.json`);
      const md = join(tmpdir(), `${prefix}-drill.md`);
      const r = await fx.run(['drill', '-c', file, '--kind', 'unplanned', '--cut-within', '2s', '--objective-rto', '60s', '--json', json, '--report', md], 200_000);
      stdout = r.stdout;
      expect(r.code, r.stdout + r.stderr.slice(-3000)).toBe(0);
      expect(readFileSync(md, 'utf8')).toContain(`# Failover drill: unplanned, ${mode} mode`);
    } finally {
      acking = false;
      await acker;
      await work.stop();
    }
    const rate = ((work.commits.length - started) * 50) / 4;
    console.log(`drill ${mode}: ${stdout.trim()} (workload ~${Math.round(rate)} rows/s during the drill)`);
    const report = JSON.parse(readFileSync(json, 'utf8'));

    // the test's own count: rows committed by the cut version that the promoted standby lacks
    const cut = report.cut.version as string;
    const src = await fx.admin.query(`SELECT w.id FROM work w JOIN ctrelay.txn x ON xid(x.xid) = w.xmin WHERE x.version <= $1::bigint`, [cut]);
    const onStandby = new Set((await standby.query('SELECT id FROM work')).map((x) => Number(x.id)));
    const lost = src.rows.map((x) => Number(x.id)).filter((id) => !onStandby.has(id));
    expect(report.rpo.changes).toBe(lost.length);
    expect(report.rpo.perTable['public.work'] ?? 0).toBe(lost.length);
    // rows were in flight at the cut, else the count proved nothing
    if (mode === 'async') expect(lost.length).toBeGreaterThan(0);
    expect(lost.length > 0).toBe(report.rpo.seconds > 0);
    // nothing on the standby that the source does not have
    const all = new Set((await fx.admin.query('SELECT id FROM work')).rows.map((x) => Number(x.id)));
    expect([...onStandby].filter((id) => !all.has(id))).toEqual([]);
    // every acknowledged write is on the promoted standby
    expect(acknowledgedId).toBeGreaterThan(0);
    const missing = [...all].filter((id) => id <= acknowledgedId && !onStandby.has(id));
    expect(missing).toEqual([]);
    expect(report.rpo.acknowledgedLost).toBe(false);
    expect(report.rto.seconds).toBeGreaterThan(0);
  });

  // last: it demotes the source database for good
  it('planned: nothing lost, verified; an objective missed is exit 1 and says so', { timeout: 300_000 }, async () => {
    const prefix = uniquePrefix('drillp');
    const standby: Standby = await fx.standby('postgres', 'drplan');
    const file = fx.config(prefix, { standby: { id: 'dr-planned', url: standby.url } });
    const app = fx.apply(file);
    fx.capture(file);
    await fx.waitCaughtUpWhileRunning(prefix, standby, app);
    const work = workload(fx.db.url);
    await new Promise((r) => setTimeout(r, 1500));
    const json = join(tmpdir(), `${prefix}-drill.json`);
    // an RTO objective no failover can meet: the drill runs, reports, and exits 1
    const r = await fx.run(['drill', '-c', file, '--kind', 'planned', '--objective-rpo', '0s', '--objective-rto', '1ms', '--json', json], 200_000);
    await work.stop();
    expect(r.code, r.stdout + r.stderr.slice(-3000)).toBe(1);
    expect(r.stdout).toMatch(/drill planned \(async\): RPO 0 change\(s\), 0\.000 s; RTO .*objectives MISSED/);
    const report = JSON.parse(readFileSync(json, 'utf8'));
    expect(report.objectives).toMatchObject({ rpoMet: true, rtoMet: false });
    expect(report.promote.verified).toBe(true);
    expect(report.rpo.changes).toBe(0);
    await fx.reconnectAdmin();
    await fx.expectStandbyEqualsSource(standby);
  });
});
