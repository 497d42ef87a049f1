// SqlServerSource: the ChangeSource over SQL Server change tracking (see README.md beside it).
//
// Connections: a catalog pool for describe/prerequisites, and a session pool of exactly ONE
// connection for poll transactions. The poll transaction is plain T-SQL (BEGIN/COMMIT TRANSACTION
// on that connection) rather than mssql's Transaction object, because mssql returns the connection
// to the pool inside commit(), leaving no moment to reset the isolation level before reuse.
//
// Errors: every driver call goes through query()/fail(), which classify it (errors.ts): a lost
// connection, a deadlock or a timeout is a transient SourceUnavailableError, a refusal (permission,
// missing table, change tracking off, login) a permanent SourceError, both naming the server.
import sql from 'mssql';
import type { CatalogWatch, ChangePosition, ChangeRow, ChangeSource, PollSession } from '../../core/change-source.ts';
import { SourceError } from '../../core/errors.ts';
import { qualifiedName, type Row, type TableMeta, type TableRef } from '../../core/model.ts';
import { notTrackedFix } from '../source-errors.ts';
import {
  checkTablePrerequisites, describeTableRows, problemsError, readCatalogColumn, readTablePrerequisites, tablePrerequisiteProblems, trackingInfoFor,
  type DescribedTable, type TablePrerequisites,
} from './catalog.ts';
import { classifySqlServerError } from './errors.ts';
import { execute } from '../../drivers/sqlserver/params.ts';
import { decodeChangeRow, decodeRow, versionOrNull, type TrackingInfo } from './rows.ts';
import {
  CATALOG_SIGNATURE_SQL,
  ABORT_POLL_SQL,
  beginPollSql,
  changesStatement,
  COLUMNS_SQL,
  DATABASE_PREREQUISITES_SQL,
  END_POLL_SQL,
  MIN_VALID_VERSION_SQL,
  objectName,
  snapshotChunkStatement,
  TABLE_PREREQUISITES_SQL,
  type CommitTimeMode,
  type Statement,
} from './sql.ts';
import type { CatalogColumn } from './types.ts';
import { parseSqlServerUrl } from '../../drivers/sqlserver/url.ts';

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
   * utc); 'off' leaves commitTs null and needs no VIEW DATABASE STATE
   */
  commitTime?: CommitTimeMode;
}

type Rec = Record<string, unknown>;

export class SqlServerSource implements ChangeSource, CatalogWatch {
  readonly kind = 'sqlserver';
  private readonly config: sql.config;
  /** host:port/database, for messages; never carries the password */
  readonly label: string;
  private catalogPool: sql.ConnectionPool | null = null;
  private sessionPool: sql.ConnectionPool | null = null;
  private snapshot = true;
  private sessionOpen = false;
  private readonly tracking = new Map<string, TrackingInfo>();

  constructor(private readonly options: SqlServerSourceOptions) {
    const parsed = parseSqlServerUrl(options.url);
    this.config = parsed.config;
    this.label = parsed.label;
  }

  /** The classified error for a failed driver call: `doing` and `table` name what it was about. */
  private fail(err: unknown, doing: string, table?: string): Error {
    return classifySqlServerError(err, { server: this.label, what: doing, table, secret: this.config.password });
  }

  async connect(): Promise<void> {
    try {
      this.catalogPool = await new sql.ConnectionPool({ ...this.config, pool: { min: 0, max: 2 } }).connect();
      // min = max = 1: the one connection is never reaped while idle between a poll's statements
      this.sessionPool = await new sql.ConnectionPool({ ...this.config, pool: { min: 1, max: 1 } }).connect();
    } catch (err) {
      await this.close();
      throw this.fail(err, 'connecting');
    }
    const [db] = await this.query(this.catalogPool, { sql: DATABASE_PREREQUISITES_SQL, params: {} }, 'checking prerequisites');
    if (!db || db.change_tracking_on !== true) {
      throw new SourceError(
        `change tracking is not enabled on database ${this.label}: ALTER DATABASE ... SET CHANGE_TRACKING = ON (CHANGE_RETENTION = 7 DAYS, AUTO_CLEANUP = ON), or run \`ctrelay ct enable\``,
      );
    }
    this.snapshot = db.snapshot_isolation_state === 1;
    if (!this.snapshot && !this.options.allowNonSnapshot) {
      throw new SourceError(
        `snapshot isolation is ${String(db.snapshot_isolation_state_desc ?? 'OFF')} on database ${this.label}: ALTER DATABASE ... SET ALLOW_SNAPSHOT_ISOLATION ON ` +
          `(or set source.allowNonSnapshot: true to accept polls that are not one consistent snapshot)`,
      );
    }
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
    try {
      const [rec] = await this.query(pool, { sql: beginPollSql(this.snapshot), params: {} }, 'beginning the poll transaction');
      const v = versionOrNull(rec?.current_version, 'CHANGE_TRACKING_CURRENT_VERSION()');
      if (v === null) throw new SourceError(`CHANGE_TRACKING_CURRENT_VERSION() is NULL on ${this.label}: change tracking was disabled`);
      return new SqlServerPollSession(this, pool, v, this.snapshot, this.options.commitTime ?? 'utc');
    } catch (err) {
      await this.endSession(pool, false).catch(() => undefined);
      throw this.fail(err, 'beginning a poll');
    }
  }

  /** Ends the poll transaction and releases the session slot. */
  async endSession(pool: sql.ConnectionPool, ok: boolean): Promise<void> {
    try {
      await this.query(pool, { sql: ok ? END_POLL_SQL : ABORT_POLL_SQL, params: {} }, 'ending the poll transaction');
    } finally {
      this.sessionOpen = false;
    }
  }

  /** Runs a statement; its failure is classified, naming `doing` and the table (schema.table) it was about. */
  async query(pool: sql.ConnectionPool, st: Statement, doing: string, table?: string): Promise<Rec[]> {
    try {
      return await execute(new sql.Request(pool), st);
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

class SqlServerPollSession implements PollSession {
  private ended = false;

  constructor(
    private readonly source: SqlServerSource,
    private readonly pool: sql.ConnectionPool,
    readonly currentVersion: bigint,
    private readonly snapshot: boolean,
    private readonly commitTime: CommitTimeMode,
  ) {}

  private live(): void {
    if (this.ended) throw new SourceError('the poll session has ended');
  }

  async minValidVersion(table: TableMeta): Promise<bigint> {
    this.live();
    const name = qualifiedName(table);
    const [rec] = await this.source.query(
      this.pool,
      { sql: MIN_VALID_VERSION_SQL, params: { qualifiedName: { sqlType: 'nvarchar', value: objectName(table) } } },
      `reading the min valid version of ${name}`,
      name,
    );
    const v = versionOrNull(rec?.min_valid_version, 'CHANGE_TRACKING_MIN_VALID_VERSION');
    if (v === null) {
      throw new SourceError(
        `CHANGE_TRACKING_MIN_VALID_VERSION is NULL for ${name} on ${this.source.label}: change tracking is off for the table or the login lacks VIEW CHANGE TRACKING; ${notTrackedFix(name)}`,
      );
    }
    return v;
  }

  async changes(table: TableMeta, since: bigint, after: ChangePosition | null, limit: number): Promise<ChangeRow[]> {
    this.live();
    const info = await this.source.trackingInfo(table);
    const st = changesStatement(table, { since, until: this.currentVersion, after, limit, columnIds: info.columnIds, commitTime: this.commitTime });
    const recs = await this.source.query(this.pool, st, `reading the changes of ${qualifiedName(table)}`, qualifiedName(table));
    const rows = recs.map((r) => decodeChangeRow(table, info, r));
    if (!this.snapshot) {
      // Without a snapshot, cleanup may have removed changes while they were read: re-validate.
      const min = await this.minValidVersion(table);
      if (since < min) {
        throw new SourceError(
          `changes of ${qualifiedName(table)} since version ${since} were cleaned up while being read (min valid version is now ${min}); the next poll re-snapshots the table`,
        );
      }
    }
    return rows;
  }

  async snapshotChunk(table: TableMeta, afterKey: Row | null, limit: number): Promise<Row[]> {
    this.live();
    const name = qualifiedName(table);
    const recs = await this.source.query(this.pool, snapshotChunkStatement(table, afterKey, limit), `reading a snapshot chunk of ${name}`, name);
    return recs.map((r) => decodeRow(table, r));
  }

  async end(): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    await this.source.endSession(this.pool, true);
  }
}
