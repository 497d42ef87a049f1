// Types kept exact on the standby, with capture and apply running as real processes and the test's
// own SQL on both sides: a PostgreSQL real is a real (PostgreSQL) / FLOAT (MariaDB) whose value
// reads back as exactly the source's float32, and a char(n) is a char(n) keeping its padding
// ('ab   ' for char(5)), on both standbys.
//
// One assertion needs the source half of char padding (capture publishing 'x' + 299 spaces, not
// 'x', for a char(300)): the MariaDB standby's char(300) column, which MariaDB cannot hold as
// CHAR (255 at most) and keeps as text, padding included. It is marked below.
import { describe, expect, it } from 'vitest';
import { usePipeline, type Standby } from '../support/pipeline-fixture.ts';
import { uniquePrefix, type Proc } from '../support/pipeline.ts';

const fx = usePipeline({
  name: 'sbexact',
  schema: `
    CREATE TABLE exact (id int PRIMARY KEY, r real, c char(5), k char(3), long char(300));
    INSERT INTO exact VALUES (1, 0.1, 'ab', 'a', 'x'), (2, 16777216, '', 'b ', ''), (3, 3.4028235e38, 'abcde', 'abc', NULL),
                             (4, 1.4e-45, ' a', ' c', 'y  '), (5, -1.17549435e-38, 'a b', NULL, NULL), (6, NULL, NULL, NULL, NULL);`,
  tables: ['public.exact'],
  config: { source: { pollIntervalMs: 50 } },
});

const caughtUp = (prefix: string, a: { standby: Standby; app: Proc }) => fx.waitCaughtUpWhileRunning(prefix, a.standby, a.app);

describe('exact types on the standby', () => {
  it('real and char(n) are exact on PostgreSQL and MariaDB standbys', async () => {
    const prefix = uniquePrefix('exact');
    const appliers: { standby: Standby; app: Proc }[] = [];
    for (const kind of ['postgres', 'mariadb'] as const) {
      const standby = await fx.standby(kind, `sbx${kind.slice(0, 2)}`);
      appliers.push({ standby, app: fx.apply(fx.config(prefix, { standby: { id: `${kind}-exact`, url: standby.url } })) });
    }
    const cap = fx.capture(fx.config(prefix));
    for (const a of appliers) await caughtUp(prefix, a);
    await fx.admin.query(`UPDATE exact SET r = 0.3, c = 'z' WHERE id = 1`);
    await fx.admin.query(`INSERT INTO exact VALUES (7, 123.456, 'q', 'q', 'q')`);
    for (const a of appliers) await caughtUp(prefix, a);

    // the source's own spelling: a real as its shortest decimal, a char(n) padded to n
    const source = (await fx.admin.query(`SELECT id, r::text AS r, c, k, long FROM exact ORDER BY id`)).rows;
    expect(source[0]).toMatchObject({ r: '0.3', c: 'z    ', k: 'a  ' });
    expect(source[1]).toMatchObject({ c: '     ', k: 'b  ' });
    const [pgs, maria] = appliers;

    // PostgreSQL: the same types, so the same text
    expect(await pgs.standby.query(`SELECT id, r::text AS r, c, k, long FROM public.exact ORDER BY id`)).toEqual(source);
    const pgTypes = await pgs.standby.query(`SELECT attname AS c, format_type(atttypid, atttypmod) AS t FROM pg_attribute WHERE attrelid = 'public.exact'::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum`);
    expect(pgTypes.map((r) => r.t)).toEqual(['integer', 'real', 'character(5)', 'character(3)', 'character(300)']);

    // MariaDB: FLOAT and CHAR(n). The server prints a FLOAT with 6 digits, so read it as a DOUBLE
    // (its exact value); CHAR keeps its padding only under PAD_CHAR_TO_FULL_LENGTH.
    await maria.standby.query(`SET SESSION sql_mode = CONCAT(@@sql_mode, ',PAD_CHAR_TO_FULL_LENGTH')`);
    const rows = await maria.standby.query('SELECT id, CAST(r AS DOUBLE) AS r, c, k, `long` FROM exact ORDER BY id');
    expect(rows.map((r) => r.id)).toEqual(source.map((r) => r.id));
    rows.forEach((r, i) => {
      const s = source[i];
      // exactly the float32 the source holds: fround of what each server prints
      expect(r.r === null ? null : Math.fround(r.r), `r of id ${s.id}`).toBe(s.r === null ? null : Math.fround(Number(s.r)));
      expect(r.r === null || Math.fround(r.r) === r.r, `r of id ${s.id} is a float32`).toBe(true);
      expect({ c: r.c, k: r.k }, `id ${s.id}`).toEqual({ c: s.c, k: s.k });
    });
    // NEEDS THE SOURCE HALF: capture publishing char values padded ('x' + 299 spaces)
    expect(rows.map((r) => r.long)).toEqual(source.map((r) => r.long));
    const mariaTypes = await maria.standby.query(`SELECT column_type AS t FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = 'exact' ORDER BY ordinal_position`);
    expect(mariaTypes.map((r) => r.t)).toEqual(['int(11)', 'float', 'char(5)', 'char(3)', 'longtext']);

    // a CHAR column compares by its padded value
    expect((await maria.standby.query(`SELECT id FROM exact WHERE k = 'b  '`)).map((r) => r.id)).toEqual([2]);
    for (const a of appliers) await a.app.kill('SIGTERM');
    await cap.kill('SIGTERM');
  });
});
