// Tables with every kind of name PostgreSQL accepts, end to end through real processes: `ct enable`
// with the names as arguments in PostgreSQL's quoting, `source.tables` with them in the quoted and
// the object form, capture to one distinct topic per table (the documented escaping, including two
// pairs of tables the old replace-with-underscore scheme put into one topic or into topics Kafka
// refuses side by side), and apply to a PostgreSQL and a MariaDB standby that equal the source by
// the test's own SQL. A name MariaDB cannot hold stops that standby's applier with an error naming it.
import { describe, expect, it } from 'vitest';
import type { TableRef } from '../../src/core/model.ts';
import { usePipeline, type Standby } from '../support/pipeline-fixture.ts';
import { readAll, uniquePrefix } from '../support/pipeline.ts';

interface Case {
  ref: TableRef;
  /** how source.tables lists it */
  config: string | { schema: string; table: string } | { name: string };
  /** as a `ct enable` argument (PostgreSQL quoting) */
  arg: string;
  /** the documented topic, after the prefix */
  topic: string;
  /** key and value column names, as created */
  key: string;
  value: string;
}

const CASES: Case[] = [
  {
    ref: { schema: 'Sales Ops', table: 'Order Lines' }, config: '"Sales Ops"."Order Lines"', arg: '"Sales Ops"."Order Lines"',
    topic: 'Sales-20Ops.Order-20Lines', key: 'Line No', value: 'Unit Price',
  },
  {
    ref: { schema: 'MixedCase', table: 'select' }, config: { schema: 'MixedCase', table: 'select' }, arg: '"MixedCase".select',
    topic: 'MixedCase.select', key: 'from', value: 'Where',
  },
  {
    ref: { schema: 'public', table: '注文明細' }, config: 'public.注文明細', arg: 'PUBLIC.注文明細',
    topic: 'public.-E6-B3-A8-E6-96-87-E6-98-8E-E7-B4-B0', key: 'id', value: '品名',
  },
  // the old scheme: a.b_c -> p.a.b_c, a."b c" -> p.a.b_c (one topic), "a.b".c -> p.a_b.c (refused by
  // Kafka next to p.a.b_c, which it sees as the same name)
  { ref: { schema: 'a', table: 'b_c' }, config: 'a.b_c', arg: 'a.b_c', topic: 'a.b_c', key: 'id', value: 'v' },
  { ref: { schema: 'a.b', table: 'c' }, config: { name: '"a.b"."c"' }, arg: '"a.b".C', topic: 'a-2Eb.c', key: 'id', value: 'v' },
  { ref: { schema: 'a', table: 'b c' }, config: { schema: 'a', table: 'b c' }, arg: 'a."b c"', topic: 'a.b-20c', key: 'id', value: 'v' },
];

const q = (name: string) => `"${name.replace(/"/g, '""')}"`;
const qt = (t: TableRef) => `${q(t.schema)}.${q(t.table)}`;

const fx = usePipeline({
  name: 'ident',
  schema: `
    CREATE SCHEMA "Sales Ops";
    CREATE SCHEMA "MixedCase";
    CREATE SCHEMA a;
    CREATE SCHEMA "a.b";
    ${CASES.map((c) => `CREATE TABLE ${qt(c.ref)} (${q(c.key)} int PRIMARY KEY, ${q(c.value)} text);
    INSERT INTO ${qt(c.ref)} SELECT g, '${c.ref.table.replace(/'/g, "''")} ' || g FROM generate_series(1, 5) g;`).join('\n    ')}
    CREATE TABLE public."🦜" (id int PRIMARY KEY, v text);
    INSERT INTO public."🦜" VALUES (1, 'parrot');`,
});

/** The test's own SQL: all rows of a table, key order, as text. */
async function rowsOf(query: (sql: string) => Promise<any[]>, from: string, c: Case, mariadb = false): Promise<string[][]> {
  const id = (n: string) => (mariadb ? `\`${n.replace(/`/g, '``')}\`` : q(n));
  const rows = await query(`SELECT CAST(${id(c.key)} AS CHAR(20)) AS k, ${id(c.value)} AS v FROM ${from} ORDER BY ${id(c.key)}`.replace('CHAR(20)', mariadb ? 'CHAR(20)' : 'text'));
  return rows.map((r) => [String(r.k), r.v]);
}

function standbyTable(s: Standby, c: Case): string {
  return s.kind === 'postgres' ? qt(c.ref) : `\`${s.name}\`.\`${c.ref.table.replace(/`/g, '``')}\``;
}

describe('tables named as PostgreSQL allows, end to end', () => {
  it('ct enable takes the names in PostgreSQL\'s quoting (unquoted parts fold to lower case)', async () => {
    const r = await fx.run(['ct', 'enable', '--url', fx.db.url, ...CASES.map((c) => c.arg), 'public."🦜"']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('change tracking enabled: "Sales Ops"."Order Lines"');
    expect(r.stdout).toContain('change tracking enabled: "a.b".c');
    const tracked = (await fx.admin.query(`SELECT schema_name AS s, table_name AS t FROM ctrelay.tables ORDER BY id`)).rows;
    expect(tracked).toEqual([...CASES.map((c) => ({ s: c.ref.schema, t: c.ref.table })), { s: 'public', t: '🦜' }]);
    // a name that is not valid in PostgreSQL's quoting is refused, naming it and where
    const bad = await fx.run(['ct', 'enable', '--url', fx.db.url, 'Sales Ops.Order Lines']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('invalid table name "Sales Ops.Order Lines": unexpected "O" at position 7');
  });

  it('captures each table to its own topic and applies them to PostgreSQL and MariaDB standbys equal to the source', async () => {
    const prefix = uniquePrefix('ident');
    const pgStandby = await fx.standby('postgres', 'identpg');
    const myStandby = await fx.standby('mariadb', 'identmy');
    const tables = CASES.map((c) => c.config);
    const pgFile = fx.config(prefix, { source: { tables }, standby: { url: pgStandby.url, id: 'pg' } });
    const myFile = fx.config(prefix, { source: { tables }, standby: { url: myStandby.url, id: 'my' } });

    const capture = fx.capture(pgFile);
    await capture.waitFor('capture running');
    fx.apply(pgFile);
    fx.apply(myFile);
    // changes while everything runs
    for (const c of CASES) {
      await fx.admin.query(`UPDATE ${qt(c.ref)} SET ${q(c.value)} = ${q(c.value)} || ' updated' WHERE ${q(c.key)} = 2`);
      await fx.admin.query(`DELETE FROM ${qt(c.ref)} WHERE ${q(c.key)} = 3`);
      await fx.admin.query(`INSERT INTO ${qt(c.ref)} VALUES (6, 'six "quoted" ''x''')`);
    }
    await fx.waitStandbyCaughtUp(prefix, pgStandby);
    await fx.waitStandbyCaughtUp(prefix, myStandby);

    // one topic per table, named by the documented escaping, holding only that table's events
    const admin = await fx.kafka.admin();
    try {
      for (const c of CASES) expect((await admin.offsets(`${prefix}.${c.topic}`)).length, c.topic).toBe(1);
    } finally {
      await admin.close();
    }
    const captured = await fx.captured(prefix, CASES.map((c) => c.ref));
    for (const c of CASES) {
      const records = await readAll(fx.kafka, [`${prefix}.${c.topic}`]);
      for (const r of records.filter((x) => x.value)) {
        const d = await captured.decoder.decodeEvent(r.value!, `${r.topic}@${r.offset}`);
        expect({ schema: d.table.schema, table: d.table.table }, r.topic).toEqual(c.ref);
      }
    }

    // source, PostgreSQL standby and MariaDB standby hold the same rows, read by the test's own SQL
    for (const c of CASES) {
      const source = await rowsOf((sql) => fx.admin.query(sql).then((r) => r.rows), qt(c.ref), c);
      expect(source.length, qt(c.ref)).toBe(5);
      expect(await rowsOf((sql) => pgStandby.query(sql), standbyTable(pgStandby, c), c), `PostgreSQL ${qt(c.ref)}`).toEqual(source);
      expect(await rowsOf((sql) => myStandby.query(sql), standbyTable(myStandby, c), c, true), `MariaDB ${qt(c.ref)}`).toEqual(source);
    }
    await capture.kill('SIGTERM');
  });

  it('a table name MariaDB cannot hold stops that applier with an error naming the table', async () => {
    expect((await fx.run(['ct', 'enable', '--url', fx.db.url, 'public."🦜"'])).code).toBe(0);
    const prefix = uniquePrefix('identbad');
    const standby = await fx.standby('mariadb', 'identbad');
    const file = fx.config(prefix, { source: { tables: ['public."🦜"'] }, standby: { url: standby.url, id: 'my' } });
    fx.capture(file);
    await fx.waitCaptured(prefix);
    const r = await fx.run(['apply', '-c', file], 120_000);
    expect(r.code, r.stderr).toBe(5);
    const error = r.stderr.split('\n').find((l) => l.startsWith('error: '));
    expect(error, r.stderr).toContain('🦜');
  });
});
