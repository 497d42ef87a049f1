// DDL that changes existing rows without any DML, while `ctrelay capture` and two `ctrelay apply`
// processes (a PostgreSQL and a MariaDB standby) run as real processes: change tracking sees no
// change of those rows, so capture must re-snapshot the table by itself (a new snapshot epoch, the
// reason in its log) or the standbys keep the old values for ever. Each case ends with both standbys
// equal to the source value for value, read with the test's own SQL.
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { usePipeline, type Standby } from '../support/pipeline-fixture.ts';
import { readBatches, uniquePrefix, type Proc } from '../support/pipeline.ts';

const fx = usePipeline({
  name: 'srcddl',
  schema: `
    CREATE TABLE added (id int PRIMARY KEY, name text NOT NULL, qty int);
    INSERT INTO added SELECT g, 'n' || g, g FROM generate_series(1, 30) g;
    CREATE TABLE retyped (id int PRIMARY KEY, name text NOT NULL, qty int);
    INSERT INTO retyped SELECT g, 'n' || g, g FROM generate_series(1, 30) g;
    CREATE TABLE volatile (id int PRIMARY KEY, name text NOT NULL);
    INSERT INTO volatile SELECT g, 'n' || g FROM generate_series(1, 30) g;
    CREATE TABLE offline (id int PRIMARY KEY, qty int NOT NULL);
    INSERT INTO offline SELECT g, g FROM generate_series(1, 30) g;
    CREATE TABLE readded (id int PRIMARY KEY, qty int NOT NULL, note text);
    INSERT INTO readded SELECT g, g, 'note ' || g FROM generate_series(1, 30) g;`,
  tables: ['public.added', 'public.retyped', 'public.volatile', 'public.offline', 'public.readded'],
});

interface Running {
  prefix: string;
  capture: Proc;
  standbys: Standby[];
}

/** Capture of `table` and one applier per standby kind, all caught up with the source. */
async function pipeline(table: string): Promise<Running> {
  const prefix = uniquePrefix(`ddl_${table}`);
  const standbys = [await fx.standby('postgres', `sby_${table}`), await fx.standby('mariadb', `sby_${table}`)];
  const capture = fx.capture(fx.config(prefix, { source: { tables: [`public.${table}`] } }));
  await capture.waitFor('capture running');
  for (const s of standbys) {
    fx.apply(fx.config(prefix, { source: { tables: [`public.${table}`] }, standby: { id: `${s.kind}-${table}`, url: s.url } }));
  }
  for (const s of standbys) await fx.waitStandbyCaughtUp(prefix, s);
  return { prefix, capture, standbys };
}

/** Rows as text (NULL stays null), in key order: the same whatever the engine returns. */
function asText(rows: Record<string, unknown>[], columns: string[]): (string | null)[][] {
  return rows.map((r) => columns.map((c) => (r[c] === null || r[c] === undefined ? null : String(r[c]))));
}

async function sourceRows(table: string, columns: string[]): Promise<(string | null)[][]> {
  const r = await fx.admin.query(`SELECT ${columns.map((c) => `${c}::text AS ${c}`).join(', ')} FROM public.${table} ORDER BY id`);
  return asText(r.rows, columns);
}

async function standbyRows(s: Standby, table: string, columns: string[]): Promise<(string | null)[][]> {
  const sql = s.kind === 'postgres'
    ? `SELECT ${columns.map((c) => `${c}::text AS ${c}`).join(', ')} FROM public.${table} ORDER BY id`
    : `SELECT ${columns.map((c) => `CAST(\`${c}\` AS CHAR) AS \`${c}\``).join(', ')} FROM \`${s.name}\`.\`${table}\` ORDER BY id`;
  return asText(await s.query(sql), columns);
}

/** Waits until both standbys hold the source as it is now, then compares them value for value. */
async function expectStandbysEqualSource(run: Running, table: string, columns: string[]): Promise<void> {
  const expected = await sourceRows(table, columns);
  expect(expected.length).toBeGreaterThan(0);
  for (const s of run.standbys) {
    await fx.waitStandbyCaughtUp(run.prefix, s);
    expect(await standbyRows(s, table, columns), `${s.kind} standby, table ${table}`).toEqual(expected);
  }
}

/** The snapshot epochs of `table` in the batch log, in order, deduplicated. */
async function epochs(prefix: string, table: string): Promise<number[]> {
  const out: number[] = [];
  for (const { batch } of await readBatches(fx.kafka, prefix)) {
    const e = batch.tables.find((t) => t.table === `public.${table}`)?.snapshot?.epoch;
    if (e !== undefined && out[out.length - 1] !== e) out.push(e);
  }
  return out;
}

/** The 'snapshot started' log lines of capture for `table` after the initial one. */
function resnapshotLogs(p: Proc, table: string): { reason: string; level: number }[] {
  return p.stderr().split('\n').filter((l) => l.includes('"snapshot started"')).map((l) => JSON.parse(l))
    .filter((l) => l.table === `public.${table}` && l.reason !== 'initial snapshot');
}

describe('DDL that rewrites rows without DML re-snapshots the table', () => {
  it('ADD COLUMN ... DEFAULT 7: every existing row reads 7 on both standbys; capture logs why', async () => {
    const run = await pipeline('added');
    await fx.admin.query(`ALTER TABLE added ADD COLUMN flag int DEFAULT 7`);
    // writes right after: a new row, an old one changed, one deleted
    await fx.admin.query(`INSERT INTO added (id, name, qty) VALUES (31, 'n31', 31)`);
    await fx.admin.query(`UPDATE added SET qty = qty + 100 WHERE id = 2`);
    await fx.admin.query(`DELETE FROM added WHERE id = 3`);
    await expectStandbysEqualSource(run, 'added', ['id', 'name', 'qty', 'flag']);
    await run.capture.waitFor('column flag added with a default: existing rows changed without DML');
    expect((await sourceRows('added', ['flag'])).every(([f]) => f === '7')).toBe(true);
    expect(resnapshotLogs(run.capture, 'added').map((l) => l.reason)).toEqual(['public.added: column flag added with a default: existing rows changed without DML']);
    expect(await epochs(run.prefix, 'added')).toEqual([1, 2]);
    await run.capture.kill('SIGTERM');
  });

  it('ALTER COLUMN ... TYPE ... USING (a widening that rewrites the values): both standbys hold the new values; capture logs why', async () => {
    const run = await pipeline('retyped');
    // int -> bigint is a lossless widening by type, but USING doubles every value; the same type
    // rewritten with USING changes no type at all: only the rewrite itself tells
    await fx.admin.query(`ALTER TABLE retyped ALTER COLUMN qty TYPE bigint USING qty * 2, ALTER COLUMN name TYPE text USING upper(name)`);
    await fx.admin.query(`UPDATE retyped SET qty = -1 WHERE id = 5`);
    await expectStandbysEqualSource(run, 'retyped', ['id', 'name', 'qty']);
    await run.capture.waitFor(/rewrote every row of public\.retyped/);
    expect((await sourceRows('retyped', ['id', 'name', 'qty']))[0]).toEqual(['1', 'N1', '2']);
    const logs = resnapshotLogs(run.capture, 'retyped');
    expect(logs).toHaveLength(1);
    expect(logs[0].reason).toMatch(/below the min valid version .*ALTER TABLE rewrote every row of public\.retyped \(a column type changed or rewritten with USING\): existing rows changed without DML/);
    await run.capture.kill('SIGTERM');
  });

  it('ADD COLUMN with a volatile default: every row has its own value, the same on both standbys', async () => {
    const run = await pipeline('volatile');
    await fx.admin.query(`ALTER TABLE volatile ADD COLUMN tag int DEFAULT (random() * 1000000)::int NOT NULL`);
    await fx.admin.query(`INSERT INTO volatile (id, name) VALUES (31, 'n31')`);
    await expectStandbysEqualSource(run, 'volatile', ['id', 'name', 'tag']);
    await run.capture.waitFor('column tag added with a default: existing rows changed without DML');
    // the values really differ per row (a volatile default is evaluated for each)
    expect(new Set((await sourceRows('volatile', ['tag'])).map(([t]) => t)).size).toBeGreaterThan(1);
    await run.capture.kill('SIGTERM');
  });

  it('DDL made while capture was down (a default, a generated and an identity column) is found at resume', async () => {
    const run = await pipeline('offline');
    await run.capture.kill('SIGTERM');
    expect(await run.capture.exited).toBe(0);
    await fx.admin.query(`ALTER TABLE offline ADD COLUMN flag int NOT NULL DEFAULT 7, ADD COLUMN triple int GENERATED ALWAYS AS (qty * 3) STORED,
      ADD COLUMN seq bigint GENERATED ALWAYS AS IDENTITY`);
    await fx.admin.query(`UPDATE offline SET qty = 100 WHERE id = 1`);
    const capture = fx.capture(fx.config(run.prefix, { source: { tables: ['public.offline'] } }));
    await capture.waitFor('capture running');
    await expectStandbysEqualSource({ ...run, capture }, 'offline', ['id', 'qty', 'flag', 'triple', 'seq']);
    await capture.waitFor(/public\.offline: .*column (flag|triple) added/);
    const [log] = resnapshotLogs(capture, 'offline');
    expect(log.reason).toContain('generated column triple added: existing rows changed without DML');
    expect(log.reason).toContain('column flag added with a default');
    expect(log.reason).toContain('column seq added with a default');
    await capture.kill('SIGTERM');
  });

  it('a column dropped and added again under the same name and type: the standbys do not keep the old values', async () => {
    const run = await pipeline('readded');
    // one statement: no poll can see the table without the column
    await fx.admin.query(`ALTER TABLE readded DROP COLUMN note, ADD COLUMN note text`);
    await fx.admin.query(`UPDATE readded SET note = 'new' WHERE id = 1`);
    await expectStandbysEqualSource(run, 'readded', ['id', 'qty', 'note']);
    expect((await sourceRows('readded', ['note'])).filter(([n]) => n !== null)).toEqual([['new']]);
    expect(resnapshotLogs(run.capture, 'readded').map((l) => l.reason)).toEqual([
      expect.stringMatching(/column note of public\.readded was dropped and added again \(ALTER TABLE\): existing rows changed without DML/),
    ]);
    await run.capture.kill('SIGTERM');
  });

  it('a column added without a default (NULL in every existing row) is streamed, not re-snapshotted', async () => {
    const prefix = uniquePrefix('ddl_plain');
    const c = new pg.Client({ connectionString: fx.db.url });
    await c.connect();
    try {
      await c.query(`CREATE TABLE plain (id int PRIMARY KEY, qty int); INSERT INTO plain SELECT g, g FROM generate_series(1, 5) g`);
      const enabled = await fx.run(['ct', 'enable', '--url', fx.db.url, 'public.plain']);
      expect(enabled.code, enabled.stderr).toBe(0);
      const capture = fx.capture(fx.config(prefix, { source: { tables: ['public.plain'] } }));
      await capture.waitFor('capture running');
      await fx.waitCaptured(prefix);
      await c.query(`ALTER TABLE plain ADD COLUMN note text`);
      await c.query(`UPDATE plain SET note = 'x' WHERE id = 1`);
      await fx.waitCaptured(prefix);
      expect(resnapshotLogs(capture, 'plain')).toEqual([]);
      expect(await epochs(prefix, 'plain')).toEqual([1]);
      await capture.kill('SIGTERM');
    } finally {
      await c.end();
    }
  });
});
