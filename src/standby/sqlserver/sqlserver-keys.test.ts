// Keys on the SQL Server standby (sqlserver-keys.ts) against statement text and a FAKE server (no
// SQL Server runs here): string keys compare binary, rows are found by their exact key, a key SQL
// Server would take for another (trailing spaces, trailing zero bytes) and a pre-created key column
// that ignores case are refused by name. The real server runs the conformance suite where reachable.
import { describe, expect, it } from 'vitest';
import { StandbyError } from '../../core/errors.ts';
import type { ColumnType, TableMeta } from '../../core/model.ts';
import type { Statement } from '../../drivers/sqlserver/params.ts';
import { plainShape } from '../write-shape.ts';
import { fakeDialect, fakeTransaction } from './fake-server.test-util.ts';
import { isBinaryCollation, keyClashError, keyClashStatement, keyCollationError } from './sqlserver-keys.ts';
import * as T from './sqlserver-statements.ts';

const col = (name: string, type: ColumnType, nullable = true) => ({ name, type, nullable, sourceType: type.kind });
/** a string key, a binary key and an int key column */
const codes: TableMeta = {
  schema: 'dbo',
  table: 'codes',
  key: ['code', 'b', 'n'],
  columns: [col('code', { kind: 'string', maxLength: 20 }, false), col('b', { kind: 'bytes', maxLength: 8 }, false), col('n', { kind: 'int32' }, false), col('v', { kind: 'string' })],
};
const byId: TableMeta = { schema: 'dbo', table: 'by_id', key: ['id'], columns: [col('id', { kind: 'int64' }, false), col('s', { kind: 'string', maxLength: 5 })] };
const strKey: TableMeta = { schema: 'dbo', table: 'k', key: ['k'], columns: [col('k', { kind: 'string', maxLength: 20 }, false), col('v', { kind: 'int32' })] };
const WHERE = 'SQL Server standby 127.0.0.1:1433/db';

/** sys.columns rows of strKey as existingColumnsStatement returns them, the key under `collation` */
const catalog = (collation: string) => [
  { name: 'k', type_name: 'nvarchar', max_length: 40, precision: 0, scale: 0, collation_name: collation, is_nullable: false, in_key: true, is_identity: false, is_computed: false, has_default: false },
  { name: 'v', type_name: 'int', max_length: 4, precision: 10, scale: 0, collation_name: null, is_nullable: true, in_key: false, is_identity: false, is_computed: false, has_default: false },
];
/** a fake server answering the catalog with `collation` and the key-clash query with `clash` */
const answer = (collation: string, clash: Record<string, unknown>[] = []) => (st: Statement): Record<string, unknown>[] => {
  if (st.sql.includes('FROM sys.columns')) return catalog(collation);
  if (st.sql.includes("N'stored' AS [clash]")) return clash;
  return [];
};

describe('SQL Server standby keys: statements', () => {
  it('knows binary collations from the others', () => {
    for (const c of ['Latin1_General_100_BIN2', 'Latin1_General_BIN', 'SQL_Latin1_General_CP850_BIN2', 'Latin1_General_100_BIN2_UTF8', 'Japanese_XJIS_140_BIN2']) expect(isBinaryCollation(c), c).toBe(true);
    for (const c of ['SQL_Latin1_General_CP1_CI_AS', 'Latin1_General_100_CS_AS', 'Latin1_General_100_CI_AS_SC_UTF8', 'x_BIN2; DROP TABLE t', '']) expect(isBinaryCollation(c), c).toBe(false);
  });

  it('creates string key columns (and the state key) with a binary collation, and nothing else', () => {
    const create = T.createTableStatement(codes).sql;
    expect(create).toContain('[code] nvarchar(20) COLLATE Latin1_General_100_BIN2 NOT NULL');
    expect(create).toContain('[b] varbinary(8) NOT NULL');
    expect(create).toContain('[v] nvarchar(max) NULL');
    expect(T.createStateTableStatement('ctrelay').sql).toContain('source_id nvarchar(200) COLLATE Latin1_General_100_BIN2 NOT NULL PRIMARY KEY');
    expect(T.existingColumnsStatement(codes).sql).toContain('c.collation_name');
  });

  it("stages string keys in the standby key column's collation, so that they join it", () => {
    expect(T.createTempStatement(T.ROWS_TEMP, codes, ['code', 'b', 'n', 'v']).sql).toContain('[code] nvarchar(20) COLLATE Latin1_General_100_BIN2 NULL');
    const pre = T.createTempStatement(T.KEYS_TEMP, codes, codes.key, new Map([['code', 'Latin1_General_BIN']])).sql;
    expect(pre).toContain('[code] nvarchar(20) COLLATE Latin1_General_BIN NULL');
    expect(T.createTempStatement(T.ROWS_TEMP, codes, ['v']).sql).toContain('[v] nvarchar(max) COLLATE DATABASE_DEFAULT NULL');
  });

  it('finds rows by their exact key: = and the same DATALENGTH for string and binary key columns', () => {
    const exact = 't.[code] = s.[code] AND t.[b] = s.[b] AND t.[n] = s.[n] AND DATALENGTH(t.[code]) = DATALENGTH(s.[code]) AND DATALENGTH(t.[b]) = DATALENGTH(s.[b])';
    const upsert = T.upsertFromTempStatement(codes, plainShape(codes)).sql;
    expect(upsert).toContain(`INNER JOIN #ctrelay_rows AS s ON ${exact};`);
    expect(upsert).toContain(`WHERE NOT EXISTS (SELECT 1 FROM [dbo].[codes] AS t WHERE ${exact});`);
    expect(T.deleteFromTempStatement(codes).sql).toContain(`INNER JOIN #ctrelay_keys AS s ON ${exact};`);
    expect(T.readBackStatement(codes, { ...plainShape(codes), checked: [] }).sql).toContain(`INNER JOIN #ctrelay_rows AS s ON ${exact};`);
    expect(T.upsertFromTempStatement(byId, plainShape(byId)).sql).not.toContain('DATALENGTH');
  });

  it('looks for staged keys SQL Server takes for another one, stored or staged; none to look for without string or binary keys', () => {
    expect(keyClashStatement(byId, T.ROWS_TEMP)).toBeNull();
    const st = keyClashStatement(codes, T.ROWS_TEMP)!;
    expect(st.params).toEqual({}); // a batch: it reads the session's staging table
    expect(st.sql).toContain("N'stored' AS [clash], s.[code] AS [a0], s.[b] AS [a1], s.[n] AS [a2], t.[code] AS [b0]");
    expect(st.sql).toContain('FROM #ctrelay_rows AS s INNER JOIN [dbo].[codes] AS t ON t.[code] = s.[code] AND t.[b] = s.[b] AND t.[n] = s.[n] WHERE DATALENGTH(t.[code]) <> DATALENGTH(s.[code]) OR DATALENGTH(t.[b]) <> DATALENGTH(s.[b])');
    expect(st.sql).toContain("N'staged' AS [clash]");
    expect(st.sql).toContain('FROM #ctrelay_rows AS s INNER JOIN #ctrelay_rows AS t ON');
  });

  it('a clash names table, the columns that differ and both keys', () => {
    const err = keyClashError(WHERE, codes, { clash: 'stored', a0: 'a ', a1: Buffer.from([1]), a2: 1, b0: 'a', b1: Buffer.from([1]), b2: 1 });
    expect(err).toBeInstanceOf(StandbyError);
    expect(err.message).toContain(`${WHERE}: table dbo.codes: cannot write the row with key (code='a ', b=0x01, n=1): the standby holds a row with key (code='a', b=0x01, n=1)`);
    expect(err.message).toContain('compares column(s) code ignoring trailing spaces');
    const staged = keyClashError(WHERE, codes, { clash: 'staged', a0: 'a', a1: Buffer.from([1, 0]), a2: 1, b0: 'a', b1: Buffer.from([1]), b2: 1 });
    expect(staged.message).toContain('the same write also has a row with key (code=\'a\', b=0x01, n=1)');
    expect(staged.message).toContain('column(s) b ignoring');
  });

  it('refuses a pre-created string key column that ignores case, naming it, its collation and the fix', () => {
    const err = keyCollationError(WHERE, strKey, catalog('SQL_Latin1_General_CP1_CI_AS'))!;
    expect(err.message).toContain(`${WHERE}: table dbo.k: key column(s) k (collation SQL_Latin1_General_CP1_CI_AS) compare case- or accent-insensitively`);
    expect(err.message).toContain('ALTER TABLE [dbo].[k] ALTER COLUMN [k] nvarchar(20) COLLATE Latin1_General_100_BIN2 NOT NULL');
    expect(keyCollationError(WHERE, strKey, catalog('Latin1_General_100_BIN2_UTF8'))).toBeNull();
    expect(keyCollationError(WHERE, byId, catalog('SQL_Latin1_General_CP1_CI_AS'))).toBeNull(); // no string key
  });
});

describe('SQL Server standby keys: the apply transaction (fake server)', () => {
  it('checks for clashing keys after staging and before the upsert', async () => {
    const { tx, sent } = fakeTransaction(answer('Latin1_General_BIN2'));
    await tx.upsert(strKey, [{ k: 'a', v: 1 }, { k: 'A', v: 2 }]);
    await tx.commit();
    const at = (needle: string) => sent.findIndex((s) => s.sql.includes(needle));
    expect(sent[at('CREATE TABLE #ctrelay_rows')].sql).toContain('[k] nvarchar(20) COLLATE Latin1_General_BIN2 NULL');
    expect(at('INSERT INTO #ctrelay_rows')).toBeLessThan(at("N'stored' AS [clash]"));
    expect(at("N'stored' AS [clash]")).toBeLessThan(at('INSERT INTO [dbo].[k]'));
  });

  it('a staged key SQL Server takes for a stored one is refused naming both; nothing is written and the transaction rolls back', async () => {
    const { tx, fake, sent } = fakeTransaction(answer('Latin1_General_100_BIN2', [{ clash: 'stored', a0: 'a ', b0: 'a' }]));
    const err = await tx.upsert(strKey, [{ k: 'a ', v: 1 }]).then(() => null, (e: unknown) => e as Error);
    expect(err).toBeInstanceOf(StandbyError);
    expect(err!.message).toContain("cannot write the row with key (k='a '): the standby holds a row with key (k='a')");
    expect(sent.some((s) => s.sql.includes('INSERT INTO [dbo].[k]') || s.sql.startsWith('UPDATE'))).toBe(false);
    await expect(tx.commit()).rejects.toThrow(/rolled back/);
    expect(fake.ended).toEqual(['ROLLBACK']);
  });

  it('a pre-created key column that ignores case is refused by the first statement on the table, before anything is staged', async () => {
    for (const write of ['upsert', 'delete'] as const) {
      const { tx, sent } = fakeTransaction(answer('SQL_Latin1_General_CP1_CI_AS'));
      const p = write === 'upsert' ? tx.upsert(strKey, [{ k: 'a', v: 1 }]) : tx.delete(strKey, [{ k: 'a' }]);
      await expect(p).rejects.toThrow(/key column\(s\) k \(collation SQL_Latin1_General_CP1_CI_AS\)/);
      expect(sent.some((s) => s.sql.includes('#ctrelay'))).toBe(false);
      await tx.rollback();
    }
  });

  it('ensureTable refuses such a table before any DDL', async () => {
    const sent: Statement[] = [];
    const send = async (st: Statement) => (sent.push(st), st.sql.includes('FROM sys.columns') ? catalog('Latin1_General_CI_AS') : []);
    await expect(fakeDialect().ensureOn(strKey, send)).rejects.toThrow(/table dbo\.k: key column\(s\) k \(collation Latin1_General_CI_AS\)/);
    expect(sent).toHaveLength(1);
  });

  it('pins ANSI_WARNINGS and ANSI_PADDING on, so that a value too long for its column is an error, and connects only in connect()', () => {
    const d = fakeDialect();
    expect(d.connectionConfig.options).toMatchObject({ enableAnsiWarnings: true, enableAnsiPadding: true, appName: 'ctrelay-applier' });
    expect(d.connected).toBe(false);
  });
});
