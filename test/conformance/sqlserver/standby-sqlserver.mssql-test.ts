// The standby-dialect conformance suite (test/conformance/standby-dialect.conformance.ts) against
// SQL Server, through src/standby/sqlserver/, then what only SQL Server needs proven: binary key
// collations, keys refused rather than cut or merged, ANSI_WARNINGS on, IDENTITY_INSERT never left
// on for a pooled connection. Runs only under vitest.mssql.config.ts (`npm run test:mssql`), whose
// global setup supplies MSSQL_URL or a testcontainers SQL Server, or skips with a printed notice.
//
// NOT RUN YET: no SQL Server where this was written.
import sql from 'mssql';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { isTransient } from '../../../src/core/errors.ts';
import type { Row, TableMeta } from '../../../src/core/model.ts';
import { parseSqlServerUrl } from '../../../src/drivers/sqlserver/url.ts';
import { SqlServerDialect } from '../../../src/standby/sqlserver/sqlserver-dialect.ts';
import { sqlServerStandbyHarness } from '../../support/standby-harness-sqlserver.ts';
import type { StandbyDatabase, StandbyHarness } from '../../support/standby-harness.ts';
import { standbyDialectConformance } from '../standby-dialect.conformance.ts';
import { applyTx, col, rejection } from '../standby-helpers.ts';

const url = inject('mssqlUrl');
if (!url) console.warn(inject('mssqlSkipReason'));

standbyDialectConformance({
  kind: 'sqlserver',
  harness: url ? () => sqlServerStandbyHarness(url) : null,
  skipReason: inject('mssqlSkipReason'),
});

const suite = url ? describe : describe.skip;
suite('sqlserver standby: what only SQL Server needs', () => {
  let harness: StandbyHarness;
  let db: StandbyDatabase;
  /** ONE pooled connection: what one transaction leaves in the session, the next one meets */
  let d: SqlServerDialect;
  let admin: sql.ConnectionPool;
  let schema: string;
  const query = async (text: string) => ((await admin.request().batch(text)).recordset ?? []) as Record<string, unknown>[];
  const keyed = (table: string, length?: number): TableMeta => ({
    schema, table, key: ['k'], columns: [col('k', { kind: 'string', maxLength: length }, false), col('v', { kind: 'int32' })],
  });

  beforeAll(async () => {
    harness = sqlServerStandbyHarness(url);
    db = await harness.createDatabase('ctr_sbx');
    schema = db.schema;
    d = new SqlServerDialect({ url: db.url, poolSize: 1 });
    await d.connect();
    await d.ensureStateTable();
    // the pre-created tables below go into the harness's schema
    await db.exec(`IF SCHEMA_ID(N'${schema}') IS NULL EXEC (N'CREATE SCHEMA [${schema}]')`);
    admin = await new sql.ConnectionPool({ ...parseSqlServerUrl(db.url).config, pool: { min: 0, max: 1 } }).connect();
  });

  afterAll(async () => {
    await d?.close();
    await admin?.close().catch(() => undefined);
    await db?.drop();
    await harness?.close();
  });

  it('creates string key columns with a binary collation, and its sessions run with ANSI_WARNINGS and ANSI_PADDING on', async () => {
    const t = keyed('created_keys', 20);
    await d.ensureTable(t);
    const [c] = await query(`SELECT collation_name FROM sys.columns WHERE object_id = OBJECT_ID(N'[${schema}].[created_keys]') AND name = N'k'`);
    expect(c.collation_name).toBe('Latin1_General_100_BIN2');
    await applyTx(d, (tx) => tx.upsert(t, [{ k: 'a', v: 1 }, { k: 'A', v: 2 }]));
    // a session of the dialect is open (pool of one, kept while idle)
    const sessions = await query(`SELECT ansi_warnings, ansi_padding FROM sys.dm_exec_sessions WHERE program_name = N'ctrelay-applier' AND database_id = DB_ID()`);
    expect(sessions.length).toBeGreaterThan(0);
    for (const s of sessions) expect(s).toEqual({ ansi_warnings: true, ansi_padding: true });
  });

  it('an unbounded source key longer than 450 characters is refused naming table, column, key and both lengths; nothing is cut', async () => {
    const t = keyed('long_keys');
    await d.ensureTable(t);
    const tx = await d.begin();
    const err = await rejection(tx.upsert(t, [{ k: 'x'.repeat(450), v: 1 }, { k: `${'x'.repeat(450)}y`, v: 2 }]));
    await tx.rollback();
    expect(isTransient(err)).toBe(false);
    expect(err.message).toContain(`column k (nvarchar(450), the longest key SQL Server indexes (900 bytes); the source's key column is longer) of table ${schema}.long_keys`);
    expect(err.message).toContain('a string of 451 UTF-16 code units does not fit the column\'s length 450');
    expect(await d.scan(t, null, 10)).toEqual([]);
  });

  it('a key that differs from a stored one only in trailing spaces is refused naming the column and both keys; the stored row is untouched', async () => {
    const t = keyed('padded_keys', 20);
    await d.ensureTable(t);
    await applyTx(d, (tx) => tx.upsert(t, [{ k: 'a', v: 1 }]));
    const tx = await d.begin();
    const err = await rejection(tx.upsert(t, [{ k: 'a  ', v: 2 }]));
    await tx.rollback();
    expect(err.message).toContain(`table ${schema}.padded_keys: cannot write the row with key (k='a  '): the standby holds a row with key (k='a')`);
    expect(err.message).toContain('compares column(s) k ignoring trailing spaces');
    expect(await d.scan(t, null, 10)).toEqual([{ k: 'a', v: 1 }]);
  });

  it('a pre-created string key column that ignores case is refused naming it; with a binary collation, keys that differ in case are two rows', async () => {
    const t = keyed('ci_keys', 20);
    await db.exec(`CREATE TABLE [${schema}].[ci_keys] ([k] nvarchar(20) COLLATE SQL_Latin1_General_CP1_CI_AS NOT NULL PRIMARY KEY, [v] int NULL)`);
    const refused = await rejection(d.ensureTable(t));
    expect(refused.message).toContain(`table ${schema}.ci_keys: key column(s) k (collation SQL_Latin1_General_CP1_CI_AS) compare case- or accent-insensitively`);
    // also when the applier writes without ensureTable first
    const tx = await d.begin();
    expect((await rejection(tx.upsert(t, [{ k: 'a', v: 1 }]))).message).toContain('collation SQL_Latin1_General_CP1_CI_AS');
    await tx.rollback();
    await db.exec(`DROP TABLE [${schema}].[ci_keys]`);
    await db.exec(`CREATE TABLE [${schema}].[ci_keys] ([k] nvarchar(20) COLLATE Latin1_General_BIN2 NOT NULL PRIMARY KEY, [v] int NULL)`);
    await d.ensureTable(t);
    const rows: Row[] = [{ k: 'A', v: 2 }, { k: 'a', v: 1 }];
    await applyTx(d, (tx2) => tx2.upsert(t, rows));
    await applyTx(d, (tx2) => tx2.delete(t, [{ k: 'a' }]));
    expect(await d.scan(t, null, 10)).toEqual([{ k: 'A', v: 2 }]);
  });

  it('IDENTITY_INSERT is off again after an insert failed with it on: the next identity table works on the same pooled connection', async () => {
    // a conversion error inside the CHECK aborts the whole batch, so the batch's own
    // SET IDENTITY_INSERT … OFF never runs: the transaction must turn it off (or drop the connection)
    await db.exec(`CREATE TABLE [${schema}].[ident_a] ([id] int NOT NULL PRIMARY KEY, [seq] bigint IDENTITY(1,1) NOT NULL, [v] nvarchar(20) NULL CHECK ([v] IS NULL OR CAST([v] AS int) >= 0))`);
    await db.exec(`CREATE TABLE [${schema}].[ident_b] ([id] int NOT NULL PRIMARY KEY, [seq] bigint IDENTITY(1,1) NOT NULL)`);
    const a: TableMeta = { schema, table: 'ident_a', key: ['id'], columns: [col('id', { kind: 'int32' }, false), col('seq', { kind: 'int64' }, false), col('v', { kind: 'string', maxLength: 20 })] };
    const b: TableMeta = { schema, table: 'ident_b', key: ['id'], columns: [col('id', { kind: 'int32' }, false), col('seq', { kind: 'int64' }, false)] };
    await d.ensureTable(a);
    await d.ensureTable(b);
    const tx = await d.begin();
    await rejection(tx.upsert(a, [{ id: 1, seq: 10n, v: 'not a number' }]));
    await tx.rollback();
    // with IDENTITY_INSERT still on for ident_a, this would fail with error 8107
    await applyTx(d, (tx2) => tx2.upsert(b, [{ id: 1, seq: 7n }]));
    await applyTx(d, (tx2) => tx2.upsert(a, [{ id: 1, seq: 10n, v: '5' }]));
    expect(await d.scan(b, null, 10)).toEqual([{ id: 1, seq: 7n }]);
    expect(await d.scan(a, null, 10)).toEqual([{ id: 1, seq: 10n, v: '5' }]);
  });
});
