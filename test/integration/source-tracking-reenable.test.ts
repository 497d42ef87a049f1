// Change tracking of a table switched off and on again, with writes in between, while `ctrelay
// capture` and two `ctrelay apply` processes (PostgreSQL and MariaDB standbys) run as real
// processes. Writes made while the tracking triggers were off are unknown to change tracking; as on
// SQL Server, turning tracking back on must invalidate every earlier cursor so that capture
// re-snapshots the table, or the standbys silently keep the old rows. Each case ends with both
// standbys equal to the source value for value, read with the test's own SQL.
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { usePipeline, type Standby } from '../support/pipeline-fixture.ts';
import { readBatches, uniquePrefix, type Proc } from '../support/pipeline.ts';

const ROWS = 40;
const table = (name: string) => `CREATE TABLE ${name} (id int PRIMARY KEY, name text NOT NULL, qty int);
  INSERT INTO ${name} SELECT g, 'n' || g, g FROM generate_series(1, ${ROWS}) g;`;

const fx = usePipeline({
  name: 'srcreen',
  schema: ['viacli', 'bytrigger', 'intxn', 'intact', 'watched'].map(table).join('\n'),
  tables: ['public.viacli', 'public.bytrigger', 'public.intxn', 'public.intact', 'public.watched'],
});

interface Running {
  prefix: string;
  table: string;
  capture: Proc;
  standbys: Standby[];
}

const captureConfig = (prefix: string, t: string) => fx.config(prefix, { source: { tables: [`public.${t}`] } });

/** Capture of `t` and one applier per standby kind, all caught up with the source. */
async function pipeline(t: string): Promise<Running> {
  const prefix = uniquePrefix(`reen_${t}`);
  const standbys = [await fx.standby('postgres', `sby_${t}`), await fx.standby('mariadb', `sby_${t}`)];
  const capture = fx.capture(captureConfig(prefix, t));
  await capture.waitFor('capture running');
  for (const s of standbys) fx.apply(fx.config(prefix, { source: { tables: [`public.${t}`] }, standby: { id: `${s.kind}-${t}`, url: s.url } }));
  for (const s of standbys) await fx.waitStandbyCaughtUp(prefix, s);
  return { prefix, table: t, capture, standbys };
}

type TextRows = (string | null)[][];

async function sourceRows(t: string): Promise<TextRows> {
  const r = await fx.admin.query(`SELECT id::text, name, qty::text FROM public.${t} ORDER BY id`);
  return r.rows.map((x) => [x.id, x.name, x.qty]);
}

async function standbyRows(s: Standby, t: string): Promise<TextRows> {
  const sql = s.kind === 'postgres'
    ? `SELECT id::text AS id, name, qty::text AS qty FROM public.${t} ORDER BY id`
    : `SELECT CAST(id AS CHAR) AS id, name, CAST(qty AS CHAR) AS qty FROM \`${s.name}\`.\`${t}\` ORDER BY id`;
  return (await s.query(sql)).map((x) => [x.id, x.name, x.qty === null ? null : String(x.qty)]);
}

/** Waits until both standbys hold the source as it is now, then compares them value for value. */
async function expectStandbysEqualSource(run: Running): Promise<void> {
  const expected = await sourceRows(run.table);
  for (const s of run.standbys) {
    await fx.waitStandbyCaughtUp(run.prefix, s);
    expect(await standbyRows(s, run.table), `${s.kind} standby, table ${run.table}`).toEqual(expected);
  }
}

/** The snapshot epochs of the table in the batch log, in order, deduplicated. */
async function epochs(prefix: string, t: string): Promise<number[]> {
  const out: number[] = [];
  for (const { batch } of await readBatches(fx.kafka, prefix)) {
    const e = batch.tables.find((x) => x.table === `public.${t}`)?.snapshot?.epoch;
    if (e !== undefined && out[out.length - 1] !== e) out.push(e);
  }
  return out;
}

/** The reasons of capture's 'snapshot started' lines for the table after the initial snapshot. */
function resnapshotReasons(p: Proc, t: string): string[] {
  return p.stderr().split('\n').filter((l) => l.includes('"snapshot started"')).map((l) => JSON.parse(l))
    .filter((l) => l.table === `public.${t}` && l.reason !== 'initial snapshot').map((l) => l.reason as string);
}

async function stop(p: Proc): Promise<void> {
  await p.kill('SIGTERM');
  expect(await p.exited, p.stderr().slice(-2000)).toBe(0);
}

describe('re-enabling change tracking invalidates every earlier cursor: the table is re-snapshotted', () => {
  it('ctrelay ct disable, an UPDATE, ctrelay ct enable (capture stopped meanwhile): the update reaches both standbys', async () => {
    const run = await pipeline('viacli');
    await stop(run.capture);
    const off = await fx.run(['ct', 'disable', '--url', fx.db.url, 'public.viacli']);
    expect(off.code, off.stderr).toBe(0);
    await fx.admin.query(`UPDATE viacli SET name = 'changed while untracked', qty = qty * 10 WHERE id <= 5`);
    const on = await fx.run(['ct', 'enable', '--url', fx.db.url, 'public.viacli']);
    expect(on.code, on.stderr).toBe(0);
    const capture = fx.capture(captureConfig(run.prefix, 'viacli'));
    await capture.waitFor('capture running');
    await expectStandbysEqualSource({ ...run, capture });
    expect((await sourceRows('viacli'))[0]).toEqual(['1', 'changed while untracked', '10']);
    expect(resnapshotReasons(capture, 'viacli')).toEqual([expect.stringMatching(/below the min valid version .*change tracking of public\.viacli was enabled by ct enable/)]);
    expect(await epochs(run.prefix, 'viacli')).toEqual([1, 2]);
    await stop(capture);
  });

  it('ALTER TABLE ... DISABLE TRIGGER, an UPDATE, ENABLE ALWAYS TRIGGER (capture stopped meanwhile): the update reaches both standbys', async () => {
    const run = await pipeline('bytrigger');
    await stop(run.capture);
    await fx.admin.query(`ALTER TABLE bytrigger DISABLE TRIGGER ctrelay_ct_upd`);
    await fx.admin.query(`UPDATE bytrigger SET name = 'changed while untracked' WHERE id IN (7, 8)`);
    await fx.admin.query(`ALTER TABLE bytrigger ENABLE ALWAYS TRIGGER ctrelay_ct_upd`);
    const capture = fx.capture(captureConfig(run.prefix, 'bytrigger'));
    await capture.waitFor('capture running');
    await expectStandbysEqualSource({ ...run, capture });
    expect(resnapshotReasons(capture, 'bytrigger')).toEqual([
      expect.stringMatching(/the change-tracking triggers of public\.bytrigger were off and are on again \(ALTER TABLE\): changes made meanwhile are unknown/),
    ]);
    await stop(capture);
  });

  it('the triggers switched off and on again inside one transaction, so that no poll can see them off, while capture runs', async () => {
    const run = await pipeline('intxn');
    const c = new pg.Client({ connectionString: fx.db.url });
    await c.connect();
    try {
      // DISABLE TRIGGER ALL also covers the TRUNCATE trigger; ENABLE TRIGGER (not ALWAYS) would
      // still be off for session_replication_role = replica, so ALWAYS it is
      await c.query('BEGIN');
      await c.query(`ALTER TABLE intxn DISABLE TRIGGER USER`);
      await c.query(`UPDATE intxn SET qty = -qty WHERE id % 3 = 0`);
      await c.query(`DELETE FROM intxn WHERE id = 40`);
      await c.query(`ALTER TABLE intxn ENABLE ALWAYS TRIGGER ctrelay_ct_ins, ENABLE ALWAYS TRIGGER ctrelay_ct_upd,
                       ENABLE ALWAYS TRIGGER ctrelay_ct_del, ENABLE ALWAYS TRIGGER ctrelay_ct_trunc`);
      await c.query('COMMIT');
    } finally {
      await c.end();
    }
    await expectStandbysEqualSource(run);
    expect((await sourceRows('intxn')).length).toBe(ROWS - 1);
    expect(await epochs(run.prefix, 'intxn')).toEqual([1, 2]);
    await stop(run.capture);
  });

  it('re-running ctrelay ct enable on a table whose tracking is intact does not re-snapshot it; changes keep streaming', async () => {
    const run = await pipeline('intact');
    const again = await fx.run(['ct', 'enable', '--url', fx.db.url, 'public.intact']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).not.toContain('warning');
    await fx.admin.query(`UPDATE intact SET qty = 0 WHERE id = 1`);
    await expectStandbysEqualSource(run);
    expect(await epochs(run.prefix, 'intact')).toEqual([1]);
    expect(resnapshotReasons(run.capture, 'intact')).toEqual([]);
    await stop(run.capture);
  });

  it('ct status shows the tracking triggers of each table and the event triggers', async () => {
    await fx.admin.query(`ALTER TABLE watched DISABLE TRIGGER ctrelay_ct_del`);
    try {
      const r = await fx.run(['ct', 'status', '--url', fx.db.url, '--json']);
      expect(r.code, r.stderr).toBe(0);
      const s = JSON.parse(r.stdout);
      expect(s.eventTriggers).toBe(true);
      const byName = new Map(s.tables.map((t: { table: string }) => [t.table, t]));
      expect(byName.get('public.watched')).toMatchObject({ triggersOk: false });
      expect(byName.get('public.intact')).toMatchObject({ triggersOk: true });
      expect(s.warnings).toEqual([expect.stringMatching(/tracking triggers of public\.watched .*ctrelay ct enable public\.watched/)]);
    } finally {
      await fx.admin.query(`ALTER TABLE watched ENABLE ALWAYS TRIGGER ctrelay_ct_del`);
    }
  });
});

describe('installed without the right to create event triggers', () => {
  it('ct enable installs table tracking and warns; ct status and capture say what cannot be detected', async () => {
    const db = await fx.database('srcnosu');
    const role = `ctr_nosu_${Date.now().toString(36)}`;
    const admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    try {
      await admin.query(`CREATE ROLE ${role} LOGIN; ALTER DATABASE "${db.name}" OWNER TO ${role};
        CREATE TABLE t (id int PRIMARY KEY, v text); ALTER TABLE t OWNER TO ${role}; INSERT INTO t VALUES (1, 'a')`);
      const url = new URL(db.url);
      url.username = role;
      url.password = '';
      const asRole = url.toString();
      const on = await fx.run(['ct', 'enable', '--url', asRole, 'public.t']);
      expect(on.code, on.stderr).toBe(0);
      expect(on.stdout).toContain('change tracking enabled: public.t');
      expect(on.stderr).toMatch(/warning: ctrelay's event triggers are not in place \(ctrelay_ddl: missing, ctrelay_rewrite: missing\): installing them needs a superuser/);
      expect(on.stderr).toMatch(/cannot be detected/);
      // table tracking works without them
      const tracked = await admin.query(`SELECT count(*)::int AS n FROM ctrelay.tables WHERE table_name = 't'`);
      expect(tracked.rows[0].n).toBe(1);
      const st = await fx.run(['ct', 'status', '--url', asRole, '--json']);
      expect(st.code, st.stderr).toBe(0);
      const status = JSON.parse(st.stdout);
      expect(status.eventTriggers).toBe(false);
      expect(status.warnings).toEqual([expect.stringMatching(/event triggers are not in place/)]);
      const prefix = uniquePrefix('nosu');
      const capture = fx.capture(fx.config(prefix, { source: { url: asRole, tables: ['public.t'] } }));
      await capture.waitFor('capture running');
      const warn = capture.stderr().split('\n').filter((l) => l.includes('event triggers are not in place')).map((l) => JSON.parse(l));
      expect(warn).toHaveLength(1);
      expect(warn[0].level).toBe('warn');
      await stop(capture);
    } finally {
      // the role owns objects in the throwaway database: hand them back before dropping it
      await admin.query(`ALTER DATABASE "${db.name}" OWNER TO postgres; REASSIGN OWNED BY ${role} TO postgres; DROP OWNED BY ${role}`).catch(() => undefined);
      await admin.end();
      await fx.admin.query(`DROP ROLE IF EXISTS ${role}`).catch(() => undefined);
    }
  });
});
