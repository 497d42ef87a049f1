// The source's DDL while capture and apply run as real processes, checked on a PostgreSQL and a
// MariaDB standby with the test's own SQL (plain pg / mysql2 clients, value for value):
// - a numeric's precision and scale go up, then values with the new scale arrive: exact, no rounding;
// - each widening (smallint -> integer, varchar(20) -> varchar(200), numeric precision and scale up,
//   real -> double precision, timestamp(3) -> timestamp(6)) is applied by the applier itself;
// - a narrowing stops the applier with an error naming table, column, both types and the way out;
// - a rename and a drop + add inside merged async windows: each window writes with its own
//   definition, so no value the source has is written as NULL.
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { stoppedWith, usePipeline, type Standby } from '../support/pipeline-fixture.ts';
import { uniquePrefix, type Proc } from '../support/pipeline.ts';

type Kind = 'postgres' | 'mariadb';
const KINDS: Kind[] = ['postgres', 'mariadb'];

const fx = usePipeline({
  name: 'sbddl',
  schema: `
    CREATE TABLE prices (id int PRIMARY KEY, price numeric(12,2) NOT NULL);
    INSERT INTO prices SELECT g, g * 1.25 FROM generate_series(1, 10) g;
    CREATE TABLE wide (id int PRIMARY KEY, n numeric(10,2), r real, ts timestamp(3));
    INSERT INTO wide VALUES (1, 12345678.91, 0.1, '2024-01-02 03:04:05.123'), (2, -0.01, 16777216, '1999-12-31 23:59:59.999'), (3, NULL, NULL, NULL);
    CREATE TABLE wide2 (id int PRIMARY KEY, s smallint, v varchar(20));
    INSERT INTO wide2 VALUES (1, 32767, 'twenty characters ok'), (2, -32768, ''), (3, NULL, NULL);
    CREATE TABLE narrow (id int PRIMARY KEY, v varchar(200));
    INSERT INTO narrow VALUES (1, 'short');
    CREATE TABLE ren (id bigint PRIMARY KEY, a text NOT NULL, qty int);
    INSERT INTO ren SELECT g, 'a' || g, g FROM generate_series(1, 200) g;
    CREATE TABLE dropadd (id bigint PRIMARY KEY, a text NOT NULL, qty int);
    INSERT INTO dropadd SELECT g, 'a' || g, g FROM generate_series(1, 200) g;`,
  tables: ['public.prices', 'public.wide', 'public.wide2', 'public.narrow', 'public.ren', 'public.dropadd'],
  config: { source: { pollIntervalMs: 50 }, standby: { mergeBatches: 10 } },
});

interface Applier {
  standby: Standby;
  app: Proc;
  file: string;
}

/** Capture of `tables` under a new prefix, and one applier per kind, each on a new standby. */
async function start(name: string, tables: string[], kinds: Kind[] = KINDS) {
  const prefix = uniquePrefix(name);
  const appliers: Applier[] = [];
  for (const kind of kinds) {
    const standby = await fx.standby(kind, `sb${kind.slice(0, 2)}`);
    const file = fx.config(prefix, { source: { tables }, standby: { id: `${kind}-${name}`, url: standby.url } });
    appliers.push({ standby, app: fx.apply(file), file });
  }
  const cap = fx.capture(appliers[0].file);
  return { prefix, cap, appliers };
}

const caughtUp = (prefix: string, a: Applier) => fx.waitCaughtUpWhileRunning(prefix, a.standby, a.app);

/** A PostgreSQL timestamp's or MariaDB DATETIME's text with exactly 6 fractional digits. */
const micros = (t: string | null) => (t === null ? null : /\./.test(t) ? t.replace(/\.(\d+)$/, (_, f: string) => `.${f.padEnd(6, '0')}`) : `${t}.000000`);

/** The standby's type of one column, in its catalog's words. */
async function columnType(s: Standby, table: string, column: string): Promise<string> {
  const rows =
    s.kind === 'postgres'
      ? await s.query(`SELECT format_type(atttypid, atttypmod) AS t FROM pg_attribute WHERE attrelid = $1::regclass AND attname = $2`, [`public.${table}`, column])
      : await s.query(`SELECT column_type AS t FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = ? AND column_name = ?`, [table, column]);
  return rows[0]?.t;
}

const stopped = (a: Applier) => stoppedWith(a.app);

describe('schema changes replicated by the applier', () => {
  it('numeric(12,2) -> numeric(16,6), then values with 6 decimals: exact on both standbys, never rounded', async () => {
    const { prefix, cap, appliers } = await start('num', ['public.prices']);
    for (const a of appliers) await caughtUp(prefix, a);
    await fx.admin.query(`ALTER TABLE prices ALTER COLUMN price TYPE numeric(16,6)`);
    await fx.admin.query(`INSERT INTO prices VALUES (11, 1.123456), (12, 1234567890.123456), (13, -0.000001)`);
    await fx.admin.query(`UPDATE prices SET price = 3.141593 WHERE id = 1`);
    const source = (await fx.admin.query(`SELECT id, price::text AS price FROM prices ORDER BY id`)).rows;
    expect(source.find((r) => r.id === 12).price).toBe('1234567890.123456');
    for (const a of appliers) {
      await caughtUp(prefix, a);
      const sql = a.standby.kind === 'postgres' ? `SELECT id, price::text AS price FROM public.prices ORDER BY id` : `SELECT id, CAST(price AS CHAR) AS price FROM prices ORDER BY id`;
      expect(await a.standby.query(sql), a.standby.kind).toEqual(source);
      expect(await columnType(a.standby, 'prices', 'price')).toBe(a.standby.kind === 'postgres' ? 'numeric(16,6)' : 'decimal(16,6)');
      expect(a.app.stderr()).toContain('widened standby column');
    }
    for (const a of appliers) await a.app.kill('SIGTERM');
    await cap.kill('SIGTERM');
  });

  it('numeric precision and scale, real -> double precision, timestamp(3) -> timestamp(6) widened at the source: the applier widens the standby itself', async () => {
    const { prefix, cap, appliers } = await start('widen', ['public.wide']);
    for (const a of appliers) await caughtUp(prefix, a);
    // one statement per widening, each followed by a value only the wider type holds
    await fx.admin.query(`ALTER TABLE wide ALTER COLUMN n TYPE numeric(18,6)`);
    await fx.admin.query(`INSERT INTO wide (id, n) VALUES (12, 123456789012.123456)`);
    await fx.admin.query(`ALTER TABLE wide ALTER COLUMN r TYPE double precision`);
    await fx.admin.query(`INSERT INTO wide (id, r) VALUES (13, 0.1), (14, 1e300)`);
    await fx.admin.query(`ALTER TABLE wide ALTER COLUMN ts TYPE timestamp(6)`);
    await fx.admin.query(`INSERT INTO wide (id, ts) VALUES (15, '2024-01-02 03:04:05.123456')`);
    await fx.admin.query(`UPDATE wide SET n = -999999999999.999999, r = 5e-324, ts = '1000-01-01 00:00:00.000001' WHERE id = 3`);

    const norm = (r: Record<string, unknown>) => ({ id: r.id, n: r.n, r: r.r === null ? null : Number(r.r), ts: micros(r.ts as string | null) });
    const source = (await fx.admin.query(`SELECT id, n::text AS n, r::text AS r, ts::text AS ts FROM wide ORDER BY id`)).rows.map(norm);
    expect(source).toHaveLength(7);
    for (const a of appliers) {
      await caughtUp(prefix, a);
      const sql =
        a.standby.kind === 'postgres'
          ? `SELECT id, n::text AS n, r::text AS r, ts::text AS ts FROM public.wide ORDER BY id`
          : `SELECT id, CAST(n AS CHAR) AS n, CAST(r AS DOUBLE) AS r, CAST(ts AS CHAR) AS ts FROM wide ORDER BY id`;
      expect((await a.standby.query(sql)).map(norm), a.standby.kind).toEqual(source);
      const types = [];
      for (const c of ['n', 'r', 'ts']) types.push(await columnType(a.standby, 'wide', c));
      expect(types).toEqual(a.standby.kind === 'postgres' ? ['numeric(18,6)', 'double precision', 'timestamp(6) without time zone'] : ['decimal(18,6)', 'double', 'datetime(6)']);
    }
    for (const a of appliers) await a.app.kill('SIGTERM');
    await cap.kill('SIGTERM');
  });

  // Needs the writer schema to tell smallint from integer and varchar(20) from varchar(200): both
  // pairs encode alike in Avro, so their fingerprints must carry the column type (src/avro).
  it('smallint -> integer and varchar(20) -> varchar(200) widened at the source: the applier widens the standby itself', async () => {
    const { prefix, cap, appliers } = await start('widen2', ['public.wide2']);
    for (const a of appliers) await caughtUp(prefix, a);
    await fx.admin.query(`ALTER TABLE wide2 ALTER COLUMN s TYPE integer`);
    await fx.admin.query(`INSERT INTO wide2 (id, s) VALUES (10, 100000)`);
    await fx.admin.query(`ALTER TABLE wide2 ALTER COLUMN v TYPE varchar(200)`);
    await fx.admin.query(`INSERT INTO wide2 (id, v) VALUES (11, repeat('é', 150))`);
    await fx.admin.query(`UPDATE wide2 SET s = -2147483648, v = repeat('x', 200) WHERE id = 3`);
    const source = (await fx.admin.query(`SELECT id, s, v FROM wide2 ORDER BY id`)).rows;
    expect(source).toHaveLength(5);
    for (const a of appliers) {
      await caughtUp(prefix, a);
      expect(await a.standby.query(`SELECT id, s, v FROM ${a.standby.kind === 'postgres' ? 'public.' : ''}wide2 ORDER BY id`), a.standby.kind).toEqual(source);
      const types = [];
      for (const c of ['s', 'v']) types.push(await columnType(a.standby, 'wide2', c));
      expect(types).toEqual(a.standby.kind === 'postgres' ? ['integer', 'character varying(200)'] : ['int(11)', 'varchar(200)']);
    }
    for (const a of appliers) await a.app.kill('SIGTERM');
    await cap.kill('SIGTERM');
  });

  // Needs the writer schema to tell varchar(200) from varchar(20) (see above).
  it('a narrowing (varchar(200) -> varchar(20)) stops the applier naming table, column, both types and the way out', async () => {
    const { prefix, cap, appliers } = await start('narrow', ['public.narrow']);
    for (const a of appliers) await caughtUp(prefix, a);
    await fx.admin.query(`ALTER TABLE narrow ALTER COLUMN v TYPE varchar(20)`);
    await fx.admin.query(`INSERT INTO narrow VALUES (2, 'short too')`);
    for (const a of appliers) {
      const { code, error } = await stopped(a);
      expect(code, a.app.stderr().slice(-3000)).toBe(5);
      expect(error).toContain('source table public.narrow');
      expect(error).toContain('column v');
      expect(error).toContain(a.standby.kind === 'postgres' ? 'the standby column is character varying(200)' : 'the standby column is varchar(200)');
      expect(error).toMatch(/varchar\(20\)/i);
      expect(error).toContain('ctrelay ct disable');
      expect(a.app.stderr()).not.toMatch(/^\s+at /m);
      // nothing of the window that needed it was applied
      expect(await a.standby.query(`SELECT id, v FROM ${a.standby.kind === 'postgres' ? 'public.' : ''}narrow ORDER BY id`)).toEqual([{ id: 1, v: 'short' }]);
    }
    await cap.kill('SIGTERM');
  });

  /**
   * Runs `n` source transactions of random inserts and updates on `table` through `sql`, and
   * returns the ids each touched (the table's ids start at 1..200).
   */
  async function workload(table: string, n: number, sql: { insert: string; update: string }, next: { id: number }): Promise<Set<number>> {
    const c = new pg.Client({ connectionString: fx.db.url });
    await c.connect();
    const touched = new Set<number>();
    try {
      for (let t = 0; t < n; t++) {
        await c.query('BEGIN');
        for (let i = 0; i < 5; i++) {
          if (Math.random() < 0.4) {
            await c.query(sql.insert, [next.id]);
            touched.add(next.id++);
          } else {
            const id = 1 + Math.floor(Math.random() * (next.id - 1));
            await c.query(sql.update, [id]);
            touched.add(id);
          }
        }
        await c.query('COMMIT');
      }
    } finally {
      await c.end();
    }
    expect(touched.size, table).toBeGreaterThan(0);
    return touched;
  }

  /**
   * The backlog of merged windows: stops the appliers; runs `before` (windows of the old definition
   * published); applies `ddl` with capture stopped (a column dropped or renamed between capture's
   * catalog check and its read of the changes stops capture: see the report); restarts capture,
   * runs `after`; then restarts the appliers on the backlog, which they merge (mergeBatches 10).
   * Returns the new capture process.
   */
  async function backlog(prefix: string, cap: Proc, appliers: Applier[], steps: { before: () => Promise<unknown>; ddl: string[]; after: () => Promise<unknown> }): Promise<Proc> {
    for (const a of appliers) {
      await a.app.kill('SIGTERM');
      expect(await a.app.exited).toBe(0);
    }
    await steps.before();
    await fx.waitCaptured(prefix);
    await cap.kill('SIGTERM');
    expect(await cap.exited, cap.stderr().slice(-2000)).toBe(0);
    for (const sql of steps.ddl) await fx.admin.query(sql);
    const again = fx.capture(appliers[0].file);
    await steps.after();
    await fx.waitCaptured(prefix);
    for (const a of appliers) a.app = fx.apply(a.file);
    for (const a of appliers) await caughtUp(prefix, a);
    return again;
  }

  it('a rename inside merged async windows: capture re-snapshots the table (untouched rows need the renamed column too) and every row equals the source', async () => {
    const { prefix, cap: first, appliers } = await start('ren', ['public.ren']);
    for (const a of appliers) await caughtUp(prefix, a);
    const next = { id: 201 };
    let afterRename = new Set<number>();
    const cap = await backlog(prefix, first, appliers, {
      before: () => workload('ren', 30, { insert: `INSERT INTO ren (id, a, qty) VALUES ($1::bigint, 'a' || $1::text, $1::int)`, update: `UPDATE ren SET a = a || '.', qty = qty + 1 WHERE id = $1` }, next),
      ddl: [`ALTER TABLE ren RENAME COLUMN a TO b`],
      after: async () => {
        afterRename = await workload('ren', 30, { insert: `INSERT INTO ren (id, b, qty) VALUES ($1::bigint, 'b' || $1::text, $1::int)`, update: `UPDATE ren SET b = b || '+', qty = qty + 1 WHERE id = $1` }, next);
      },
    });
    // a rename reads as a column gone and one added: rows nobody touched since would have no value
    // in the new column on the standby, so capture re-snapshots the table and says why
    expect(cap.stderr()).toMatch(/"reason":"[^"]*column a gone and b added in one change \(a rename\?\)/);
    const source = (await fx.admin.query(`SELECT id::int AS id, b, qty FROM ren ORDER BY id`)).rows;
    for (const a of appliers) {
      const rows = await a.standby.query(`SELECT CAST(id AS ${a.standby.kind === 'postgres' ? 'int' : 'SIGNED'}) AS id, b, qty FROM ${a.standby.kind === 'postgres' ? 'public.' : ''}ren ORDER BY id`);
      const byId = new Map(rows.map((r) => [Number(r.id), r]));
      // every row is there, qty (untouched by the rename) everywhere equal
      expect(rows.map((r) => [Number(r.id), r.qty]), a.standby.kind).toEqual(source.map((r) => [r.id, r.qty]));
      // every row, also those written before the rename and never touched since: b as at the source
      expect(source.map((r) => ({ id: r.id, b: byId.get(r.id)?.b })), a.standby.kind).toEqual(source.map((r) => ({ id: r.id, b: r.b })));
      expect(source.filter((r) => afterRename.has(r.id)).length).toBeGreaterThan(0);
    }
    for (const a of appliers) await a.app.kill('SIGTERM');
    await cap.kill('SIGTERM');
  });

  it('a drop + add inside merged async windows: re-snapshotted like a rename, the standby equals the source in every column the source has', async () => {
    const { prefix, cap: first, appliers } = await start('dropadd', ['public.dropadd']);
    for (const a of appliers) await caughtUp(prefix, a);
    const next = { id: 201 };
    const cap = await backlog(prefix, first, appliers, {
      before: () => workload('dropadd', 30, { insert: `INSERT INTO dropadd (id, a, qty) VALUES ($1::bigint, 'a' || $1::text, $1::int)`, update: `UPDATE dropadd SET a = a || '.', qty = qty + 1 WHERE id = $1` }, next),
      // as many columns as before: the old plan took the first definition for the whole merge
      ddl: [`ALTER TABLE dropadd DROP COLUMN a`, `ALTER TABLE dropadd ADD COLUMN c text`],
      after: () => workload('dropadd', 30, { insert: `INSERT INTO dropadd (id, qty, c) VALUES ($1::bigint, $1::int, 'c' || $1::text)`, update: `UPDATE dropadd SET c = coalesce(c, '') || '+', qty = qty + 1 WHERE id = $1` }, next),
    });
    expect(cap.stderr()).toMatch(/"reason":"[^"]*column a gone and c added in one change/);
    const source = (await fx.admin.query(`SELECT id::int AS id, qty, c FROM dropadd ORDER BY id`)).rows;
    expect(source.filter((r) => r.c !== null).length).toBeGreaterThan(0);
    for (const a of appliers) {
      const rows = await a.standby.query(`SELECT CAST(id AS ${a.standby.kind === 'postgres' ? 'int' : 'SIGNED'}) AS id, qty, c FROM ${a.standby.kind === 'postgres' ? 'public.' : ''}dropadd ORDER BY id`);
      expect(rows.map((r) => ({ id: Number(r.id), qty: r.qty, c: r.c })), a.standby.kind).toEqual(source);
    }
    for (const a of appliers) await a.app.kill('SIGTERM');
    await cap.kill('SIGTERM');
  });
});
