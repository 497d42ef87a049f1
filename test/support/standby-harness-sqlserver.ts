// StandbyHarness for SQL Server: throwaway databases through the SQL Server source harness
// (source-harness-sqlserver.ts: create, exec, drop), tables in the schema `standby`, a throwaway
// login for the permission case, and KILL for the dialect's sessions (program_name
// 'ctrelay-applier', which SqlServerDialect sets).
//
// NOT RUN YET: no SQL Server where this was written; it runs under vitest.mssql.config.ts.
import sql from 'mssql';
import { randomBytes } from 'node:crypto';
import type { TableRef } from '../../src/core/model.ts';
import { nLiteral, quoteIdent, quoteQualified } from '../../src/drivers/sqlserver/quote.ts';
import { parseSqlServerUrl } from '../../src/drivers/sqlserver/url.ts';
import { SqlServerDialect } from '../../src/standby/sqlserver/sqlserver-dialect.ts';
import { sqlServerHarness } from './source-harness-sqlserver.ts';
import { waitUntilGone, withLogin, type PrecreatedTables, type StandbyDatabase, type StandbyHarness } from './standby-harness.ts';

const SCHEMA = 'standby';

/**
 * @param serverUrl mssql://user:password@host:port/<any database>?encrypt=...; the login must be
 *   allowed to CREATE DATABASE, CREATE LOGIN and KILL (sa on a test container).
 */
export function sqlServerStandbyHarness(serverUrl: string): StandbyHarness {
  const databases = sqlServerHarness(serverUrl);
  let adminPool: sql.ConnectionPool | null = null;
  const admin = async () => (adminPool ??= await new sql.ConnectionPool({ ...parseSqlServerUrl(serverUrl).config, pool: { min: 0, max: 2 } }).connect());
  const query = async (text: string) => ((await (await admin()).request().batch(text)).recordset ?? []) as Record<string, unknown>[];

  return {
    kind: 'sqlserver',
    // float has no subnormals; strings (and binary) compare padded, so 'a' and 'a ' are one key,
    // and the dialect refuses the second; it reports a row the server refused by its chunk, not by its key
    limits: {
      subnormalFloats: false, trailingSpaceKeys: false, namesRefusedKey: false,
      refusesTriggers: true, refusesForeignKeys: true, updatesIdentity: false, replicaModeGrant: false,
    },
    unreachableUrl: (password) => `mssql://ctr:${encodeURIComponent(password)}@127.0.0.1:1/x?encrypt=false&connectTimeoutMs=5000`,
    async close() {
      await databases.close();
      await adminPool?.close().catch(() => undefined);
      adminPool = null;
    },
    async createDatabase(prefix: string): Promise<StandbyDatabase> {
      const db = await databases.createDatabase(prefix);
      const login = `${db.name}_ro`;
      let loginCreated = false;
      const sessions = async (kill: boolean) => {
        const where = `program_name = N'ctrelay-applier' AND database_id = DB_ID(${nLiteral(db.name)}) AND session_id <> @@SPID`;
        const [r] = await query(
          kill
            ? `DECLARE @k nvarchar(max) = N'', @n int = 0;
SELECT @k += N'KILL ' + CAST(session_id AS nvarchar(10)) + N'; ', @n += 1 FROM sys.dm_exec_sessions WHERE ${where};
EXEC (@k);
SELECT @n AS n;`
            : `SELECT COUNT(*) AS n FROM sys.dm_exec_sessions WHERE ${where};`,
        );
        return Number(r?.n ?? 0);
      };
      return {
        name: db.name,
        url: db.url,
        schema: SCHEMA,
        hostileSchema: 'my "schema"]; drop',
        createDialect: (url = db.url) => new SqlServerDialect({ url }),
        exec: (statement) => db.exec(statement),
        narrowColumnSql: (t: TableRef, column, length) => `ALTER TABLE ${quoteQualified(t.schema, t.table)} ALTER COLUMN ${quoteIdent(column)} nvarchar(${length}) NULL`,
        async killDialectSessions() {
          const killed = await sessions(true);
          await waitUntilGone(() => sessions(false), 'dialect sessions');
          return killed;
        },
        async readOnlyUrl() {
          const password = `Ro-${randomBytes(9).toString('base64url')}-a1A`;
          await query(`CREATE LOGIN ${quoteIdent(login)} WITH PASSWORD = ${nLiteral(password)}, CHECK_POLICY = OFF`);
          loginCreated = true;
          await db.exec(`CREATE USER ${quoteIdent(login)} FOR LOGIN ${quoteIdent(login)}`);
          await db.exec(`GRANT SELECT ON SCHEMA::${quoteIdent(SCHEMA)} TO ${quoteIdent(login)}`);
          return withLogin(db.url, { user: login, password });
        },
        refusedLoginUrl: (password) => withLogin(db.url, { password }),
        precreated: () => precreatedTables(),
        async drop() {
          await db.drop();
          if (loginCreated) await query(`IF SUSER_ID(${nLiteral(login)}) IS NOT NULL DROP LOGIN ${quoteIdent(login)}`);
        },
      };
    },
  };
}

/** standby-harness.ts PrecreatedTables as SSMS "Generate Scripts" would write them (NOT RUN YET). */
function precreatedTables(): PrecreatedTables {
  const t = (name: string) => quoteQualified(SCHEMA, name);
  return {
    create: [
      `IF SCHEMA_ID(N'${SCHEMA}') IS NULL EXEC (N'CREATE SCHEMA ${quoteIdent(SCHEMA)}')`,
      `CREATE TABLE ${t('pc_items')} (
         [total] AS CAST([qty] * [price] AS decimal(20,2)) PERSISTED,
         [site] nvarchar(20) NOT NULL CONSTRAINT [pc_items_site] DEFAULT N'standby',
         [price] decimal(10,2) NOT NULL,
         [id] bigint IDENTITY(1,1) NOT NULL PRIMARY KEY,
         [qty] int NOT NULL CHECK ([qty] > 0),
         [name] nvarchar(50) NULL)`,
      `CREATE INDEX [pc_items_name] ON ${t('pc_items')} ([name])`,
      `CREATE TABLE ${t('pc_seq')} ([id] int NOT NULL PRIMARY KEY, [seq] bigint IDENTITY(1,1) NOT NULL, [v] nvarchar(20) NULL)`,
      `CREATE TABLE ${t('pc_parent')} ([id] int NOT NULL PRIMARY KEY, [name] nvarchar(20) NULL)`,
      `CREATE TABLE ${t('pc_child')} ([id] int NOT NULL PRIMARY KEY, [parent_id] int NOT NULL, [v] nvarchar(20) NULL,
         CONSTRAINT [pc_child_parent] FOREIGN KEY ([parent_id]) REFERENCES ${t('pc_parent')} ([id]) ON DELETE CASCADE)`,
      `CREATE TABLE ${t('pc_audit')} ([n] bigint IDENTITY(1,1) NOT NULL PRIMARY KEY, [what] nvarchar(100) NULL)`,
      `CREATE TABLE ${t('pc_trig')} ([id] int NOT NULL PRIMARY KEY, [v] nvarchar(20) NULL)`,
      `CREATE TRIGGER ${t('pc_trig_audit')} ON ${t('pc_trig')} AFTER INSERT, UPDATE, DELETE AS
         SET NOCOUNT ON;
         INSERT INTO ${t('pc_audit')} ([what]) SELECT N'INSERT pc_trig' FROM inserted;
         INSERT INTO ${t('pc_audit')} ([what]) SELECT N'DELETE pc_trig' FROM deleted;`,
    ],
    disableTrigger: [`DISABLE TRIGGER ${t('pc_trig_audit')} ON ${t('pc_trig')}`],
    disableForeignKey: [`ALTER TABLE ${t('pc_child')} NOCHECK CONSTRAINT [pc_child_parent]`],
  };
}
