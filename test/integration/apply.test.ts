// The applier end to end, as real processes: PostgreSQL source -> Kafka -> PostgreSQL and MariaDB
// standbys. Transactional consistency under a concurrent reader, SIGKILL of the applier, and a
// change the standby refuses.
import mysql from 'mysql2/promise';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TableMeta } from '../../src/core/model.ts';
import { ctEnable } from '../../src/sources/postgres/ct-admin.ts';
import { createDialect } from '../../src/standby/create-dialect.ts';
import { createMariaDatabase, createPgDatabase, type ThrowawayDb } from '../support/db.ts';
import { kafkaBrokers } from '../support/kafka.ts';
import { canonical, sleep, sourceRows, spawnCtrelay, uniquePrefix, writeConfig, type Proc } from '../support/pipeline.ts';

const ACCOUNTS = 200;
const TOTAL = ACCOUNTS * 1000;
let source: ThrowawayDb;
let admin: pg.Client;
const drops: ThrowawayDb[] = [];
const procs: Proc[] = [];

function start(args: string[]): Proc {
  const p = spawnCtrelay(args);
  procs.push(p);
  return p;
}

function config(prefix: string, standby: { id: string; url: string }, extra: Record<string, unknown> = {}) {
  return writeConfig({
    source: { id: 'bank', url: source.url, tables: ['public.accounts', 'public.transfers'], pollIntervalMs: 50, maxBatchRows: 500 },
    kafka: { brokers: kafkaBrokers(), topicPrefix: prefix, partitions: 2 },
    standby: { ...standby, mergeBatches: 5 },
    http: { capture: { port: 0 }, apply: { port: 0 } },
    ...extra,
  });
}

/** Money moves between accounts in multi-table transactions; the total never changes. */
function startTransfers(): { stop: () => Promise<number> } {
  const c = new pg.Client({ connectionString: source.url });
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

async function sourceVersion(): Promise<bigint> {
  return BigInt((await admin.query(`SELECT ctrelay.current_version()::text AS v`)).rows[0].v);
}

/** Reads the standby's sum of balances over and over; every read must see the exact total. */
function startInvariantReader(read: () => Promise<string | null>) {
  let stopping = false;
  const seen: string[] = [];
  let reads = 0;
  const loop = (async () => {
    while (!stopping) {
      const total = await read().catch(() => null);
      if (total !== null) {
        reads++;
        if (Number(total) !== TOTAL) seen.push(total);
      }
      await sleep(5);
    }
  })();
  return { stop: async () => { stopping = true; await loop; return { reads, violations: seen }; } };
}

async function waitApplied(readVersion: () => Promise<bigint | null>, version: bigint, timeoutMs = 120_000) {
  const t0 = Date.now();
  for (;;) {
    const v = await readVersion().catch(() => null);
    if (v !== null && v >= version) return;
    if (Date.now() - t0 > timeoutMs) throw new Error(`standby did not reach version ${version} (at ${v})`);
    await sleep(200);
  }
}

async function expectStandbyEqualsSource(kind: 'postgres' | 'mariadb', url: string, db: string) {
  const dialect = createDialect(kind, url);
  await dialect.connect();
  try {
    for (const table of ['accounts', 'transfers']) {
      const src = await sourceRows(source.url, { schema: 'public', table });
      const meta: TableMeta = { ...src.meta, schema: kind === 'postgres' ? 'public' : db };
      const { standbyRows } = await import('../support/pipeline.ts');
      expect(canonical(await standbyRows(dialect, meta))).toEqual(canonical(src.rows));
    }
  } finally {
    await dialect.close();
  }
}

beforeAll(async () => {
  source = await createPgDatabase('bank');
  admin = new pg.Client({ connectionString: source.url });
  await admin.connect();
  await admin.query(`CREATE TABLE accounts (id int PRIMARY KEY, owner text NOT NULL, balance numeric(14,2) NOT NULL)`);
  await admin.query(`CREATE TABLE transfers (id bigserial PRIMARY KEY, src int, dst int, amount numeric(10,2), note varchar(200), at timestamptz DEFAULT now())`);
  await admin.query(`INSERT INTO accounts SELECT g, 'owner ' || g, 1000 FROM generate_series(1, ${ACCOUNTS}) g`);
  await ctEnable(source.url, [{ schema: 'public', table: 'accounts' }, { schema: 'public', table: 'transfers' }]);
});

afterAll(async () => {
  for (const p of procs) await p.kill();
  await admin?.end();
  for (const d of drops) await d.drop().catch(() => undefined);
  await source?.drop();
});

describe('apply', () => {
  it('PostgreSQL -> PostgreSQL: a reader never sees a half-applied transaction; applier SIGKILLed 10 times applies nothing twice', async () => {
    const standby = await createPgDatabase('sby');
    drops.push(standby);
    const prefix = uniquePrefix('pg2pg');
    const file = config(prefix, { id: 'pg-standby', url: standby.url });
    const reader = new pg.Client({ connectionString: standby.url });
    await reader.connect();
    const cap = start(['capture', '-c', file]);
    let app = start(['apply', '-c', file]);
    await app.waitFor('apply running');
    // proof of exactly-once: every standby transaction writes ctrelay_state once; log each write
    await waitApplied(async () => BigInt((await reader.query(`SELECT version::text AS v FROM ctrelay.ctrelay_state`)).rows[0]?.v ?? -1), 0n);
    await reader.query(`CREATE TABLE public.state_audit (n bigserial, batch_seq bigint)`);
    await reader.query(`CREATE FUNCTION public.audit_state() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO public.state_audit (batch_seq) VALUES (NEW.batch_seq); RETURN NEW; END $$`);
    await reader.query(`CREATE TRIGGER audit AFTER INSERT OR UPDATE ON ctrelay.ctrelay_state FOR EACH ROW EXECUTE FUNCTION public.audit_state()`);
    const inv = startInvariantReader(async () => (await reader.query(`SELECT sum(balance)::text AS s FROM public.accounts`)).rows[0]?.s ?? null);
    const transfers = startTransfers();
    for (let i = 0; i < 10; i++) {
      await app.waitFor('apply running');
      await sleep(400 + Math.floor(Math.random() * 1200));
      await app.kill('SIGKILL');
      app = start(['apply', '-c', file]);
    }
    const n = await transfers.stop();
    expect(n).toBeGreaterThan(20);
    await waitApplied(async () => BigInt((await reader.query(`SELECT version::text AS v FROM ctrelay.ctrelay_state`)).rows[0].v), await sourceVersion());
    const { reads, violations } = await inv.stop();
    expect(violations).toEqual([]);
    expect(reads).toBeGreaterThan(50);
    await expectStandbyEqualsSource('postgres', standby.url, standby.name);
    const audit = (await reader.query(`SELECT batch_seq::text AS s FROM public.state_audit ORDER BY n`)).rows.map((r) => BigInt(r.s));
    expect(audit.length).toBeGreaterThan(5);
    for (let i = 1; i < audit.length; i++) expect(audit[i]).toBeGreaterThan(audit[i - 1]);
    await reader.end();
    await app.kill('SIGTERM');
    expect(await app.exited).toBe(0);
    await cap.kill('SIGTERM');
  });

  it('PostgreSQL -> MariaDB: the invariant holds in every read and the standby equals the source', async () => {
    const standby = await createMariaDatabase('sby');
    drops.push(standby);
    const prefix = uniquePrefix('pg2maria');
    const file = config(prefix, { id: 'maria-standby', url: standby.url });
    const reader = await mysql.createConnection(standby.url);
    const cap = start(['capture', '-c', file]);
    const app = start(['apply', '-c', file]);
    await app.waitFor('apply running');
    const inv = startInvariantReader(async () => {
      const [rows] = await reader.query(`SELECT CAST(SUM(balance) AS CHAR) AS s FROM accounts`);
      return (rows as { s: string | null }[])[0]?.s ?? null;
    });
    const transfers = startTransfers();
    await sleep(5000);
    await transfers.stop();
    await waitApplied(async () => {
      const [rows] = await reader.query(`SELECT CAST(version AS CHAR) AS v FROM ctrelay_state`);
      const v = (rows as { v: string }[])[0]?.v;
      return v === undefined ? null : BigInt(v);
    }, await sourceVersion());
    const { reads, violations } = await inv.stop();
    expect(violations).toEqual([]);
    expect(reads).toBeGreaterThan(50);
    await expectStandbyEqualsSource('mariadb', standby.url, standby.name);
    await reader.end();
    await app.kill('SIGTERM');
    await cap.kill('SIGTERM');
  });

  it('stops on a change the standby refuses, naming table, key and batch; continues after the fix', async () => {
    const standby = await createPgDatabase('sbyfix');
    drops.push(standby);
    const prefix = uniquePrefix('refuse');
    const file = config(prefix, { id: 'pg-fix', url: standby.url });
    const sby = new pg.Client({ connectionString: standby.url });
    await sby.connect();
    const cap = start(['capture', '-c', file]);
    let app = start(['apply', '-c', file]);
    await waitApplied(async () => BigInt((await sby.query(`SELECT version::text AS v FROM ctrelay.ctrelay_state`)).rows[0]?.v ?? -1), await sourceVersion());
    await sby.query(`ALTER TABLE public.transfers ALTER COLUMN note TYPE varchar(5)`);
    const before = BigInt((await sby.query(`SELECT batch_seq::text AS s FROM ctrelay.ctrelay_state`)).rows[0].s);
    const bad = await admin.query(`INSERT INTO transfers (src, dst, amount, note) VALUES (1, 2, 0, 'far too long for five') RETURNING id`);
    const badId = bad.rows[0].id;
    await admin.query(`INSERT INTO transfers (src, dst, amount, note) VALUES (1, 2, 0, 'later')`);
    const code = await app.exited;
    expect(code).not.toBe(0);
    const err = app.stderr();
    expect(err).toMatch(/error: .*public\.transfers/);
    expect(err).toContain(`id=${badId}`);
    expect(err).toMatch(/batch \d+/);
    expect(err).not.toMatch(/^\s+at /m);
    // nothing of that batch or after it reached the standby
    expect((await sby.query(`SELECT count(*)::int AS n FROM public.transfers WHERE note = 'later'`)).rows[0].n).toBe(0);
    expect(BigInt((await sby.query(`SELECT batch_seq::text AS s FROM ctrelay.ctrelay_state`)).rows[0].s)).toBe(before);
    await sby.query(`ALTER TABLE public.transfers ALTER COLUMN note TYPE varchar(200)`);
    app = start(['apply', '-c', file]);
    await waitApplied(async () => BigInt((await sby.query(`SELECT version::text AS v FROM ctrelay.ctrelay_state`)).rows[0].v), await sourceVersion());
    await expectStandbyEqualsSource('postgres', standby.url, standby.name);
    // TRUNCATE at the source: change tracking cannot say which rows went, capture re-snapshots the
    // table and the applier rewrites it whole, so no truncated row lingers on the standby
    await admin.query(`TRUNCATE transfers`);
    await admin.query(`INSERT INTO transfers (src, dst, amount, note) VALUES (3, 4, 1, 'after truncate'), (4, 3, 1, 'again')`);
    await waitApplied(async () => BigInt((await sby.query(`SELECT version::text AS v FROM ctrelay.ctrelay_state`)).rows[0].v), await sourceVersion());
    await cap.waitFor(/"reason":"cursor \d+ is below the min valid version/);
    await expectStandbyEqualsSource('postgres', standby.url, standby.name);
    expect((await sby.query(`SELECT count(*)::int AS n FROM public.transfers`)).rows[0].n).toBe(2);
    await sby.end();
    await app.kill('SIGTERM');
    await cap.kill('SIGTERM');
  });
});
