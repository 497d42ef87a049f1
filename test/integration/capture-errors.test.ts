// `ctrelay capture` meeting bad input, as an operator meets it: a real process, its exit code (the
// CtrelayError class of src/core/errors.ts), one `error:` line on stderr that names the thing, no
// stack trace, and no secret in any output.
import { describe, expect, it } from 'vitest';
import { usePipeline } from '../support/pipeline-fixture.ts';
import { uniquePrefix } from '../support/pipeline.ts';

// src/core/errors.ts
const EXIT_CONFIG = 2;
const EXIT_SOURCE = 3;
const EXIT_KAFKA = 4;

const fx = usePipeline({
  name: 'caperr',
  schema: `
    CREATE TABLE good (id int PRIMARY KEY, name text);
    CREATE TABLE shapes (id int PRIMARY KEY, name text, p point);
    CREATE TABLE spans (id int PRIMARY KEY, d interval);
    CREATE TABLE nokey (id int, name text);
    CREATE TABLE untracked (id int PRIMARY KEY, name text);
    CREATE TABLE victim (id int PRIMARY KEY, name text);
    CREATE TABLE guarded (id int PRIMARY KEY, name text);
    INSERT INTO victim VALUES (1, 'one');
    INSERT INTO guarded VALUES (1, 'one');
    INSERT INTO good VALUES (1, 'one');
    INSERT INTO shapes VALUES (1, 'a', point(1, 2)), (2, 'b', NULL);`,
  tables: ['public.good', 'public.shapes', 'public.spans', 'public.victim', 'public.guarded'],
});

type Table = string | { name: string; excludeColumns: string[] };

function config(tables: Table[], over: { url?: string; brokers?: string[]; prefix?: string; extra?: Record<string, unknown> } = {}) {
  return fx.config(over.prefix ?? uniquePrefix('err'), { source: { tables, url: over.url }, kafka: { brokers: over.brokers }, ...over.extra });
}

/** The process failed the way a user error must: its exit code, one `error:` line, no stack. */
function expectUserError(r: { code: number | null; stdout: string; stderr: string }, code: number, ...fragments: (string | RegExp)[]): string {
  expect(r.code, r.stderr).toBe(code);
  const lines = r.stderr.split('\n').filter((l) => l.startsWith('error: '));
  expect(lines, r.stderr).toHaveLength(1);
  for (const f of fragments) expect(lines[0]).toMatch(f);
  // neither a stack trace nor the "this is a bug" report
  expect(r.stderr).not.toMatch(/^\s+at /m);
  expect(r.stderr).not.toContain('internal error');
  return lines[0];
}

const capture = (file: string, timeoutMs = 90_000) => fx.run(['capture', '-c', file], timeoutMs);

describe('capture refuses bad input with a clear error', () => {
  it('an unsupported column type names table and column and points to excludeColumns', async () => {
    const r = await capture(config(['public.shapes']));
    expectUserError(r, EXIT_SOURCE, 'public.shapes', '"p"', 'point', 'excludeColumns');
    const r2 = await capture(config(['public.spans']));
    expectUserError(r2, EXIT_SOURCE, 'public.spans', '"d"', 'interval', 'excludeColumns');
  });

  it('the same table with the column in excludeColumns captures the other columns', async () => {
    const prefix = uniquePrefix('excl');
    const p = fx.capture(config([{ name: 'public.shapes', excludeColumns: ['p'] }], { prefix }));
    await p.waitFor('capture running');
    await fx.waitCaptured(prefix);
    const captured = await fx.captured(prefix, [{ schema: 'public', table: 'shapes' }]);
    const rows = [...(captured.fold.tables.get('public.shapes')?.rows.values() ?? [])];
    expect(rows).toEqual([{ id: 1, name: 'a' }, { id: 2, name: 'b' }]);
    expect(captured.metas.get('public.shapes')!.columns.map((c) => c.name)).toEqual(['id', 'name']);
    await p.kill('SIGTERM');
    expect(await p.exited, p.stderr()).toBe(0);
    expect(p.stderr()).toContain('capture stopped');
  });

  it('an excluded column that does not exist is named', async () => {
    const r = await capture(config([{ name: 'public.shapes', excludeColumns: ['nosuch'] }]));
    expectUserError(r, EXIT_SOURCE, 'public.shapes', '"nosuch"', 'does not exist');
  });

  it('a table without primary key: ct enable refuses it, and capture names it', async () => {
    const e = await fx.run(['ct', 'enable', '--url', fx.db.url, 'public.nokey']);
    expectUserError(e, EXIT_SOURCE, 'public.nokey', 'no primary key');
    // nothing was installed for it
    const n = await fx.admin.query(`SELECT count(*)::int AS n FROM ctrelay.tables WHERE table_name = 'nokey'`);
    expect(n.rows[0].n).toBe(0);
    const r = await capture(config(['public.nokey']));
    expectUserError(r, EXIT_SOURCE, 'public.nokey', 'no primary key');
  });

  it('a table that is not change-tracked: tells to run ctrelay ct enable', async () => {
    const r = await capture(config(['public.good', 'public.untracked']));
    expectUserError(r, EXIT_SOURCE, 'public.untracked', 'not change-tracked', 'ctrelay ct enable');
    // a database where change tracking was never installed
    const bare = await fx.database('capbare');
    const r2 = await capture(config(['public.good'], { url: bare.url }));
    expectUserError(r2, EXIT_SOURCE, 'change tracking is not installed', 'ctrelay ct enable');
  });

  it('every problem of every table in ONE error: unsupported columns of two tables, a table without key, a missing table', async () => {
    const r = await capture(config(['public.shapes', 'public.good', 'public.spans', 'public.nokey', 'public.nosuch']));
    const line = expectUserError(r, EXIT_SOURCE, /\d+ problems with the source tables/,
      /public\.shapes, column "p": type point is not supported/,
      /public\.spans, column "d": type interval is not supported/,
      /public\.nokey has no primary key/,
      /public\.nokey is not change-tracked/,
      /public\.nosuch does not exist/);
    expect(line).toMatch(/^error: 5 problems with the source tables: \(1\) /);
    expect(line).not.toContain('public.good');
  });

  it('a missing table names it', async () => {
    const r = await capture(config(['public.good', 'public.nosuch']));
    expectUserError(r, EXIT_SOURCE, 'public.nosuch', 'does not exist');
  });

  it('an unreachable database names the server with the password redacted', async () => {
    const url = 'postgres://u:s3cret@127.0.0.1:1/x';
    const r = await capture(config(['public.good'], { url }));
    const line = expectUserError(r, EXIT_SOURCE, 'postgres://127.0.0.1:1/x', 'connecting');
    expect(line).toMatch(/ECONNREFUSED/);
    expect(r.stdout + r.stderr).not.toContain('s3cret');
  });

  it('an unreachable broker names it and exits in bounded time', async () => {
    const started = Date.now();
    const r = await capture(config(['public.good'], { brokers: ['127.0.0.1:1'] }), 120_000);
    const elapsed = Date.now() - started;
    expectUserError(r, EXIT_KAFKA, '127.0.0.1:1', /Kafka/);
    expect(elapsed).toBeLessThan(60_000);
  });

  it('sync mode without a standby is a config error naming standby.id', async () => {
    const r = await capture(config(['public.good'], { extra: { mode: 'sync' } }));
    expectUserError(r, EXIT_CONFIG, 'standby.id', 'sync');
  });
});

describe('capture stops on a source problem that retrying cannot heal (never retries it for ever)', () => {
  it('change tracking disabled on a table while capture runs: exit 3, naming the table and the way out', async () => {
    const prefix = uniquePrefix('untracked');
    const p = fx.capture(config(['public.victim'], { prefix }));
    await p.waitFor('capture running');
    await fx.waitCaptured(prefix);
    const off = await fx.run(['ct', 'disable', '--url', fx.db.url, 'public.victim']);
    expect(off.code, off.stderr).toBe(0);
    await fx.admin.query(`UPDATE victim SET name = 'changed while untracked'`);
    const code = await p.exited;
    expectUserError({ code, stdout: p.stdout(), stderr: p.stderr() }, EXIT_SOURCE, 'public.victim', 'ct enable');
  });

  it('a tracking trigger disabled while capture runs: exit 3, naming the table, the trigger and the way out', async () => {
    await fx.admin.query(`CREATE TABLE switched (id int PRIMARY KEY, name text); INSERT INTO switched VALUES (1, 'one')`);
    const on = await fx.run(['ct', 'enable', '--url', fx.db.url, 'public.switched']);
    expect(on.code, on.stderr).toBe(0);
    const prefix = uniquePrefix('switched');
    const p = fx.capture(config(['public.good', 'public.switched'], { prefix }));
    await p.waitFor('capture running');
    await fx.waitCaptured(prefix);
    await fx.admin.query(`ALTER TABLE switched DISABLE TRIGGER ctrelay_ct_upd`);
    try {
      await fx.admin.query(`UPDATE switched SET name = 'changed while untracked'`);
      // bounded: a capture that does not notice would run on for ever
      let timer: NodeJS.Timeout | undefined;
      const code = await Promise.race([p.exited, new Promise<string>((resolve) => (timer = setTimeout(() => resolve('still running after 60 s'), 60_000)))]);
      clearTimeout(timer);
      expectUserError({ code: code as number | null, stdout: p.stdout(), stderr: p.stderr() }, EXIT_SOURCE,
        'public.switched', 'trigger ctrelay_ct_upd is disabled', 'ctrelay ct enable public.switched', 're-snapshotted');
    } finally {
      await fx.admin.query(`ALTER TABLE switched ENABLE ALWAYS TRIGGER ctrelay_ct_upd`);
    }
  });

  it('SELECT revoked from the capture login while capture runs: exit 3, naming the table and the grant', async () => {
    const role = `ctr_cap_${Date.now().toString(36)}`;
    await fx.admin.query(`CREATE ROLE ${role} LOGIN; GRANT USAGE ON SCHEMA ctrelay TO ${role}; GRANT SELECT ON ALL TABLES IN SCHEMA ctrelay TO ${role}; GRANT SELECT ON guarded TO ${role}`);
    try {
      const url = new URL(fx.db.url);
      url.username = role;
      const prefix = uniquePrefix('revoked');
      const p = fx.capture(config(['public.guarded'], { prefix, url: url.toString() }));
      await p.waitFor('capture running');
      await fx.waitCaptured(prefix);
      await fx.admin.query(`REVOKE SELECT ON guarded FROM ${role}`);
      await fx.admin.query(`UPDATE guarded SET name = 'changed after the revoke'`);
      const code = await p.exited;
      expectUserError({ code, stdout: p.stdout(), stderr: p.stderr() }, EXIT_SOURCE, 'public.guarded', /permission denied/, /GRANT SELECT/);
    } finally {
      await fx.admin.query(`DROP OWNED BY ${role}; DROP ROLE ${role}`);
    }
  });
});
