// SourceHarness for SQL Server's native change tracking, through mssql. Throwaway databases are
// created on the server the URL names (MSSQL_URL, or the testcontainers SQL Server that
// test/conformance/sqlserver/global-setup.ts starts); tracking is turned on with ctrelay's own enable
// script (src/sources/sqlserver/enable.ts), which also sets ALLOW_SNAPSHOT_ISOLATION ON and, for a
// capture login, creates its database user with the grants capture needs.
//
// NOT RUN YET: no SQL Server and no Docker engine were available where this was written. Every
// statement here follows Microsoft's documentation ("KILL", "sys.dm_exec_sessions", "CREATE
// LOGIN", "REVOKE Object Permissions", "ALTER TABLE ... DISABLE CHANGE_TRACKING"); the first run
// against a real server is its test.
import sql from 'mssql';
import { randomBytes } from 'node:crypto';
import type { TableRef, Value } from '../../src/core/model.ts';
import { ctDisableScript, ctEnableBatches } from '../../src/sources/sqlserver/enable.ts';
import { nLiteral, quoteIdent, quoteQualified } from '../../src/drivers/sqlserver/quote.ts';
import { SqlServerSource } from '../../src/sources/sqlserver/source.ts';
import { parseSqlServerUrl } from '../../src/drivers/sqlserver/url.ts';
import { HARNESS_APPLICATION_NAME, harnessDatabase, quoteString, typeNameIn, type CaptureLogin, type HarnessConnection, type HarnessDatabase, type HarnessTable, type NeutralType, type SourceHarness, type SqlFlavour, type TypeNames } from './source-harness.ts';

const MSSQL_TYPES: TypeNames = { int32: 'int', int64: 'bigint', text: 'nvarchar(max)', bytes: 'varbinary(max)', date: 'date',
  decimal: (p, s) => `decimal(${p},${s})`, varchar: (n) => `nvarchar(${n})`, char: (n) => `nchar(${n})`, timestamp: (p) => `datetime2(${p})` };
const typeName = (t: NeutralType) => typeNameIn(MSSQL_TYPES, t);

export const sqlServerFlavour: SqlFlavour = {
  quoteIdent,
  qualified: (r: TableRef) => quoteQualified(r.schema, r.table),
  typeName,
  literal(t: NeutralType, v: Value): string {
    if (v === null) return `CAST(NULL AS ${typeName(t)})`;
    if (Buffer.isBuffer(v)) return `0x${v.toString('hex')}`; // "0x" alone is the empty binary value
    switch (t.kind) {
      case 'int32':
        return String(v);
      case 'text':
      case 'varchar':
      case 'char':
        return nLiteral(String(v));
      default:
        // ISO 8601 ("YYYY-MM-DDThh:mm:ss.ffffff") converts to datetime2 regardless of DATEFORMAT/language
        return `CAST(${quoteString(String(v))} AS ${typeName(t)})`;
    }
  },
  // "Specify computed columns in a table": <name> AS <expression> PERSISTED (no type of its own)
  doubledColumn: (name, _t, source) => `${quoteIdent(name)} AS (2 * ${quoteIdent(source)}) PERSISTED`,
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function savepointName(name: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,31}$/.test(name)) throw new Error(`savepoint name ${name} is not a plain identifier of at most 32 characters`);
  return name;
}

async function batch(pool: sql.ConnectionPool, text: string): Promise<void> {
  // a plain batch, not sp_executesql: BEGIN TRANSACTION / SAVE TRANSACTION keep session scope
  await pool.request().batch(text);
}

/** A pool of the harness's own (named, so that killSourceConnections spares it). */
function harnessPool(config: sql.config, size: { min: number; max: number }): Promise<sql.ConnectionPool> {
  return new sql.ConnectionPool({ ...config, options: { ...config.options, appName: HARNESS_APPLICATION_NAME }, pool: size }).connect();
}

/** KILLs the sessions `where` selects from sys.dm_exec_sessions (never this one); returns how many. */
async function killSessions(pool: sql.ConnectionPool, where: string, value: string): Promise<number> {
  const r = await pool.request().input('value', sql.NVarChar(sql.MAX), value)
    .query<{ session_id: number }>(`SELECT session_id FROM sys.dm_exec_sessions WHERE is_user_process = 1 AND session_id <> @@SPID AND ${where}`);
  // KILL takes a literal session id, not a variable
  for (const { session_id } of r.recordset) await batch(pool, `KILL ${Number(session_id)}`);
  return r.recordset.length;
}

/** The URL with another database in its path (credentials and options kept). */
export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${encodeURIComponent(database)}`;
  return u.toString();
}

function withLogin(url: string, user: string, password: string): string {
  const u = new URL(url);
  u.username = encodeURIComponent(user);
  u.password = encodeURIComponent(password);
  return u.toString();
}

const CLEANUP_OPT_IN = 'MSSQL_CT_CLEANUP_TEST';

/**
 * @param serverUrl mssql://user:password@host:port/<any database>?encrypt=...; the login must be
 *   allowed to CREATE DATABASE, CREATE LOGIN and KILL (sa on a test container).
 */
export function sqlServerHarness(serverUrl: string): SourceHarness {
  const base = parseSqlServerUrl(serverUrl).config;
  let adminPool: sql.ConnectionPool | null = null;
  const admin = async () => (adminPool ??= await harnessPool(base, { min: 0, max: 2 }));

  return {
    kind: 'sqlserver',
    async createDatabase(prefix: string): Promise<HarnessDatabase> {
      const name = `${prefix}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
      await batch(await admin(), `CREATE DATABASE ${quoteIdent(name)}`);
      const url = withDatabase(serverUrl, name);
      const dbConfig = parseSqlServerUrl(url).config;
      const pool = await harnessPool(dbConfig, { min: 0, max: 4 });
      const f = sqlServerFlavour;
      const logins: string[] = [];
      const cleanupOptIn = process.env[CLEANUP_OPT_IN] === '1';
      const enable = async (tables: HarnessTable[], agentLogin?: string) => {
        // the first batch turns CHANGE_TRACKING and ALLOW_SNAPSHOT_ISOLATION on for the database;
        // with agentLogin the last creates its database user and grants what capture needs
        const batches = ctEnableBatches({ database: name, tables: tables.map((t) => t.ref), retentionDays: 1, autoCleanup: true, trackColumns: true, agentLogin });
        for (const b of batches) await batch(pool, b);
      };

      return harnessDatabase({
        name,
        url,
        schema: 'dbo',
        flavour: f,
        transactionSql: {
          savepoint: (n) => `SAVE TRANSACTION ${savepointName(n)}`,
          rollbackToSavepoint: (n) => `ROLLBACK TRANSACTION ${savepointName(n)}`,
          commit: 'COMMIT TRANSACTION',
          rollback: 'IF @@TRANCOUNT > 0 ROLLBACK TRANSACTION',
        },
        exec: (statement) => batch(pool, statement),
        async beginOnNewConnection(): Promise<HarnessConnection> {
          // min = max = 1: every statement of the transaction runs on the same connection
          const p = await harnessPool(dbConfig, { min: 1, max: 1 });
          await batch(p, 'BEGIN TRANSACTION');
          return { exec: (statement) => batch(p, statement), close: () => p.close() };
        },
        newSource: (sourceUrl) => new SqlServerSource({ url: sourceUrl }),
        enableTracking: (tables) => enable(tables),
        disableTracking: (tables) => batch(pool, ctDisableScript({ database: name, tables: tables.map((t) => t.ref), databaseOff: false })),
        // "Enable and disable change tracking (SQL Server)": ALTER TABLE ... DISABLE / ENABLE CHANGE_TRACKING
        suspendTracking: (t) => batch(pool, `ALTER TABLE ${f.qualified(t.ref)} DISABLE CHANGE_TRACKING`),
        resumeTracking: (t) => batch(pool, `ALTER TABLE ${f.qualified(t.ref)} ENABLE CHANGE_TRACKING WITH (TRACK_COLUMNS_UPDATED = ON)`),
        async killSourceConnections(): Promise<number> {
          // sys.dm_exec_sessions.database_id: SQL Server 2012+; seeing other sessions needs VIEW SERVER STATE, KILL needs ALTER ANY CONNECTION
          return killSessions(await admin(), `database_id = DB_ID(@value) AND ISNULL(program_name, N'') <> N'${HARNESS_APPLICATION_NAME}'`, name);
        },
        async createCaptureLogin(tables: HarnessTable[]): Promise<CaptureLogin> {
          const login = `ctr_capture_${randomBytes(4).toString('hex')}`;
          const password = `Ct1-${randomBytes(12).toString('hex')}`;
          await batch(await admin(), `CREATE LOGIN ${quoteIdent(login)} WITH PASSWORD = ${nLiteral(password)}, CHECK_POLICY = OFF`);
          logins.push(login);
          await enable(tables, login);
          return {
            name: login,
            url: withLogin(url, login, password),
            revokeSelect: (t) => batch(pool, `REVOKE SELECT ON ${f.qualified(t.ref)} FROM ${quoteIdent(login)}`),
          };
        },
        cleanupSkipReason: cleanupOptIn
          ? undefined
          : 'SQL Server raises the min valid version only when its cleanup watermark passes the retention period ' +
            '(at least CHANGE_RETENTION = 1 MINUTES; sys.sp_flush_CT_internal_table_on_demand deletes only below the ' +
            `watermark the background cleanup keeps): set ${CLEANUP_OPT_IN}=1 to try it with a 1-minute retention (waits about 75 s)`,
        forceCleanup: cleanupOptIn
          ? async (tables: HarnessTable[]): Promise<bigint | null> => {
              await batch(pool, `ALTER DATABASE ${quoteIdent(name)} SET CHANGE_TRACKING (CHANGE_RETENTION = 1 MINUTES, AUTO_CLEANUP = ON)`);
              await sleep(75_000);
              for (const t of tables) {
                await batch(pool, `EXEC sys.sp_flush_CT_internal_table_on_demand @TableToClean = ${nLiteral(f.qualified(t.ref))}`);
              }
              return null;
            }
          : undefined,
        async dropDatabase(): Promise<void> {
          await pool.close().catch(() => undefined);
          const a = await admin();
          await batch(
            a,
            `IF DB_ID(${nLiteral(name)}) IS NOT NULL BEGIN ALTER DATABASE ${quoteIdent(name)} SET SINGLE_USER WITH ROLLBACK IMMEDIATE; DROP DATABASE ${quoteIdent(name)}; END`,
          );
          for (const login of logins) {
            // DROP LOGIN refuses a login that is still connected
            await killSessions(a, 'login_name = @value', login);
            await batch(a, `IF SUSER_ID(${nLiteral(login)}) IS NOT NULL DROP LOGIN ${quoteIdent(login)}`);
          }
        },
      });
    },
    async close(): Promise<void> {
      await adminPool?.close().catch(() => undefined);
      adminPool = null;
    },
  };
}
