// A snapshot end to end as an operator runs it: `ctrelay capture` and `ctrelay apply` started as
// real processes in the same moment, default settings, a fresh topic prefix and a fresh PostgreSQL
// standby; timed from the spawn to the standby holding every source row (start-up, topic creation,
// schema publication, capture, Kafka and apply all included).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { createPgDatabase } from '../test/support/db.ts';
import { BROKERS, sleep, TABLE_NAME, uniquePrefix } from './support.ts';

const CTRELAY = join(dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'ctrelay.js');

/** `ctrelay <cmd> -c <config>` as a child process; output() keeps its last 4,000 characters. */
export function run(cmd: string, config: string): { child: ChildProcess; output: () => string } {
  const child = spawn(process.execPath, [CTRELAY, cmd, '-c', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out = (out + d).slice(-4000)));
  child.stderr!.on('data', (d) => (out = (out + d).slice(-4000)));
  return { child, output: () => out };
}

/** SIGTERM, then SIGKILL after 10 s. */
export async function stop(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return;
  const exited = new Promise((r) => p.once('exit', r));
  p.kill('SIGTERM');
  await Promise.race([exited, sleep(10_000)]);
  if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
}

/** Peak resident memory of a running process in MiB (VmHWM of /proc/<pid>/status). */
export function peakRssMiB(pid: number): number {
  const kb = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return kb ? Number(kb[1]) / 1024 : NaN;
}

export interface EndToEnd {
  ms: number;
  captureRssMiB: number;
  applyRssMiB: number;
}

/**
 * From spawning capture and apply to the standby holding `rows` rows of the source table, and the
 * peak RSS of both processes. The standby's row count is read only when its ctrelay_state moved
 * (a cheap read every 20 ms), so that counting a large table does not slow the pipeline down.
 */
export async function snapshotEndToEnd(sourceUrl: string, rows: number): Promise<EndToEnd> {
  const standby = await createPgDatabase('ctr_bench_e2e');
  const dir = mkdtempSync(join(tmpdir(), 'ctrelay-e2e-'));
  const config = join(dir, 'ctrelay.yaml');
  writeFileSync(config, [
    'source:', `  url: ${sourceUrl}`, `  tables: [${TABLE_NAME}]`,
    'kafka:', `  brokers: [${BROKERS.join(', ')}]`, `  topicPrefix: ${uniquePrefix('e2e')}`,
    'standby:', `  id: e2e-${standby.name}`, `  url: ${standby.url}`,
    // the benchmark's own ports, so that a pipeline running on the defaults does not matter
    'http:', '  capture: { port: 19464 }', '  apply: { port: 19465 }', '',
  ].join('\n'));
  const c = new pg.Client({ connectionString: standby.url });
  await c.connect();
  const t0 = performance.now();
  const capture = run('capture', config);
  const apply = run('apply', config);
  try {
    let state: string | null = null;
    for (;;) {
      for (const [name, p] of [['capture', capture], ['apply', apply]] as const) {
        if (p.child.exitCode !== null) throw new Error(`ctrelay ${name} exited with ${p.child.exitCode}:\n${p.output()}`);
      }
      const st = await c.query(`SELECT string_agg(version::text, ',') AS v FROM ctrelay.ctrelay_state`).catch(() => null);
      const now = st?.rows[0].v ?? null;
      if (now !== null && now !== state) {
        state = now;
        const r = await c.query(`SELECT count(*)::int AS n FROM ${TABLE_NAME}`).catch(() => null);
        if (r && r.rows[0].n === rows) {
          return { ms: performance.now() - t0, captureRssMiB: peakRssMiB(capture.child.pid!), applyRssMiB: peakRssMiB(apply.child.pid!) };
        }
      }
      await sleep(20);
    }
  } finally {
    await Promise.all([stop(capture.child), stop(apply.child)]);
    await c.end();
    await standby.drop();
    rmSync(dir, { recursive: true, force: true });
  }
}
