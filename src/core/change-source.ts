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
 *    a table whose tracking is off in part (PostgreSQL: a tracking trigger dropped, disabled or
 *    not ENABLE ALWAYS; raised by minValidVersion and changes of that table in every poll, since
 *    changes written meanwhile are never tracked), change tracking or snapshot isolation off, a
 *    missing primary key, an unsupported type.
 *
 * Re-enabling tracking invalidates every earlier cursor (as SQL Server does): however tracking of a
 * table was turned back on, its min valid version is then above every version a cursor could hold
 * from before, so capture re-snapshots the table instead of streaming past changes it never saw.
 *  - anything else is a bug in ctrelay (not a driver error left unclassified).
 * Every message names the (redacted) server and what was being done, never a password.
 */
export interface ChangeSource {
  readonly kind: string;
  /** Connects and checks prerequisites (snapshot isolation, change tracking enabled). */
  connect(): Promise<void>;
  /**
   * Reads the catalog for the given tables. Throws ONE SourceError listing every problem of every
   * table (a missing table, a table without primary key, a table without change tracking, each
   * column of an unsupported type that is not excluded, a misspelt exclusion), each naming its
   * table and column, so that the operator can fix them all at once.
   *
   * Each column reports `hasDefault` (it has a default, or rows older than the column read one:
   * adding it changed existing rows without DML) and `generated` (computed by the database).
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
   * `after` when given, at most `limit` of them. A source whose min valid version is not held by
   * the snapshot (SQL Server: it is metadata) checks it again after reading and rejects with a
   * transient SourceUnavailableError when it rose past `since` while the session was open
   * (retention cleanup during the read): the read may have missed changes, and the next poll,
   * finding the cursor below the min valid version, re-snapshots the table.
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

/**
 * Optional capability of a PollSession: why a table's min valid version was last raised (TRUNCATE,
 * retention cleanup, tracking re-enabled, a DDL that rewrote the rows), when the source records
 * it; null when it does not know. Capture adds it to the 'snapshot started' log of a re-snapshot.
 */
export interface ResetReasons {
  resetReason(table: TableMeta): Promise<string | null>;
}

export function canExplainResets(s: PollSession): s is PollSession & ResetReasons {
  return typeof (s as Partial<ResetReasons>).resetReason === 'function';
}

/**
 * Optional capability of a ChangeSource: what the operator should know when capture starts (after
 * connect), e.g. a protection the installer could not put in place. Capture logs each as a warning.
 */
export interface StartupWarnings {
  startupWarnings(): Promise<string[]>;
}

export function hasStartupWarnings(s: ChangeSource): s is ChangeSource & StartupWarnings {
  return typeof (s as Partial<StartupWarnings>).startupWarnings === 'function';
}

/**
 * Optional capability of a PollSession: an opaque identity of the source's version space, read with
 * the session's version (SQL Server: the database and its recovery fork); null when the source
 * cannot tell. It changes when version numbers may be handed out again for other transactions: a
 * restore from a backup, another database behind the same URL. Versions of two identities cannot
 * be compared, so capture records the identity with every table's cursor and re-snapshots every
 * table when it changes; `V < cursor` alone misses a restore followed by more writes than the gap.
 */
export interface SourceIdentity {
  readonly sourceIdentity: string | null;
}

export function hasSourceIdentity(s: PollSession): s is PollSession & SourceIdentity {
  return 'sourceIdentity' in s;
}

/**
 * Optional capability of a PollSession: which of `tables` have a change with version in (since,
 * currentVersion], answered for all of them at once (PostgreSQL: one statement, where changes()
 * would be one per table). Capture skips changes() for the others; their cursors still move to the
 * window's version. Must never leave out a table that has such a change; may name one that has none.
 * Raises what changes() would raise for a table whose tracking is off.
 */
export interface ChangedTables {
  changedTables(tables: TableMeta[], since: bigint): Promise<Set<string>>;
}

export function canListChangedTables(s: PollSession): s is PollSession & ChangedTables {
  return typeof (s as Partial<ChangedTables>).changedTables === 'function';
}
