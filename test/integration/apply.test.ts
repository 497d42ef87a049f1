// The applier end to end, as real processes: PostgreSQL source -> Kafka -> PostgreSQL and MariaDB
// standbys. Transactional consistency under a concurrent reader, SIGKILL of the applier, and a
// change the standby refuses.
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { usePipeline, type Standby } from '../support/pipeline-fixture.ts';
import { sleep, uniquePrefix } from '../support/pipeline.ts';

const ACCOUNTS = 200;
const TOTAL = ACCOUNTS * 1000;

const fx = usePipeline({
  name: 'bank',
  sourceId: 'bank',
  schema: `
    CREATE TABLE accounts (id int PRIMARY KEY, owner text NOT NULL, balance numeric(14,2) NOT NULL);
    CREATE TABLE transfers (id bigserial PRIMARY KEY, src int, dst int, amount numeric(10,2), note varchar(200), at timestamptz DEFAULT now());
    INSERT INTO accounts SELECT g, 'owner ' || g, 1000 FROM generate_series(1, ${ACCOUNTS}) g;`,
  tables: ['public.accounts', 'public.transfers'],
  config: { source: { pollIntervalMs: 50, maxBatchRows: 500 }, kafka: { partitions: 2 }, standby: { mergeBatches: 5 } },
});

/** A config applying to `standby` under the standby id `id`. */
const config = (prefix: string, id: string, standby: Standby) => fx.config(prefix, { standby: { id, url: standby.url } });

/** Money moves between accounts in multi-table transactions; the total never changes. */
function startTransfers(): { stop: () => Promise<number> } {
  const c = new pg.Client({ connectionString: fx.db.url });
  let stopping = false;
  let n = 0;
  const loop = (async () => {
    await c.connect();
    while (!stopping) {
      const a = 1 + Math.floor(Math.random() * ACCOUNTS);
      const b = 1 + Math.floor(Math.random() * ACCOUNTS);
      const amount = (1 + Math.floor(Math.random() * 5000)) / 100;
      await c.query('BEGIN');
      await c.query('UPDATE accounts SET balance = balance - $1 WHERE id = $2', [amount, a]);
      await c.query('UPDATE accounts SET balance = balance + $1 WHERE id = $2', [amount, b]);
      await c.query('INSERT INTO transfers (src, dst, amount) VALUES ($1, $2, $3)', [a, b, amount]);
      await c.query('COMMIT');
      n++;
    }
  })();
  return { stop: async () => { stopping = true; await loop; await c.end(); return n; } };
}

/** Reads the standby's sum of balances over and over; every read must see the exact total. */
function startInvariantReader(standby: Standby) {
  const sql = standby.kind === 'postgres' ? `SELECT sum(balance)::text AS s FROM public.accounts` : `SELECT CAST(SUM(balance) AS CHAR) AS s FROM accounts`;
  let stopping = false;
  const seen: string[] = [];
  let reads = 0;
  const loop = (async () => {
    while (!stopping) {
      const total: string | null = await standby.query(sql).then((rows) => rows[0]?.s ?? null, () => null);
      if (total !== null) {
        reads++;
        if (Number(total) !== TOTAL) seen.push(total);
      }
      await sleep(5);
    }
  })();
  return {
    /** resolves once the reader has read `n` times (a slow machine reads less often: wait, do not assume) */
    readsAtLeast: async (n: number) => {
      for (const until = Date.now() + 120_000; reads < n && Date.now() < until;) await sleep(50);
    },
    stop: async () => { stopping = true; await loop; return { reads, violations: seen }; },
  };
}

/** A new standby, capture and apply running on it (the applier started). */
async function startPipeline(kind: 'postgres' | 'mariadb', prefix: string, id: string) {
  const standby = await fx.standby(kind, 'sby');
  const topics = uniquePrefix(prefix);
  const file = config(topics, id, standby);
  const cap = fx.capture(file);
  const app = fx.apply(file);
  await app.waitFor('apply running');
  return { standby, topics, file, cap, app };
}

/**
 * Stops the transfers, waits for the standby to apply the source's version, then: no read saw a
 * wrong total, there were reads, and the standby equals the source. Returns the transfers made.
 */
async function stopAndCompare(prefix: string, standby: Standby, transfers: ReturnType<typeof startTransfers>, inv: ReturnType<typeof startInvariantReader>): Promise<number> {
  const n = await transfers.stop();
  await fx.waitStandbyCaughtUp(prefix, standby);
  const { reads, violations } = await inv.stop();
  expect(violations).toEqual([]);
  expect(reads).toBeGreaterThan(50);
  await fx.expectStandbyEqualsSource(standby);
  return n;
}

describe('apply', () => {
  it('PostgreSQL -> PostgreSQL: a reader never sees a half-applied transaction; applier SIGKILLed 10 times applies nothing twice', async () => {
    const { standby, topics, file, cap, app: first } = await startPipeline('postgres', 'pg2pg', 'pg-standby');
    let app = first;
    // proof of exactly-once: every standby transaction writes ctrelay_state once; log each write
    await standby.waitApplied(0n);
    await standby.query(`CREATE TABLE public.state_audit (n bigserial, batch_seq bigint)`);
    await standby.query(`CREATE FUNCTION public.audit_state() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO public.state_audit (batch_seq) VALUES (NEW.batch_seq); RETURN NEW; END $$`);
    await standby.query(`CREATE TRIGGER audit AFTER INSERT OR UPDATE ON ctrelay.ctrelay_state FOR EACH ROW EXECUTE FUNCTION public.audit_state()`);
    // apply transactions run as a replica (standby triggers do not fire): this audit must fire anyway
    await standby.query(`ALTER TABLE ctrelay.ctrelay_state ENABLE ALWAYS TRIGGER audit`);
    const inv = startInvariantReader(standby);
    const transfers = startTransfers();
    for (let i = 0; i < 10; i++) {
      await app.waitFor('apply running');
      await sleep(400 + Math.floor(Math.random() * 1200));
      await app.kill('SIGKILL');
      app = fx.apply(file);
    }
    await inv.readsAtLeast(51);
    expect(await stopAndCompare(topics, standby, transfers, inv)).toBeGreaterThan(20);
    const audit = (await standby.query(`SELECT batch_seq::text AS s FROM public.state_audit ORDER BY n`)).map((r) => BigInt(r.s));
    expect(audit.length).toBeGreaterThan(5);
    for (let i = 1; i < audit.length; i++) expect(audit[i]).toBeGreaterThan(audit[i - 1]);
    await app.kill('SIGTERM');
    expect(await app.exited).toBe(0);
    await cap.kill('SIGTERM');
  });

  it('PostgreSQL -> MariaDB: the invariant holds in every read and the standby equals the source', async () => {
    const { standby, topics, cap, app } = await startPipeline('mariadb', 'pg2maria', 'maria-standby');
    const inv = startInvariantReader(standby);
    const transfers = startTransfers();
    await sleep(5000);
    await inv.readsAtLeast(51);
    await stopAndCompare(topics, standby, transfers, inv);
    await app.kill('SIGTERM');
    await cap.kill('SIGTERM');
  });

  it('stops on a change the standby refuses, naming table, key and batch; continues after the fix', async () => {
    const standby = await fx.standby('postgres', 'sbyfix');
    const prefix = uniquePrefix('refuse');
    const file = config(prefix, 'pg-fix', standby);
    const cap = fx.capture(file);
    let app = fx.apply(file);
    // the whole snapshot applied (the earlier tests left thousands of transfers: several windows)
    await fx.waitStandbyCaughtUp(prefix, standby);
    // a rule of the standby's own the source does not have (a narrowed column would simply be
    // widened back by the applier): the standby refuses the row
    await standby.query(`ALTER TABLE public.transfers ADD CONSTRAINT note_short CHECK (note IS NULL OR length(note) <= 5) NOT VALID`);
    const batchSeq = async () => BigInt((await standby.query(`SELECT batch_seq::text AS s FROM ctrelay.ctrelay_state`))[0].s);
    const before = await batchSeq();
    const bad = await fx.admin.query(`INSERT INTO transfers (src, dst, amount, note) VALUES (1, 2, 0, 'far too long for five') RETURNING id`);
    const badId = bad.rows[0].id;
    await fx.admin.query(`INSERT INTO transfers (src, dst, amount, note) VALUES (1, 2, 0, 'later')`);
    const code = await app.exited;
    expect(code).not.toBe(0);
    const err = app.stderr();
    expect(err).toMatch(/error: .*public\.transfers/);
    expect(err).toContain(`id=${badId}`);
    expect(err).toMatch(/batch \d+/);
    expect(err).not.toMatch(/^\s+at /m);
    // nothing of that batch or after it reached the standby
    expect((await standby.query(`SELECT count(*)::int AS n FROM public.transfers WHERE note = 'later'`))[0].n).toBe(0);
    expect(await batchSeq()).toBe(before);
    await standby.query(`ALTER TABLE public.transfers DROP CONSTRAINT note_short`);
    app = fx.apply(file);
    await fx.waitStandbyCaughtUp(prefix, standby);
    await fx.expectStandbyEqualsSource(standby);
    // TRUNCATE at the source: change tracking cannot say which rows went, capture re-snapshots the
    // table and the applier rewrites it whole, so no truncated row lingers on the standby
    await fx.admin.query(`TRUNCATE transfers`);
    await fx.admin.query(`INSERT INTO transfers (src, dst, amount, note) VALUES (3, 4, 1, 'after truncate'), (4, 3, 1, 'again')`);
    await fx.waitStandbyCaughtUp(prefix, standby);
    await cap.waitFor(/"reason":"cursor \d+ is below the min valid version/);
    await fx.expectStandbyEqualsSource(standby);
    expect((await standby.query(`SELECT count(*)::int AS n FROM public.transfers`))[0].n).toBe(2);
    await app.kill('SIGTERM');
    await cap.kill('SIGTERM');
  });
});
