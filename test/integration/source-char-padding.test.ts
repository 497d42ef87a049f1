// PostgreSQL char(n) holds its values blank-padded to n characters, and that padded string is the
// canonical value of a fixed-length string: 'ab' in a char(5) is 'ab   ' at the source, so it must
// be 'ab   ' on the wire (snapshot and changes, values and keys) and on a PostgreSQL standby.
// (Reading the column as ::text would drop the padding: bpchar's cast to text trims it.)
import { describe, expect, it } from 'vitest';
import { usePipeline } from '../support/pipeline-fixture.ts';
import { uniquePrefix } from '../support/pipeline.ts';

const fx = usePipeline({
  name: 'srcchar',
  schema: `
    CREATE TABLE codes (code char(5) PRIMARY KEY, label char(3), note varchar(10));
    INSERT INTO codes VALUES ('ab', 'x', 'ab  '), ('abcde', NULL, NULL), ('  a', 'xyz', '');`,
  tables: ['public.codes'],
});

describe('fixed-length strings keep their padding', () => {
  it('char(5) \'ab\' is \'ab   \' on the wire and on a PostgreSQL standby, in snapshots, changes and keys', async () => {
    const prefix = uniquePrefix('char');
    const standby = await fx.standby('postgres', 'sbychar');
    const file = fx.config(prefix, { standby: { id: 'pg-char', url: standby.url } });
    const capture = fx.capture(file);
    await capture.waitFor('capture running');
    fx.apply(file);
    await fx.waitStandbyCaughtUp(prefix, standby);
    // changes after the snapshot: an insert, an update of a padded value, a delete by padded key
    await fx.admin.query(`INSERT INTO codes VALUES ('q', 'p', 'q ')`);
    await fx.admin.query(`UPDATE codes SET label = 'y' WHERE code = 'abcde'`);
    await fx.admin.query(`DELETE FROM codes WHERE code = '  a'`);
    await fx.waitStandbyCaughtUp(prefix, standby);

    // the source as it holds the values (the test's own SQL: char's output keeps the padding)
    const src = (await fx.admin.query(`SELECT code, label, note FROM codes ORDER BY code`)).rows;
    expect(src).toEqual([
      { code: 'ab   ', label: 'x  ', note: 'ab  ' },
      { code: 'abcde', label: 'y  ', note: null },
      { code: 'q    ', label: 'p  ', note: 'q ' },
    ]);

    // on the wire: every event, snapshot ('r') and change, keys included
    const captured = await fx.captured(prefix);
    const events = [...captured.events.values()].flat();
    const snapshot = events.filter((e) => e.op === 'r');
    expect(snapshot.map((e) => e.after).sort((a, b) => String(a!.code).localeCompare(String(b!.code)))).toEqual([
      { code: '  a  ', label: 'xyz', note: '' },
      { code: 'ab   ', label: 'x  ', note: 'ab  ' },
      { code: 'abcde', label: null, note: null },
    ]);
    const changes = events.filter((e) => e.op !== 'r').map((e) => [e.op, e.key, e.after]);
    expect(changes).toEqual([
      ['c', { code: 'q    ' }, { code: 'q    ', label: 'p  ', note: 'q ' }],
      ['u', { code: 'abcde' }, { code: 'abcde', label: 'y  ', note: null }],
      ['d', { code: '  a  ' }, null],
    ]);
    expect([...captured.fold.tables.get('public.codes')!.rows.values()].map((r) => r.code).sort()).toEqual(['ab   ', 'abcde', 'q    ']);

    // on the PostgreSQL standby, whatever type it gives the column (char(5) or varchar(5))
    const sby = await standby.query(`SELECT code, label, note FROM public.codes ORDER BY code`);
    expect(sby).toEqual(src);
    await capture.kill('SIGTERM');
  });
});
