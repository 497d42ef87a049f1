// `ctrelay verify` while a real pgbench TPC-B workload (2 clients) runs on the source and capture and
// apply replicate it to a PostgreSQL and a MariaDB standby: every verify reports 0 differences (no
// false positive from rows in flight), repeatedly, on both standbys. The tables are pgbench's own at
// scale 10 (1,000,000 accounts), created as `pgbench -i -s 10` creates them; pgbench_history has no
// primary key and is not replicated.
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { pgbenchSchema, runPgbench } from '../support/pgbench.ts';
import { usePipeline, type Standby } from '../support/pipeline-fixture.ts';
import { uniquePrefix, type Proc } from '../support/pipeline.ts';

const SCALE = 10;

const fx = usePipeline({
  name: 'vload',
  schema: pgbenchSchema(SCALE),
  tables: ['public.pgbench_branches', 'public.pgbench_tellers', 'public.pgbench_accounts'],
  config: { source: { pollIntervalMs: 100, maxBatchRows: 20_000, snapshotChunkRows: 50_000 } },
});

describe('ctrelay verify under a running pgbench workload', () => {
  it('reports 0 differences on a PostgreSQL and a MariaDB standby, repeatedly, while changes are in flight', { timeout: 600_000 }, async () => {
    const prefix = uniquePrefix('vload');
    const appliers: { standby: Standby; app: Proc; id: string }[] = [];
    for (const kind of ['postgres', 'mariadb'] as const) {
      const standby = await fx.standby(kind, `vl${kind.slice(0, 2)}`);
      const id = `${kind}-load`;
      appliers.push({ standby, app: fx.apply(fx.config(prefix, { standby: { id, url: standby.url, mergeBatches: 20 } })), id });
    }
    fx.capture(fx.config(prefix));
    for (const a of appliers) await fx.waitCaughtUpWhileRunning(prefix, a.standby, a.app);

    const { child: bench, output } = runPgbench(fx.db.url, 2, 600);
    try {
      await new Promise((r) => setTimeout(r, 3000));
      const before = Number((await fx.admin.query('SELECT count(*) FROM pgbench_history')).rows[0].count);
      let inFlight = 0;
      // both standbys, then the PostgreSQL one again (a fourth full verify would add most of a minute to CI)
      for (const [round, a] of [appliers[0], appliers[1], appliers[0]].entries()) {
        const json = join(tmpdir(), `${prefix}-${a.id}-${round}.json`);
        const r = await fx.run(['verify', '-c', fx.config(prefix, { standby: { id: a.id, url: a.standby.url } }), '--json', json, '--wait', '30000'], 300_000);
        const report = JSON.parse(readFileSync(json, 'utf8')) as { tables: { table: string; rows: string; differences: number; unsettled: string[]; candidates: number }[] };
        expect(report.tables.map((t) => [t.table, t.differences, t.unsettled.length]), `${a.id} round ${round}:\n${r.stdout}${r.stderr.slice(-2000)}`).toEqual([
          ['public.pgbench_branches', 0, 0],
          ['public.pgbench_tellers', 0, 0],
          ['public.pgbench_accounts', 0, 0],
        ]);
        expect(report.tables[2].rows).toBe(String(SCALE * 100_000));
        expect(r.code).toBe(0);
        inFlight += report.tables.reduce((n, t) => n + t.candidates, 0);
        console.log(`verify ${a.id} round ${round}: ${report.tables.map((t) => `${t.table} ${t.candidates} in flight`).join(', ')}; ${r.stdout.trim().split('\n').at(-1)}`);
      }
      // rows were in flight (found differing at first, then settled), else this test proved nothing
      expect(inFlight).toBeGreaterThan(0);
      // the workload really ran during the verifies
      const after = Number((await fx.admin.query('SELECT count(*) FROM pgbench_history')).rows[0].count);
      expect(after - before, output()).toBeGreaterThan(500);
      expect(bench.exitCode, output()).toBeNull();
    } finally {
      bench.kill('SIGINT');
    }
  });
});
