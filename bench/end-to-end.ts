// A snapshot end to end as an operator runs it: `ctrelay capture` and `ctrelay apply` started as
// real processes in the same moment, default settings, a fresh topic prefix and a fresh PostgreSQL
// standby; timed from the spawn to the standby holding every source row (start-up, topic creation,
// schema publication, capture, Kafka and apply all included).
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
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

/** Milliseconds from spawning capture and apply to the standby holding `rows` rows of the source table. */
export async function snapshotEndToEnd(sourceUrl: string, rows: number): Promise<number> {
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
    for (;;) {
      for (const [name, p] of [['capture', capture], ['apply', apply]] as const) {
        if (p.child.exitCode !== null) throw new Error(`ctrelay ${name} exited with ${p.child.exitCode}:\n${p.output()}`);
      }
      const r = await c.query(`SELECT count(*)::int AS n FROM ${TABLE_NAME}`).catch(() => null);
      if (r && r.rows[0].n === rows) return performance.now() - t0;
      await sleep(20);
    }
  } finally {
    await Promise.all([stop(capture.child), stop(apply.child)]);
    await c.end();
    await standby.drop();
    rmSync(dir, { recursive: true, force: true });
  }
}
