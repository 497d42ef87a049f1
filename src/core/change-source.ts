import type { Row, TableMeta, TableRef } from './model.ts';

/**
 * A source database with SQL Server change-tracking semantics: database-wide versions, one per
 * source transaction, assigned at commit and visible in commit order; net changes per key since a
 * version, joined to the current row; a per-table minimum valid version below which changes are gone.
 *
 * SQL Server implements it natively; PostgreSQL through ctrelay's own change tracking.
 *
 * Errors (src/core/errors.ts): every method, of the source and of its PollSession, rejects only with
 *  - SourceUnavailableError (transient: `isTransient(err)`): the same work can succeed later. The
 *    connection was refused, lost, reset or terminated (also by an administrator, e.g.
 *    pg_terminate_backend or KILL), the server is starting or shutting down, a deadlock, a
 *    serialization/snapshot conflict, a lock or statement timeout. Capture waits and resumes from
 *    its checkpoint; a poll whose session failed is abandoned (end() may then reject too) and a
 *    later beginPoll() must work again once the server answers.
 *  - SourceError (permanent, exit 3): retrying cannot help and the operator must act. Permission
 *    denied, authentication failed, a table that does not exist or is no longer change-tracked
 *    (the message names the table and says how to enable it again: `ctrelay ct enable ...`),
 *    change tracking or snapshot isolation off, a missing primary key, an unsupported type.
 *  - anything else is a bug in ctrelay (not a driver error left unclassified).
 * Every message names the (redacted) server and what was being done, never a password.
 */
export interface ChangeSource {
  readonly kind: string;
  /** Connects and checks prerequisites (snapshot isolation, change tracking enabled). */
  connect(): Promise<void>;
  /**
   * Reads the catalog for the given tables. Throws SourceError for a missing table, a table
   * without primary key, a table without change tracking, or an unsupported column type that is not
   * excluded (naming table and column).
   */
  describe(tables: TableRef[], exclude?: Map<string, Set<string>>): Promise<TableMeta[]>;
  /** Opens ONE read-only snapshot transaction; every read through the session sees one version. */
  beginPoll(): Promise<PollSession>;
  close(): Promise<void>;
}

/** One change of one key, net since the version the read started from. */
export interface ChangeRow {
  /** relative to the starting version: I = key did not exist then, U = it did, D = gone now */
  op: 'I' | 'U' | 'D';
  /** version of the last transaction that changed the key (SYS_CHANGE_VERSION) */
  version: bigint;
  /** the key columns */
  key: Row;
  /** the current row at the session's version; null for D */
  row: Row | null;
  /** columns changed, when the source tracks columns and not all changed; else null */
  changedColumns: string[] | null;
  /** commit time of `version` in ISO-8601 UTC, when the source records one */
  commitTs: string | null;
}

/** Position inside one version window, for paging a huge window by (version, key). */
export interface ChangePosition {
  version: bigint;
  key: Row;
}

/**
 * A snapshot-isolation read transaction. All methods read the same snapshot, whose version is
 * `currentVersion`. Close it with end(); it holds no locks that block writers.
 */
export interface PollSession {
  /** CHANGE_TRACKING_CURRENT_VERSION() in this snapshot; 0 is a real version */
  readonly currentVersion: bigint;
  /** CHANGE_TRACKING_MIN_VALID_VERSION for the table in this snapshot */
  minValidVersion(table: TableMeta): Promise<bigint>;
  /**
   * Net changes with version in (since, currentVersion], ordered by (version, key), strictly after
   * `after` when given, at most `limit` of them.
   */
  changes(table: TableMeta, since: bigint, after: ChangePosition | null, limit: number): Promise<ChangeRow[]>;
  /** Rows of the table in key order, keys strictly greater than `afterKey` when given, at most `limit`. */
  snapshotChunk(table: TableMeta, afterKey: Row | null, limit: number): Promise<Row[]>;
  /** Ends the transaction (and resets the connection's isolation level before it is pooled again). */
  end(): Promise<void>;
}

/**
 * Optional capability: a cheap signature of the tables' definitions (columns, types, nullability),
 * checked before every poll so that a column added mid-stream yields a new schema at once.
 * A source without it is re-described only at start.
 */
export interface CatalogWatch {
  catalogSignature(tables: TableRef[]): Promise<string>;
}

export function canWatchCatalog(s: ChangeSource): s is ChangeSource & CatalogWatch {
  return typeof (s as Partial<CatalogWatch>).catalogSignature === 'function';
}
