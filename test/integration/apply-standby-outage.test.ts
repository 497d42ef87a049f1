// Acceptance: a standby connection killed mid-apply (the applier's backend terminated with
// pg_terminate_backend while it writes) is waited out, and the standby ends equal to the source.
// Real processes: PostgreSQL source -> `ctrelay capture` -> Kafka -> `ctrelay apply` -> PostgreSQL
// standby, with inserts, updates and deletes running on two tables the whole time.
//
// Why this fails on the code before the fix: there, an error thrown by a data statement of the
// standby transaction (tx.delete / tx.upsert in src/apply/applier.ts) was wrapped into
// ApplyRefusedError whatever it was, and ApplyRefusedError is permanent: the applier logged it and
// exited, as for a row the standby refuses. Every kill below is made only while an applier backend
// is `active` in such a statement (an INSERT INTO / DELETE FROM of a replicated table, inside a
// transaction that already has an xid), so the statement in flight fails with 57P01 "terminating
// connection due to administrator command". The test asserts that at least one kill landed that
// way, and that afterwards the applier is still running: before the fix the first such kill ends
// the process (exit 5), the bounded waits below fail fast on it, and so does the liveness check.
// (Checked once on a copy of the tree with the applier's `if (isTransient(err)) throw err;` removed:
// the applier exited 5 on the first kill, "cannot apply batch 3 (source table public.events) to
// the standby: cannot upsert 227 row(s) ...: terminating connection due to administrator command
// [57P01]", and this test failed after 3.5 s.)
import { describe, expect, it } from 'vitest';
import { usePipeline, type Standby } from '../support/pipeline-fixture.ts';
import { sleep, uniquePrefix, until, type Proc } from '../support/pipeline.ts';
import { startWorkload } from '../support/workload.ts';

const TABLES = ['items', 'events'];
const KILLS = 8;

const fx = usePipeline({
  name: 'outage',
  sourceId: 'outage',
  schema: `
    CREATE TABLE items (id bigint PRIMARY KEY, name text, qty int, price numeric(12,2), at timestamptz);
    INSERT INTO items SELECT g, 'n' || g, g % 10, 1.25, now() FROM generate_series(1, 5000) g;
    CREATE TABLE events (id bigint PRIMARY KEY, kind text, payload text, at timestamptz);
    INSERT INTO events SELECT g, 'k' || (g % 7), repeat('p', 40), now() FROM generate_series(1, 5000) g;`,
  tables: TABLES.map((t) => `public.${t}`),
  // a small poll interval and many rows per source transaction (below): the applier is writing
  // most of the time, in statements of hundreds to thousands of rows
  config: { source: { pollIntervalMs: 50, maxBatchRows: 5000 }, kafka: { partitions: 2 }, standby: { mergeBatches: 10 } },
});

/**
 * Terminates every applier backend of the standby, but only at a moment when one of them is in
 * the middle of a data statement: an INSERT INTO / DELETE FROM a replicated table, running, in a
 * transaction that has already written (backend_xid). One row per backend it tried to terminate;
 * none while no write is in flight.
 */
const KILL_IN_WRITE = `
  WITH applier AS (
    SELECT pid, state, left(query, 80) AS query,
           state = 'active' AND backend_xid IS NOT NULL AND query ~ '^(INSERT INTO|DELETE FROM) "public"\\.' AS writing
    FROM pg_stat_activity
    WHERE datname = $1 AND application_name = 'ctrelay-applier')
  SELECT pid, state, query, writing, pg_terminate_backend(pid) AS terminated
  FROM applier WHERE EXISTS (SELECT 1 FROM applier WHERE writing)`;

interface Kill { pid: number; state: string; query: string; writing: boolean; terminated: boolean }

/** Throws (with its log) when the applier process is gone: nothing below may wait for a dead one. */
function expectRunning(app: Proc): void {
  if (app.child.exitCode !== null || app.child.signalCode !== null) {
    throw new Error(`the applier exited (code ${app.child.exitCode}, signal ${app.child.signalCode}):\n${app.stderr().slice(-4000)}`);
  }
}

/** Each table's rows as text, in key order, read with the test's own SQL. */
async function rowsOf(query: (sql: string) => Promise<{ r: string }[]>): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const t of TABLES) out[t] = (await query(`SELECT (t.*)::text AS r FROM public.${t} t ORDER BY id`)).map((x) => x.r);
  return out;
}

describe('standby outage mid-apply', () => {
  it('a standby connection killed mid-apply is waited out and the standby ends equal to the source', async () => {
    const standby: Standby = await fx.standby('postgres', 'outsby');
    const file = fx.config(uniquePrefix('outage'), { standby: { id: 'outage-standby', url: standby.url } });
    const cap = fx.capture(file);
    const app = fx.apply(file);
    await cap.waitFor('capture running');
    await app.waitFor('apply running');
    await standby.waitApplied(await fx.currentVersion());

    const workloads = [
      startWorkload(fx.db.url, {
        insert: `INSERT INTO items (id, name, qty, price, at) VALUES ($1::bigint, 'w' || $1::bigint, 1, 1.5, now())`,
        update: `UPDATE items SET qty = qty + 1, name = name || '.', at = now() WHERE id = $1`,
        maxId: 5000, rowsPerTransaction: 300, pauseMs: 10,
      }),
      startWorkload(fx.db.url, {
        table: 'events',
        insert: `INSERT INTO events (id, kind, payload, at) VALUES ($1::bigint, 'new', md5($1::text), now())`,
        update: `UPDATE events SET payload = md5(payload), at = now() WHERE id = $1`,
        maxId: 5000, rowsPerTransaction: 300, pauseMs: 10,
      }),
    ];

    const appliedWhileRunning = async () => {
      expectRunning(app);
      return (await standby.appliedVersion()) ?? -1n;
    };
    const kills: Kill[][] = [];
    try {
      for (let i = 0; i < KILLS; i++) {
        // a bounded wait for a write in flight, polled tightly so the kill lands inside it
        const killed = await until(
          async () => {
            expectRunning(app);
            return (await standby.query(KILL_IN_WRITE, [standby.name])) as Kill[];
          },
          (rows) => rows.length > 0,
          'an applier backend in the middle of a write',
          60_000,
          5,
        );
        kills.push(killed);
        // the applier comes back: it commits a window past what the standby held at the kill
        // (which also resets its backoff, so the next kill again meets a running applier)
        const held = (await standby.appliedVersion()) ?? -1n;
        await until(appliedWhileRunning, (v) => v > held, `the standby to move past version ${held} after kill ${i + 1}`, 90_000, 100);
        await sleep(300);
      }
    } finally {
      for (const w of workloads) await w.stop();
    }

    // every kill terminated the backend that was writing; count what pg_terminate_backend did
    const terminated = kills.flat().filter((k) => k.terminated);
    const inWrite = kills.flat().filter((k) => k.terminated && k.writing);
    console.log(`[standby outage] ${KILLS} kills: ${terminated.length} backends terminated, ${inWrite.length} of them mid-write: ${JSON.stringify(inWrite.map((k) => k.query.slice(0, 40)))}`);
    expect(terminated.length).toBeGreaterThanOrEqual(1);
    expect(inWrite.length).toBeGreaterThanOrEqual(1);

    // the standby reaches the source's version with the applier that was killed under
    const target = await fx.currentVersion();
    await until(appliedWhileRunning, (v) => v >= target, `the standby to apply version ${target}`, 120_000, 200);

    // the applier is alive, and it retried: its log shows the failure with the kill's error
    expect(app.child.exitCode).toBeNull();
    expect(app.child.signalCode).toBeNull();
    const retries = app.stderr().split('\n').filter((l) => l.includes('apply failed; resuming from the standby state'));
    expect(retries.length, app.stderr().slice(-3000)).toBeGreaterThanOrEqual(1);
    expect(retries.some((l) => l.includes('terminating connection due to administrator command')), retries.join('\n').slice(-3000)).toBe(true);

    // every row of every replicated table on the standby equals the source, by the test's own SQL
    const source = await rowsOf(async (sql) => (await fx.admin.query(sql)).rows);
    const replica = await rowsOf((sql) => standby.query(sql));
    for (const t of TABLES) expect(source[t].length, t).toBeGreaterThan(5000);
    expect(replica).toEqual(source);

    await app.kill('SIGTERM');
    expect(await app.exited, app.stderr().slice(-2000)).toBe(0);
    await cap.kill('SIGTERM');
  });
});
