// SourceHarness for SQL Server's native change tracking, through mssql. Throwaway databases are
// created on the server the URL names (MSSQL_URL, or the testcontainers SQL Server that
// test/conformance/sqlserver/global-setup.ts starts); tracking is turned on with ctrelay's own enable
// script (src/sources/sqlserver/enable.ts), which also sets ALLOW_SNAPSHOT_ISOLATION ON.
//
// NOT RUN YET: no SQL Server and no Docker engine were available where this was written. Every
// statement here follows Microsoft's documentation; the first run against a real server is its test.
import sql from 'mssql';
import { randomBytes } from 'node:crypto';
import type { TableRef, Value } from '../../src/core/model.ts';
import { ctEnableBatches } from '../../src/sources/sqlserver/enable.ts';
import { nLiteral, quoteIdent, quoteQualified } from '../../src/sources/sqlserver/quote.ts';
import { SqlServerSource } from '../../src/sources/sqlserver/source.ts';
import { parseSqlServerUrl } from '../../src/sources/sqlserver/url.ts';
import {
  createTableSql,
  deleteSql,
  insertSql,
  quoteString,
  updateSql,
  type HarnessDatabase,
  type HarnessTable,
  type NeutralType,
  type OpenTransaction,
  type SourceHarness,
  type SqlFlavour,
  type TableSpec,
} from './source-harness.ts';

function typeName(t: NeutralType): string {
  switch (t.kind) {
    case 'int32':
      return 'int';
    case 'int64':
      return 'bigint';
    case 'decimal':
      return `decimal(${t.precision},${t.scale})`;
    case 'text':
      return 'nvarchar(max)';
    case 'varchar':
      return `nvarchar(${t.length})`;
    case 'bytes':
      return 'varbinary(max)';
    case 'date':
      return 'date';
    case 'timestamp':
      return `datetime2(${t.precision})`;
  }
}

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
        return nLiteral(String(v));
      default:
        // ISO 8601 ("YYYY-MM-DDThh:mm:ss.ffffff") converts to datetime2 regardless of DATEFORMAT/language
        return `CAST(${quoteString(String(v))} AS ${typeName(t)})`;
    }
  },
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

class MssqlOpenTransaction implements OpenTransaction {
  constructor(private readonly pool: sql.ConnectionPool, private readonly done: () => void) {}
  exec(statement: string): Promise<void> {
    return batch(this.pool, statement);
  }
  savepoint(name: string): Promise<void> {
    return batch(this.pool, `SAVE TRANSACTION ${savepointName(name)}`);
  }
  rollbackToSavepoint(name: string): Promise<void> {
    return batch(this.pool, `ROLLBACK TRANSACTION ${savepointName(name)}`);
  }
  private async finish(text: string): Promise<void> {
    try {
      await batch(this.pool, text);
    } finally {
      await this.pool.close().catch(() => undefined);
      this.done();
    }
  }
  commit(): Promise<void> {
    return this.finish('COMMIT TRANSACTION');
  }
  rollback(): Promise<void> {
    return this.finish('IF @@TRANCOUNT > 0 ROLLBACK TRANSACTION');
  }
}

/** The URL with another database in its path (credentials and options kept). */
export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${encodeURIComponent(database)}`;
  return u.toString();
}

const CLEANUP_OPT_IN = 'MSSQL_CT_CLEANUP_TEST';

/**
 * @param serverUrl mssql://user:password@host:port/<any database>?encrypt=...; the login must be
 *   allowed to CREATE DATABASE (sa on a test container).
 */
export function sqlServerHarness(serverUrl: string): SourceHarness {
  const base = parseSqlServerUrl(serverUrl).config;
  let adminPool: sql.ConnectionPool | null = null;
  const admin = async () => (adminPool ??= await new sql.ConnectionPool({ ...base, pool: { min: 0, max: 2 } }).connect());

  return {
    kind: 'sqlserver',
    async createDatabase(prefix: string): Promise<HarnessDatabase> {
      const name = `${prefix}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
      await batch(await admin(), `CREATE DATABASE ${quoteIdent(name)}`);
      const url = withDatabase(serverUrl, name);
      const dbConfig = parseSqlServerUrl(url).config;
      const pool = await new sql.ConnectionPool({ ...dbConfig, pool: { min: 0, max: 4 } }).connect();
      const open = new Set<sql.ConnectionPool>();
      const sources = new Set<SqlServerSource>();
      const f = sqlServerFlavour;
      const cleanupOptIn = process.env[CLEANUP_OPT_IN] === '1';

      const db: HarnessDatabase = {
        name,
        url,
        schema: 'dbo',
        async createTable(spec: TableSpec): Promise<HarnessTable> {
          const ref = { schema: 'dbo', table: spec.name };
          await batch(pool, createTableSql(f, ref, spec));
          return { ref, spec };
        },
        async enableTracking(tables: HarnessTable[]): Promise<void> {
          // the first batch turns CHANGE_TRACKING and ALLOW_SNAPSHOT_ISOLATION on for the database
          const batches = ctEnableBatches({
            database: name,
            tables: tables.map((t) => t.ref),
            retentionDays: 1,
            autoCleanup: true,
            trackColumns: true,
          });
          for (const b of batches) await batch(pool, b);
        },
        exec: (statement: string) => batch(pool, statement),
        async begin(): Promise<OpenTransaction> {
          // min = max = 1: every statement of the transaction runs on the same connection
          const p = await new sql.ConnectionPool({ ...dbConfig, pool: { min: 1, max: 1 } }).connect();
          open.add(p);
          await batch(p, 'BEGIN TRANSACTION');
          return new MssqlOpenTransaction(p, () => open.delete(p));
        },
        async truncate(table: HarnessTable): Promise<void> {
          await batch(pool, `TRUNCATE TABLE ${f.qualified(table.ref)}`);
        },
        cleanupSkipReason: cleanupOptIn
          ? undefined
          : 'SQL Server raises the min valid version only when its cleanup watermark passes the retention period ' +
            '(at least CHANGE_RETENTION = 1 MINUTES; sys.sp_flush_CT_internal_table_on_demand deletes only below the ' +
            `watermark the background cleanup keeps): set ${CLEANUP_OPT_IN}=1 to try it with a 1-minute retention (waits about 75 s)`,
        async createSource() {
          const s = new SqlServerSource({ url });
          sources.add(s);
          await s.connect();
          return s;
        },
        insertSql: (t, rows) => insertSql(f, t, rows),
        updateSql: (t, set, where) => updateSql(f, t, set, where),
        deleteSql: (t, where) => deleteSql(f, t, where),
        async drop(): Promise<void> {
          for (const p of open) await p.close().catch(() => undefined);
          for (const s of sources) await s.close().catch(() => undefined);
          await pool.close().catch(() => undefined);
          await batch(
            await admin(),
            `IF DB_ID(${nLiteral(name)}) IS NOT NULL BEGIN ALTER DATABASE ${quoteIdent(name)} SET SINGLE_USER WITH ROLLBACK IMMEDIATE; DROP DATABASE ${quoteIdent(name)}; END`,
          );
        },
      };
      if (cleanupOptIn) {
        db.forceCleanup = async (tables: HarnessTable[]): Promise<bigint | null> => {
          await batch(pool, `ALTER DATABASE ${quoteIdent(name)} SET CHANGE_TRACKING (CHANGE_RETENTION = 1 MINUTES, AUTO_CLEANUP = ON)`);
          await sleep(75_000);
          for (const t of tables) {
            await batch(pool, `EXEC sys.sp_flush_CT_internal_table_on_demand @TableToClean = ${nLiteral(f.qualified(t.ref))}`);
          }
          return null;
        };
      }
      return db;
    },
    async close(): Promise<void> {
      await adminPool?.close().catch(() => undefined);
      adminPool = null;
    },
  };
}
