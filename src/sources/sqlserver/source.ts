// SqlServerSource: the ChangeSource over SQL Server change tracking (see README.md beside it).
//
// Connections: a catalog pool for describe/prerequisites, and a session pool of exactly ONE
// connection for poll transactions. The poll transaction is plain T-SQL (BEGIN/COMMIT TRANSACTION
// on that connection) rather than mssql's Transaction object, because mssql returns the connection
// to the pool inside commit(), leaving no moment to reset the isolation level before reuse. What
// happens inside a poll (the snapshot pin, change windows, the min valid re-check) is in
// poll-session.ts; poll statements run with their own request timeout (DEFAULT_POLL_TIMEOUT_MS).
//
// Errors: every driver call goes through query()/fail(), which classify it (errors.ts): a lost
// connection, a deadlock or a timeout is a transient SourceUnavailableError, a refusal (permission,
// missing table, change tracking off, login) a permanent SourceError, both naming the server.
import type sql from 'mssql';
import { mssql } from '../../drivers/sqlserver/mssql.ts';
import type { CatalogWatch, ChangeSource, PollSession, StartupWarnings } from '../../core/change-source.ts';
import { SourceError } from '../../core/errors.ts';
import { qualifiedName, type TableMeta, type TableRef } from '../../core/model.ts';
import {
  checkTablePrerequisites, describeTableRows, problemsError, readCatalogColumn, readTablePrerequisites, tablePrerequisiteProblems, trackingInfoFor,
  type DescribedTable, type TablePrerequisites,
} from './catalog.ts';
import { checkDatabase } from './database-checks.ts';
import { classifySqlServerError } from './errors.ts';
import { execute } from '../../drivers/sqlserver/params.ts';
import { openPoll, type PollContext } from './poll-session.ts';
import type { TrackingInfo } from './rows.ts';
import {
  CATALOG_SIGNATURE_SQL,
  COLUMNS_SQL,
  DATABASE_PREREQUISITES_SQL,
  endPollSql,
  objectName,
  TABLE_PREREQUISITES_SQL,
  type CommitTimeMode,
  type Statement,
} from './sql.ts';
import type { CatalogColumn } from './types.ts';
import { parseSqlServerUrl } from '../../drivers/sqlserver/url.ts';

/**
 * Default request timeout of every statement of a poll (30 minutes), chosen on purpose: a poll
 * reads each table's change window ONCE (window-sql.ts), and for a transaction of 10 million rows
 * that one read scans and sorts all of them, which takes minutes; mssql's default of 15 s would
 * fail it on every retry, for ever. A statement that runs longer than this is taken for stuck (a
 * dead server behind a live socket, a lock that never comes): it fails as a transient timeout and
 * capture retries from its checkpoint. Catalog statements keep the URL's requestTimeoutMs.
 */
export const DEFAULT_POLL_TIMEOUT_MS = 30 * 60_000;

export interface SqlServerSourceOptions {
  /** mssql://user:password@host:port/database?encrypt=...&trustServerCertificate=... */
  url: string;
  /**
   * Poll without snapshot isolation (READ COMMITTED, Microsoft's documented fallback): changes are
   * bounded by `SYS_CHANGE_VERSION <= V` and the min valid version is re-checked after reading, but
   * joined rows and snapshot chunks may be newer than V. Off by default.
   */
  allowNonSnapshot?: boolean;
  /**
   * time zone of sys.dm_tran_commit_table.commit_time, which Microsoft does not document (default
   * utc); 'off' leaves commitTs null and reads no DMV (then neither VIEW DATABASE STATE nor VIEW
   * SERVER STATE is used)
   */
  commitTime?: CommitTimeMode;
  /** request timeout of each poll statement in ms (default DEFAULT_POLL_TIMEOUT_MS; 0 = none) */
  pollTimeoutMs?: number;
}

type Rec = Record<string, unknown>;

export class SqlServerSource implements ChangeSource, CatalogWatch, StartupWarnings {
  readonly kind = 'sqlserver';
  private readonly config: sql.config;
  /** host:port/database, for messages; never carries the password */
  readonly label: string;
  private catalogPool: sql.ConnectionPool | null = null;
  private sessionPool: sql.ConnectionPool | null = null;
  private snapshot = true;
  private commitTime: CommitTimeMode;
  private warnings: string[] = [];
  private sessionOpen = false;
  private readonly tracking = new Map<string, TrackingInfo>();
  /** a captured table whose read starts each poll's snapshot (the first one described) */
  private pinTable: TableRef | null = null;
  private readonly pollTimeoutMs: number;

  constructor(private readonly options: SqlServerSourceOptions) {
    const parsed = parseSqlServerUrl(options.url);
    this.config = parsed.config;
    this.label = parsed.label;
    this.commitTime = options.commitTime ?? 'utc';
    const t = options.pollTimeoutMs ?? DEFAULT_POLL_TIMEOUT_MS;
    if (!Number.isSafeInteger(t) || t < 0) throw new SourceError(`SQL Server source ${this.label}: pollTimeoutMs must be a whole number of milliseconds (0 = none), got ${t}`);
    this.pollTimeoutMs = t;
  }

  /** The classified error for a failed driver call: `doing` and `table` name what it was about. */
  private fail(err: unknown, doing: string, table?: string): Error {
    return classifySqlServerError(err, { server: this.label, what: doing, table, secret: this.config.password });
  }

  async connect(): Promise<void> {
    try {
      this.catalogPool = await new (mssql().ConnectionPool)({ ...this.config, pool: { min: 0, max: 2 } }).connect();
      // min = max = 1: the one connection is never reaped while idle between a poll's statements
      this.sessionPool = await new (mssql().ConnectionPool)({ ...this.config, pool: { min: 1, max: 1 } }).connect();
    } catch (err) {
      await this.close();
      throw this.fail(err, 'connecting');
    }
    const [db] = await this.query(this.catalogPool, { sql: DATABASE_PREREQUISITES_SQL, params: {} }, 'checking prerequisites');
    const checks = checkDatabase(db, this.label, this.options);
    this.snapshot = checks.snapshot;
    this.commitTime = checks.commitTime;
    this.warnings = checks.warnings;
  }

  /** What the grants of the login mean for commit times and restores (read by connect). */
  async startupWarnings(): Promise<string[]> {
    return [...this.warnings];
  }

  async describe(tables: TableRef[], exclude?: Map<string, Set<string>>): Promise<TableMeta[]> {
    // every problem of every table, reported at once in one SourceError
    const problems: string[] = [];
    const described: DescribedTable[] = [];
    for (const t of tables) {
      const { prerequisites, columns } = await this.readCatalog(t, false);
      const before = tablePrerequisiteProblems(t, this.label, prerequisites);
      problems.push(...before);
      // a table that is not there (or not visible) has no columns worth reporting on
      if (prerequisites.objectId === null) continue;
      const d = describeTableRows(t, this.label, prerequisites, columns, exclude?.get(qualifiedName(t)));
      if ('problems' in d) problems.push(...d.problems);
      else if (before.length === 0) described.push(d);
    }
    const err = problemsError(problems);
    if (err) throw err;
    for (const d of described) this.tracking.set(objectName(d.meta), d.info);
    if (described.length > 0) this.pinTable = { schema: described[0].meta.schema, table: described[0].meta.table };
    return described.map((d) => d.meta);
  }

  /** A table's prerequisites (checked unless `check` is false: missing, grants, change tracking off) and catalog columns. */
  private async readCatalog(ref: TableRef, check = true): Promise<{ prerequisites: TablePrerequisites; columns: CatalogColumn[] }> {
    const pool = this.requirePool(this.catalogPool);
    const name = qualifiedName(ref);
    const params = { qualifiedName: { sqlType: 'nvarchar' as const, value: objectName(ref) } };
    const [pre] = await this.query(pool, { sql: TABLE_PREREQUISITES_SQL, params }, `checking table ${name}`, name);
    const prerequisites = readTablePrerequisites(pre);
    if (check) checkTablePrerequisites(ref, this.label, prerequisites);
    if (prerequisites.objectId === null) return { prerequisites, columns: [] };
    const rows = await this.query(pool, { sql: COLUMNS_SQL, params }, `reading the columns of ${name}`, name);
    return { prerequisites, columns: rows.map(readCatalogColumn) };
  }

  /** Tracking info for a table described earlier; reads the catalog again when this process has not. */
  async trackingInfo(table: TableMeta): Promise<TrackingInfo> {
    const cached = this.tracking.get(objectName(table));
    if (cached) return cached;
    const { prerequisites, columns } = await this.readCatalog(table);
    const info = trackingInfoFor(table, prerequisites, columns);
    this.tracking.set(objectName(table), info);
    this.pinTable ??= { schema: table.schema, table: table.table };
    return info;
  }

  async catalogSignature(tables: TableRef[]): Promise<string> {
    const pool = this.requirePool(this.catalogPool);
    const params = { names: { sqlType: 'nvarchar' as const, value: JSON.stringify(tables.map(objectName)) } };
    const rows = await this.query(pool, { sql: CATALOG_SIGNATURE_SQL, params }, 'reading the catalog signature');
    return JSON.stringify(rows.map((r) => [String(r.object_id), String(r.columns), String(r.max_column_id), String(r.checksum)]));
  }

  async beginPoll(): Promise<PollSession> {
    const pool = this.requirePool(this.sessionPool);
    if (this.sessionOpen) throw new SourceError(`SQL Server ${this.label}: a poll session is already open; end it first`);
    this.sessionOpen = true;
    const ctx: PollContext = {
      label: this.label,
      snapshot: this.snapshot,
      commitTime: this.commitTime,
      run: (st, doing, table) => this.query(pool, st, doing, table, this.pollTimeoutMs),
      trackingInfo: (table) => this.trackingInfo(table),
      finish: (commit, tempTables) => this.endSession(pool, commit, tempTables),
    };
    try {
      return await openPoll(ctx, this.pinTable);
    } catch (err) {
      await this.endSession(pool, false, []).catch(() => undefined);
      throw this.fail(err, 'beginning a poll', this.pinTable ? qualifiedName(this.pinTable) : undefined);
    }
  }

  /** Ends the poll transaction, drops its window tables and releases the session slot. */
  private async endSession(pool: sql.ConnectionPool, commit: boolean, tempTables: string[]): Promise<void> {
    try {
      await this.query(pool, { sql: endPollSql(commit, tempTables), params: {} }, 'ending the poll transaction');
    } finally {
      this.sessionOpen = false;
    }
  }

  /**
   * Runs a statement; its failure is classified, naming `doing` and the table (schema.table) it was
   * about. `timeoutMs` overrides the connection's request timeout (poll statements, see DEFAULT_POLL_TIMEOUT_MS).
   */
  async query(pool: sql.ConnectionPool, st: Statement, doing: string, table?: string, timeoutMs?: number): Promise<Rec[]> {
    try {
      // mssql 12 takes per-request overrides as the Request's second argument (its README:
      // "Override the pool's default request timeout (in ms) for this request only"); its type
      // definitions do not declare it yet
      const Request = mssql().Request as unknown as new (pool: sql.ConnectionPool, overrides?: { requestTimeout?: number }) => sql.Request;
      return await execute(new Request(pool, timeoutMs === undefined ? undefined : { requestTimeout: timeoutMs }), st);
    } catch (err) {
      throw this.fail(err, doing, table);
    }
  }

  private requirePool(p: sql.ConnectionPool | null): sql.ConnectionPool {
    if (!p) throw new SourceError(`SQL Server ${this.label}: not connected (call connect() first)`);
    return p;
  }

  async close(): Promise<void> {
    const pools = [this.sessionPool, this.catalogPool];
    this.sessionPool = null;
    this.catalogPool = null;
    for (const p of pools) if (p) await p.close().catch(() => undefined);
  }
}
