// `ctrelay verify` as a real process against a PostgreSQL source replicated by real capture and apply
// processes to a PostgreSQL and a MariaDB standby: equal tables of every supported type verify equal
// (PostgreSQL -> MariaDB included, through the canonical text computed inside each database); then
// differences made by hand on each standby (one per type, the smallest ones: the last decimal place,
// one microsecond, one byte, one trailing space; a missing, an extra and a re-keyed row in a
// 1,000,000-row table) are each found and named exactly, by table, key, kind and column; `--repair`
// re-sends exactly those keys through the pipeline, and `ctrelay snapshot` a whole table or a key range.
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { usePipeline, type Standby } from '../support/pipeline-fixture.ts';
import { uniquePrefix, type Proc } from '../support/pipeline.ts';

const ROWS = 1_000_000;

const fx = usePipeline({
  name: 'verify',
  schema: `
    CREATE TABLE kinds (id bigint PRIMARY KEY, b boolean, s smallint, i integer, r real, d double precision,
      n numeric(12,4), vc varchar(20), t text, c char(5), by bytea, u uuid, j jsonb, dt date, tm time(6),
      ts timestamp(6), tz timestamptz(6));
    INSERT INTO kinds
    SELECT g, g % 2 = 0, g, g * 1000, g / 3.0, g / 7.0, g * 1.2345, 'v' || g, repeat('t', g) || ' 😀', 'c' || g,
           decode(lpad(to_hex(g), 8, '0') || '00', 'hex'), md5(g::text)::uuid, jsonb_build_object('g', g, 'a', 'x y'),
           date '2024-02-29' + g, time '00:00:00' + g * interval '1 second 1 microsecond',
           timestamp '2000-01-01 00:00:00.000001' + g * interval '1 day 1 microsecond',
           timestamptz '2024-06-01 12:00:00+02' + g * interval '1 hour'
      FROM generate_series(1, 40) g;
    INSERT INTO kinds (id) VALUES (41);
    INSERT INTO kinds (id, t, vc, by) VALUES (42, '', '', '');
    CREATE TABLE texts (k text PRIMARY KEY, v int);
    INSERT INTO texts VALUES ('a', 1), ('B', 2), ('b', 3), ('ä', 4), ('😀', 5), ('a b', 6), ('Z', 7), ('a ', 8), ('', 9);
    CREATE TABLE big (id integer PRIMARY KEY, v text, n numeric(10,2));
    INSERT INTO big SELECT g, 'row ' || g, g / 100.0 FROM generate_series(1, ${ROWS}) g;`,
  tables: ['public.kinds', 'public.texts', 'public.big'],
  config: { source: { pollIntervalMs: 100, maxBatchRows: 20_000, snapshotChunkRows: 50_000 } },
});

interface Report {
  equal: boolean;
  tables: { table: string; rows: string; differences: number; unsettled: string[]; examples: { key: string; kind: string; columns: string[] }[] }[];
}

async function verify(prefix: string, standby: Standby, id: string, args: string[] = []): Promise<{ code: number | null; report: Report; stdout: string; stderr: string }> {
  const json = join(tmpdir(), `${prefix}-${id}-${Date.now()}.json`);
  const file = fx.config(prefix, { standby: { id, url: standby.url, mergeBatches: 20 } });
  const r = await fx.run(['verify', '-c', file, '--json', json, '--wait', '20000', ...args], 300_000);
  let report: Report = { equal: false, tables: [] };
  try {
    report = JSON.parse(readFileSync(json, 'utf8'));
  } catch {
    throw new Error(`verify wrote no report (exit ${r.code}):\n${r.stderr.slice(-3000)}`);
  }
  return { ...r, report };
}

/** `table key kind columns` lines of a report's differences, sorted. */
function found(r: Report): string[] {
  return r.tables.flatMap((t) => t.examples.map((d) => `${t.table} ${d.key} ${d.kind}${d.columns.length ? ' ' + d.columns.join(',') : ''}`)).sort();
}

describe('ctrelay verify', () => {
  const prefix = uniquePrefix('verify');
  const appliers: { standby: Standby; app: Proc; id: string }[] = [];

  it('finds the standbys equal to the source, PostgreSQL and MariaDB, with every type', { timeout: 400_000 }, async () => {
    for (const kind of ['postgres', 'mariadb'] as const) {
      const standby = await fx.standby(kind, `vf${kind.slice(0, 2)}`);
      const id = `${kind}-verify`;
      appliers.push({ standby, app: fx.apply(fx.config(prefix, { standby: { id, url: standby.url, mergeBatches: 20 } })), id });
    }
    const cap = fx.capture(fx.config(prefix));
    for (const a of appliers) await fx.waitCaughtUpWhileRunning(prefix, a.standby, a.app).catch((err) => {
      throw new Error(`${err.message}\ncapture (exit ${cap.child.exitCode}):\n${cap.stderr().slice(-2000)}`);
    });
    for (const a of appliers) {
      const r = await verify(prefix, a.standby, a.id);
      expect(r.report.tables.map((t) => [t.table, t.rows, t.differences]), r.stdout + r.stderr).toEqual([
        ['public.kinds', '42', 0],
        ['public.texts', '9', 0],
        ['public.big', String(ROWS), 0],
      ]);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`verify: the standby ${a.id} equals the source`);
    }
  });

  it('names each difference made by hand on the standby: table, key, kind and column', { timeout: 300_000 }, async () => {
    const [pgs, maria] = appliers;
    const expected = [
      'public.big 1500000 extra', 'public.big 500000 missing', 'public.big 700000 missing', 'public.big 2000001 extra', 'public.big 12345 different n',
      'public.kinds 1 different b', 'public.kinds 2 different s', 'public.kinds 3 different i', 'public.kinds 4 different r', 'public.kinds 5 different d',
      'public.kinds 6 different n', 'public.kinds 7 different vc', 'public.kinds 8 different t', 'public.kinds 9 different by',
      'public.kinds 10 different u', 'public.kinds 11 different j', 'public.kinds 12 different dt', 'public.kinds 13 different tm',
      'public.kinds 14 different ts', 'public.kinds 15 different tz', 'public.kinds 41 different c', 'public.kinds 42 different t',
      'public.texts B missing', 'public.texts a different v',
    ].sort();
    await pgs.standby.query(`
      UPDATE big SET id = 1500000 WHERE id = 700000; DELETE FROM big WHERE id = 500000; INSERT INTO big VALUES (2000001, 'x', 1);
      UPDATE big SET n = n + 0.01 WHERE id = 12345;
      UPDATE kinds SET b = NOT b WHERE id = 1; UPDATE kinds SET s = s + 1 WHERE id = 2; UPDATE kinds SET i = i - 1 WHERE id = 3;
      UPDATE kinds SET r = 'NaN' WHERE id = 4; UPDATE kinds SET d = d * (1 + 2.3e-16) WHERE id = 5; UPDATE kinds SET n = n + 0.0001 WHERE id = 6;
      UPDATE kinds SET vc = vc || ' ' WHERE id = 7; UPDATE kinds SET t = upper(t) WHERE id = 8; UPDATE kinds SET by = set_byte(by, 4, 1) WHERE id = 9;
      UPDATE kinds SET u = '00000000-0000-0000-0000-000000000000' WHERE id = 10; UPDATE kinds SET j = '{"g": 11}' WHERE id = 11;
      UPDATE kinds SET dt = dt + 1 WHERE id = 12; UPDATE kinds SET tm = tm + interval '1 microsecond' WHERE id = 13;
      UPDATE kinds SET ts = ts - interval '1 microsecond' WHERE id = 14; UPDATE kinds SET tz = tz + interval '1 microsecond' WHERE id = 15;
      UPDATE kinds SET c = 'x' WHERE id = 41; UPDATE kinds SET t = NULL WHERE id = 42;
      DELETE FROM texts WHERE k = 'B'; UPDATE texts SET v = 0 WHERE k = 'a';`);
    const p = await verify(prefix, pgs.standby, pgs.id);
    expect(found(p.report), p.stdout).toEqual(expected);
    expect(p.code).toBe(1);
    expect(p.stdout).toContain('public.big: 5 DIFFERENT');
    expect(p.stdout).toContain('key 9: different in by');

    const m = maria.standby;
    for (const sql of [
      'UPDATE big SET id = 1500000 WHERE id = 700000', 'DELETE FROM big WHERE id = 500000', "INSERT INTO big VALUES (2000001, 'x', 1)",
      'UPDATE big SET n = n + 0.01 WHERE id = 12345',
      'UPDATE kinds SET b = 1 - b WHERE id = 1', 'UPDATE kinds SET s = s + 1 WHERE id = 2', 'UPDATE kinds SET i = i - 1 WHERE id = 3',
      'UPDATE kinds SET r = r * 2 WHERE id = 4', 'UPDATE kinds SET d = d * (1 + 2.3e-16) WHERE id = 5', 'UPDATE kinds SET n = n + 0.0001 WHERE id = 6',
      "UPDATE kinds SET vc = CONCAT(vc, ' ') WHERE id = 7", 'UPDATE kinds SET t = UPPER(t) WHERE id = 8', "UPDATE kinds SET `by` = INSERT(`by`, 5, 1, X'01') WHERE id = 9",
      "UPDATE kinds SET u = '00000000-0000-0000-0000-000000000000' WHERE id = 10", `UPDATE kinds SET j = '{"g": 11}' WHERE id = 11`,
      'UPDATE kinds SET dt = dt + INTERVAL 1 DAY WHERE id = 12', 'UPDATE kinds SET tm = ADDTIME(tm, 0.000001) WHERE id = 13',
      'UPDATE kinds SET ts = ts - INTERVAL 1 MICROSECOND WHERE id = 14', 'UPDATE kinds SET tz = tz + INTERVAL 1 MICROSECOND WHERE id = 15',
      "UPDATE kinds SET c = 'x' WHERE id = 41", 'UPDATE kinds SET t = NULL WHERE id = 42',
      "DELETE FROM texts WHERE k = 'B'", "UPDATE texts SET v = 0 WHERE k = 'a'",
    ]) await m.query(sql);
    const r = await verify(prefix, m, maria.id);
    expect(found(r.report), r.stdout).toEqual(expected);
    expect(r.code).toBe(1);
  });

  // Repair re-sends exactly the differing keys through the pipeline (marked changed on the source),
  // so the MariaDB standby, which differs in the same keys, is repaired by the same changes.
  it('verify --repair re-sends the differing keys through the running pipeline; both standbys end equal', { timeout: 400_000 }, async () => {
    const [pgs, maria] = appliers;
    const r = await verify(prefix, pgs.standby, pgs.id, ['--repair', '--repair-wait', '300000']);
    expect(r.report.tables.map((t) => [t.table, t.differences]), r.stdout + r.stderr.slice(-3000)).toEqual([
      ['public.kinds', 0], ['public.texts', 0], ['public.big', 0],
    ]);
    expect(r.code).toBe(0);
    // 17 changed rows; 2 texts; big: 2 missing, 2 extra and 1 different row
    expect(r.stderr).toContain('re-snapshot requested for 17 key(s) of public.kinds');
    expect(r.stderr).toContain('re-snapshot requested for 2 key(s) of public.texts');
    expect(r.stderr).toContain('re-snapshot requested for 5 key(s) of public.big');
    // the test's own comparison, not verify's
    await fx.expectStandbyEqualsSource(pgs.standby);
    await fx.waitCaughtUpWhileRunning(prefix, maria.standby, maria.app);
    await fx.expectStandbyEqualsSource(maria.standby);
    expect((await verify(prefix, maria.standby, maria.id)).code).toBe(0);
  });

  it('ctrelay snapshot re-sends a whole table, or a key range of it, through the pipeline', { timeout: 300_000 }, async () => {
    const [pgs] = appliers;
    await pgs.standby.query(`INSERT INTO texts VALUES ('zz', 99); UPDATE texts SET v = -1 WHERE k = 'Z';
      UPDATE big SET v = 'changed' WHERE id BETWEEN 100 AND 102; DELETE FROM big WHERE id = 105; UPDATE big SET v = 'outside' WHERE id = 111`);
    const file = fx.config(prefix, { standby: { id: pgs.id, url: pgs.standby.url, mergeBatches: 20 } });
    const whole = await fx.run(['snapshot', '-c', file, '-t', 'public.texts', '--wait', '120000'], 150_000);
    expect(whole.code, whole.stderr).toBe(0);
    expect(whole.stdout).toContain(`the standby ${pgs.id} applied the re-snapshot`);
    const range = await fx.run(['snapshot', '-c', file, '-t', 'public.big', '--keys', '100..110', '--wait', '120000'], 150_000);
    expect(range.code, range.stderr).toBe(0);
    expect(range.stdout).toContain('re-snapshot requested for 11 key(s) of public.big');
    // texts whole again (the extra row gone); big's range back, the row outside it left as it was
    expect(await pgs.standby.query(`SELECT k, v FROM texts WHERE k IN ('zz', 'Z') ORDER BY k`)).toEqual([{ k: 'Z', v: 7 }]);
    expect(await pgs.standby.query(`SELECT id, v FROM big WHERE id BETWEEN 100 AND 111 AND v <> 'row ' || id ORDER BY id`)).toEqual([{ id: 111, v: 'outside' }]);
    expect(await pgs.standby.query(`SELECT count(*)::int AS n FROM big WHERE id BETWEEN 100 AND 110`)).toEqual([{ n: 11 }]);
    await pgs.standby.query(`UPDATE big SET v = 'row 111' WHERE id = 111`);

    const bad = await fx.run(['snapshot', '-c', file, '-t', 'public.big', '--keys', 'x..y', '--wait', '0']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--keys: a key value is not valid for the key of public\.big \(id integer\)/);
    expect(bad.stderr).not.toMatch(/\n\s+at /);
  });

  it('ctrelay snapshot names a table capture does not replicate (exit 2)', async () => {
    const r = await fx.run(['snapshot', '-c', fx.config(prefix), '-t', 'public.nosuch', '--wait', '0']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--table: public.nosuch is not a table capture replicates');
  });
});
