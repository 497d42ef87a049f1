import type { Row, TableMeta, TableRef } from '../core/model.ts';

/** What a dialect may log through; pino's logger fits. */
export interface DialectLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export const silentLogger: DialectLogger = { info() {}, warn() {} };

/**
 * The applier's progress on one standby, stored in the standby's `ctrelay_state` table in the SAME
 * transaction as the data it describes, so it is exactly as durable as the data.
 */
export interface ApplyState {
  /** the capture source's id (config source.id) */
  sourceId: string;
  /** sequence number of the last batch whose changes are in the standby */
  batchSeq: bigint;
  /** the source version the standby now equals */
  version: bigint;
  /** offset of that batch's record in the batch-log topic */
  batchOffset: bigint;
  /** when the transaction was applied (set by the dialect on write; ignored on input) */
  appliedAt?: Date;
}

/** One column of a standby table as it exists (describeTable): what the catalog says, nothing inferred. */
export interface StandbyColumn {
  /** the name as the standby's catalog spells it */
  name: string;
  /**
   * the column's type in the engine's own words, from its catalog, e.g. `numeric(12,2)`,
   * `character varying(20)` (PostgreSQL), `decimal(12,2)`, `varchar(20) CHARACTER SET utf8mb4`
   * (MariaDB), `nvarchar(20)` (SQL Server)
   */
  nativeType: string;
  nullable: boolean;
  /** part of the table's primary key */
  inKey: boolean;
}

/**
 * One standby database engine. Table names: the applier passes TableMeta whose schema/table are
 * already the TARGET names (a PostgreSQL schema, a MariaDB database). Values are canonical
 * (src/core/model.ts); the dialect converts them to what its driver expects, without loss.
 * Errors: every method rejects with a StandbyError naming table (and key, for a row that cannot
 * be written), classified where it happened (src/standby/driver-errors.ts): a
 * StandbyUnavailableError when the same work can succeed later (connection lost, deadlock, ...),
 * a plain StandbyError when it cannot (permission, refused data, a login the server refuses).
 */
export interface StandbyDialect {
  readonly kind: string;
  connect(): Promise<void>;
  /** Creates `ctrelay_state` when absent. */
  ensureStateTable(): Promise<void>;
  readState(sourceId: string): Promise<ApplyState | null>;
  /**
   * Whether table DDL can run inside a standby transaction and commit or roll back with it
   * (StandbyTransaction.ensureTable): PostgreSQL and SQL Server. MariaDB cannot (every DDL statement
   * commits the open transaction), so there the applier calls ensureTable just before the
   * transaction that needs the change.
   */
  readonly transactionalDdl: boolean;
  /**
   * The table's columns in column order, as the standby's catalog describes them; null when the
   * table does not exist. Names compare as the engine compares them (case-insensitively on MariaDB
   * and SQL Server).
   */
  describeTable(table: TableRef): Promise<StandbyColumn[] | null>;
  /**
   * Makes the standby table hold every row of `table` exactly, in the column types this dialect
   * maps `table`'s ColumnTypes to, on a connection of its own (committed when it returns):
   * - creates the table, with its primary key, when absent;
   * - adds the columns the standby lacks, nullable (rows already there have no value for them);
   * - WIDENS a column whose type is narrower than the one `table` needs when the engine's change
   *   keeps every stored value: a larger integer, float32 to float64, a decimal with more digits
   *   before and at least as many after the point, a longer string or binary of the same kind, more
   *   fractional-second digits; and drops NOT NULL where `table` allows NULL;
   * - drops NOT NULL of columns the standby has and `table` lacks (dropped or renamed at the source,
   *   or excluded on this standby), so that rows written without them are not refused; their stored
   *   values stay.
   * Never drops a column and never narrows or converts one. A column whose type differs otherwise
   * (narrower, fewer digits after the point, another kind such as int to text), or a primary key
   * that differs, is a ColumnChangeRefusedError (src/standby/column-change.ts) naming the table,
   * the column, both types and the ways out; the table is then left as it was. Idempotent.
   */
  ensureTable(table: TableMeta): Promise<void>;
  /**
   * Reads rows in primary-key order, keys strictly greater than `afterKey` when given, at most
   * `limit`, converted back to canonical values (used by verify, the demo and the tests).
   * Returns [] when the table does not exist.
   */
  scan(table: TableMeta, afterKey: Row | null, limit: number): Promise<Row[]>;
  /** Opens ONE standby transaction. */
  begin(): Promise<StandbyTransaction>;
  close(): Promise<void>;
}

/** One open standby transaction; the lifecycle is src/standby/sql-transaction.ts's contract. */
export interface StandbyTransaction {
  /**
   * StandbyDialect.ensureTable inside this transaction: the table change commits or rolls back
   * with the rows that need it. Only where the dialect's `transactionalDdl` is true; elsewhere it
   * rejects with a StandbyError and changes nothing.
   */
  ensureTable(table: TableMeta): Promise<void>;
  /**
   * Inserts or replaces whole rows by primary key, set-based (multi-row upsert or COPY + merge).
   * Idempotent: applying the same rows twice leaves the same state. Writes into the table as
   * ensureTable left it for `table`. A value its column's ColumnType cannot hold as it is (more
   * digits after the point than the decimal's scale, a string longer than its maxLength, a
   * float32 column's number that is not a float32, more fractional-second digits than the
   * precision) is a StandbyError naming table, column and key: a standby never rounds or cuts.
   */
  upsert(table: TableMeta, rows: Row[]): Promise<void>;
  /** Deletes rows by primary key, set-based; absent keys are not an error. */
  delete(table: TableMeta, keys: Row[]): Promise<void>;
  /** Deletes every row of the table (a re-snapshot begins: the snapshot rewrites it whole). */
  deleteAll(table: TableMeta): Promise<void>;
  /**
   * Upserts the ctrelay_state row for state.sourceId, only FORWARD: when the stored batch_seq is
   * already >= state.batchSeq (another applier got there first) it writes nothing and throws
   * ConcurrentApplierError, so the caller's transaction rolls back instead of rewinding the standby.
   */
  writeState(state: ApplyState): Promise<void>;
  commit(): Promise<void>;
  rollback(): Promise<void>;
}
