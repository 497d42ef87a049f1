// Per-standby column options (config standby.tables: excludeColumns, textColumns) with capture and
// apply running as real processes, checked with the test's own SQL. A double precision column holds
// NaN, +-Infinity, -0 and 1e308: the PostgreSQL standby stores them exactly; a MariaDB standby
// (which cannot store NaN or infinities and reads -0 back as 0) holds their exact text with the
// column in textColumns, lacks the column with it in excludeColumns, and without options stops,
// naming table, column, value and both options. Options naming a column the table lacks stop the
// applier at start.
import { describe, expect, it } from 'vitest';
import { stoppedWith, usePipeline, type Standby } from '../support/pipeline-fixture.ts';
import { uniquePrefix, type Proc } from '../support/pipeline.ts';

const fx = usePipeline({
  name: 'sbopts',
  schema: `
    CREATE TABLE floats (id int PRIMARY KEY, d double precision, note text);
    INSERT INTO floats VALUES (1, 'NaN', 'nan'), (2, 'Infinity', 'inf'), (3, '-Infinity', '-inf'), (4, '-0', 'minus zero'),
                              (5, 1e308, 'big'), (6, 0.1, 'plain'), (7, NULL, NULL);`,
  tables: ['public.floats'],
  config: { source: { pollIntervalMs: 50 } },
});

type Options = { excludeColumns?: string[]; textColumns?: string[] };

/** An applier on a new standby of `kind`, with this standby's options for public.floats. */
async function applier(prefix: string, kind: 'postgres' | 'mariadb', id: string, options?: Options, table = 'public.floats') {
  const standby = await fx.standby(kind, `sb${id.slice(0, 6)}`);
  const file = fx.config(prefix, { standby: { id, url: standby.url, ...(options ? { tables: [{ name: table, ...options }] } : {}) } });
  return { standby, file, app: fx.apply(file) };
}

const caughtUp = (prefix: string, a: { standby: Standby; app: Proc }) => fx.waitCaughtUpWhileRunning(prefix, a.standby, a.app);

const stopped = (app: Proc) => stoppedWith(app);

describe("a standby's own column options", () => {
  const prefix = uniquePrefix('opts');

  it('NaN, Infinity, -Infinity, -0 and 1e308: exact on PostgreSQL, exact text on MariaDB with textColumns, absent with excludeColumns', async () => {
    const cap = fx.capture(fx.config(prefix));
    const pgs = await applier(prefix, 'postgres', 'pg-plain');
    const text = await applier(prefix, 'mariadb', 'maria-text', { textColumns: ['d'] });
    const excl = await applier(prefix, 'mariadb', 'maria-excl', { excludeColumns: ['d'] });
    for (const a of [pgs, text, excl]) await caughtUp(prefix, a);

    const source = (await fx.admin.query(`SELECT id, d::text AS d, note FROM floats ORDER BY id`)).rows;
    expect(source.map((r) => r.d)).toEqual(['NaN', 'Infinity', '-Infinity', '-0', '1e+308', '0.1', null]);
    // PostgreSQL: the values themselves
    expect(await pgs.standby.query(`SELECT id, d::text AS d, note FROM public.floats ORDER BY id`)).toEqual(source);
    expect((await pgs.standby.query(`SELECT 1 FROM public.floats WHERE d = 'NaN'::float8 AND id = 1`)).length).toBe(1);
    // MariaDB, textColumns: the exact canonical text of each value, in a text column
    expect(await text.standby.query(`SELECT id, d, note FROM floats ORDER BY id`)).toEqual(source);
    const [{ t }] = await text.standby.query(`SELECT data_type AS t FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = 'floats' AND column_name = 'd'`);
    expect(t).toBe('longtext');
    // MariaDB, excludeColumns: no such column, everything else there
    const cols = await excl.standby.query(`SELECT column_name AS c FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = 'floats' ORDER BY ordinal_position`);
    expect(cols.map((c) => c.c)).toEqual(['id', 'note']);
    expect(await excl.standby.query(`SELECT id, note FROM floats ORDER BY id`)).toEqual(source.map((r) => ({ id: r.id, note: r.note })));

    // later changes keep flowing through the options
    await fx.admin.query(`UPDATE floats SET d = '-Infinity', note = 'changed' WHERE id = 6`);
    await fx.admin.query(`INSERT INTO floats VALUES (8, 5e-324, 'tiny')`);
    for (const a of [pgs, text, excl]) await caughtUp(prefix, a);
    expect((await text.standby.query(`SELECT id, d, note FROM floats WHERE id IN (6, 8) ORDER BY id`))).toEqual([
      { id: 6, d: '-Infinity', note: 'changed' },
      { id: 8, d: '5e-324', note: 'tiny' },
    ]);
    expect((await excl.standby.query(`SELECT note FROM floats WHERE id = 8`))[0].note).toBe('tiny');
    for (const a of [pgs, text, excl]) await a.app.kill('SIGTERM');
    await cap.kill('SIGTERM');
  });

  it('a MariaDB standby without options stops on the first such value, naming table, column, value and both options', async () => {
    const plain = await applier(prefix, 'mariadb', 'maria-plain');
    const { code, error } = await stopped(plain.app);
    expect(code, plain.app.stderr().slice(-3000)).toBe(5);
    expect(error).toContain('source table public.floats');
    expect(error).toContain('column d (double precision)');
    expect(error).toContain('at key (id=1)');
    expect(error).toContain('float value NaN');
    expect(error).toContain('textColumns');
    expect(error).toContain('excludeColumns');
    expect(plain.app.stderr()).not.toMatch(/^\s+at /m);
    // nothing of the refused window: no row at all
    expect(await plain.standby.query(`SELECT count(*) AS n FROM floats`).catch(() => [{ n: 0 }])).toEqual([{ n: 0 }]);
  });

  it('options naming a column the table does not have, or a key column, stop the applier at start naming it', async () => {
    const typo = await applier(prefix, 'mariadb', 'maria-typo', { textColumns: ['dd'] });
    const t = await stopped(typo.app);
    expect(t.code).toBe(2);
    expect(t.error).toContain('standby.tables entry public.floats: textColumns names column "dd", which the table does not have');
    expect(t.error).toContain('the table\'s columns: id, d, note');
    expect(typo.app.stderr()).not.toContain('apply running');

    const key = await applier(prefix, 'postgres', 'pg-key', { excludeColumns: ['id'] });
    const k = await stopped(key.app);
    expect(k.code).toBe(2);
    expect(k.error).toContain('excludeColumns names "id", a primary key column');

    const other = await applier(prefix, 'postgres', 'pg-other', { textColumns: ['d'] }, 'public.nope');
    const o = await stopped(other.app);
    expect(o.code).toBe(2);
    expect(o.error).toContain('standby.tables[0]: table public.nope is not one capture replicates (source.tables: public.floats)');
  });
});
