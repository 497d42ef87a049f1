// SQL Server types end to end: every type ctrelay maps, read through changes and snapshot chunks
// into its canonical value (src/core/model.ts); keys whose SQL Server order is not their text order
// (uniqueidentifier) or depends on a column collation other than the database's; the types ctrelay
// refuses, named with their table and column. NOT RUN YET against a SQL Server.
import { describe, expect, it } from 'vitest';
import { SourceError } from '../../../../src/core/errors.ts';
import type { Row } from '../../../../src/core/model.ts';
import { currentVersion, pollTable } from '../../../support/source-harness.ts';
import { inPoll, pages, query, useCaseDatabase, type SqlServerCaseContext } from './support.ts';

const ALL_TYPES = `id int NOT NULL PRIMARY KEY, dto datetimeoffset(7) NULL, t7 time(7) NULL, dt2 datetime2(7) NULL,
  dt datetime NULL, sdt smalldatetime NULL, m money NULL, sm smallmoney NULL, g uniqueidentifier NULL, c char(5) NULL,
  vc varchar(20) COLLATE Latin1_General_CS_AS NULL, x xml NULL, h hierarchyid NULL, rv rowversion, r real NULL, b bit NULL,
  ti tinyint NULL, d date NULL`;

const ALL_VALUES = `(1, '2024-02-29 12:34:56.1234567 +05:30', '23:59:59.9999999', '0001-01-01 00:00:00.0000001',
  '2024-02-29 12:34:56.997', '2024-02-29 12:34:00', 922337203685477.5807, -214748.3648, '6F9619FF-8B86-D011-B42D-00C04FC964FF',
  'ab', 'MiXeD', N'<a b="1">x</a>', hierarchyid::Parse('/1/3/'), DEFAULT, CAST(0.1 AS real), 1, 255, '9999-12-31'),
  (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, DEFAULT, NULL, NULL, NULL, NULL)`;

/** The canonical values of ALL_VALUES, without the rowversion (checked against the server's own). */
const EXPECTED: Row[] = [
  {
    id: 1, dto: '2024-02-29T12:34:56.1234567+05:30', t7: '23:59:59.9999999', dt2: '0001-01-01T00:00:00.0000001',
    dt: '2024-02-29T12:34:56.997', sdt: '2024-02-29T12:34:00', m: '922337203685477.5807', sm: '-214748.3648',
    g: '6f9619ff-8b86-d011-b42d-00c04fc964ff', c: 'ab   ', vc: 'MiXeD', x: '<a b="1">x</a>', h: '/1/3/',
    r: Math.fround(0.1), b: true, ti: 255, d: '9999-12-31',
  },
  { id: 2, dto: null, t7: null, dt2: null, dt: null, sdt: null, m: null, sm: null, g: null, c: null, vc: null, x: null, h: null, r: null, b: null, ti: null, d: null },
];

function withoutRowversion(rows: Row[]): Row[] {
  return rows.map(({ rv: _rv, ...rest }) => rest);
}

export function typeCases(ctx: () => SqlServerCaseContext): void {
  describe('SQL Server types', () => {
    const cx = useCaseDatabase(ctx, 'ctr_types', {
      alltypes: ALL_TYPES,
      guids: 'g uniqueidentifier NOT NULL PRIMARY KEY, n int NULL',
      cs: 'k varchar(10) COLLATE Latin1_General_CS_AS NOT NULL PRIMARY KEY, p char(4) NULL, n int NULL',
      odd: 'id int NOT NULL PRIMARY KEY, v sql_variant NULL, geo geography NULL, n int NULL',
    }, ['alltypes', 'guids', 'cs']);

    it('maps each type to its documented ColumnType', () => {
      expect(cx.m.alltypes.columns.map((c) => [c.name, c.type.kind, c.sourceType])).toEqual([
        ['id', 'int32', 'int'], ['dto', 'datetimeoffset', 'datetimeoffset(7)'], ['t7', 'time', 'time(7)'], ['dt2', 'timestamp', 'datetime2(7)'],
        ['dt', 'timestamp', 'datetime'], ['sdt', 'timestamp', 'smalldatetime'], ['m', 'decimal', 'money'], ['sm', 'decimal', 'smallmoney'],
        ['g', 'uuid', 'uniqueidentifier'], ['c', 'string', 'char(5)'], ['vc', 'string', 'varchar(20)'], ['x', 'xml', 'xml'],
        ['h', 'string', 'hierarchyid'], ['rv', 'bytes', 'rowversion'], ['r', 'float32', 'real'], ['b', 'boolean', 'bit'],
        ['ti', 'int16', 'tinyint'], ['d', 'date', 'date'],
      ]);
    });

    it('reads every value into its canonical form, in changes and in snapshot chunks alike', async () => {
      const v = await currentVersion(cx.source);
      await cx.db.exec(`INSERT INTO [dbo].[alltypes] (id, dto, t7, dt2, dt, sdt, m, sm, g, c, vc, x, h, rv, r, b, ti, d) VALUES ${ALL_VALUES}`);
      const server = await query<{ id: number; rv: Buffer }>(cx.db.url, 'SELECT id, CONVERT(binary(8), rv) AS rv FROM dbo.alltypes ORDER BY id');
      const { rows } = await pollTable(cx.source, cx.m.alltypes, v);
      expect(withoutRowversion(rows.map((r) => r.row!))).toEqual(EXPECTED);
      expect(rows.map((r) => r.row!.rv)).toEqual(server.map((s) => s.rv));
      const chunk = await inPoll(cx.source, (s) => s.snapshotChunk(cx.m.alltypes, null, 10));
      expect(withoutRowversion(chunk)).toEqual(EXPECTED);
    });

    it('orders uniqueidentifier keys as SQL Server does (not as text), in pages of changes and in chunks', async () => {
      const guids = ['00000000-0000-0000-0000-000000000002', '00000000-0000-0000-0001-000000000001', 'ff000000-0000-0000-0000-000000000001', '01000000-0000-0000-0000-000000000003'];
      const v = await currentVersion(cx.source);
      await cx.db.exec(`INSERT INTO dbo.guids (g, n) VALUES ${guids.map((g, i) => `('${g}', ${i})`).join(', ')}`);
      // ORDER BY the uniqueidentifier column itself (an alias named g would sort the text)
      const order = (await query<{ s: string }>(cx.db.url, 'SELECT CONVERT(char(36), g) AS s FROM dbo.guids ORDER BY g')).map((r) => r.s.toLowerCase());
      // the case means something only if the server's order is not the text order
      expect(order).not.toEqual([...order].sort());
      const paged = await inPoll(cx.source, (s) => pages(s, cx.m.guids, v, 1));
      expect(paged.flat().map((r) => r.key.g)).toEqual(order);
      const chunked: string[] = [];
      await inPoll(cx.source, async (s) => {
        for (let after: Row | null = null; ;) {
          const [row] = await s.snapshotChunk(cx.m.guids, after, 1);
          if (!row) return;
          chunked.push(row.g as string);
          after = { g: row.g };
        }
      });
      expect(chunked).toEqual(order);
    });

    it('keeps a key column\'s own collation (case-sensitive here, whatever the database\'s and tempdb\'s): distinct keys, its order, padded char values', async () => {
      const v = await currentVersion(cx.source);
      await cx.db.exec("INSERT INTO dbo.cs (k, p, n) VALUES ('b', 'x', 1), ('A', 'xy', 2), ('a', NULL, 3), ('B', 'wxyz', 4)");
      const order = (await query<{ k: string }>(cx.db.url, 'SELECT k FROM dbo.cs ORDER BY k')).map((r) => r.k);
      const paged = (await inPoll(cx.source, (s) => pages(s, cx.m.cs, v, 1))).flat();
      expect(paged.map((r) => r.key.k)).toEqual(order);
      expect(new Set(paged.map((r) => r.key.k)).size).toBe(4);
      expect(paged.find((r) => r.key.k === 'A')!.row).toEqual({ k: 'A', p: 'xy  ', n: 2 });
      const before = await currentVersion(cx.source);
      await cx.db.exec("UPDATE dbo.cs SET n = 20 WHERE k = 'A'");
      expect((await pollTable(cx.source, cx.m.cs, before)).rows.map((r) => [r.op, r.key])).toEqual([['U', { k: 'A' }]]);
    });

    it('refuses sql_variant and geography naming table and column, and captures the table with them excluded', async () => {
      const err = await cx.source.describe([cx.t.odd.ref]).then(() => null, (e: unknown) => e as Error);
      expect(err).toBeInstanceOf(SourceError);
      expect(err!.message).toMatch(/table dbo\.odd column v has type sql_variant/);
      expect(err!.message).toMatch(/table dbo\.odd column geo has type geography/);
      expect(err!.message).toContain('excludeColumns');
      const [odd] = await cx.source.describe([cx.t.odd.ref], new Map([['dbo.odd', new Set(['v', 'geo'])]]));
      expect(odd.columns.map((c) => c.name)).toEqual(['id', 'n']);
      const v = await currentVersion(cx.source);
      await cx.db.exec("INSERT INTO dbo.odd (id, v, geo, n) VALUES (1, CAST(1 AS sql_variant), geography::Point(47.6, -122.3, 4326), 7)");
      expect((await pollTable(cx.source, odd, v)).rows.map((r) => r.row)).toEqual([{ id: 1, n: 7 }]);
    });
  });
}
