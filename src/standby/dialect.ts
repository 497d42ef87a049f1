import type { Row, TableMeta } from '../core/model.ts';

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
   * Creates the table (with its primary key) when absent, and adds columns the standby lacks.
   * Never drops or narrows anything.
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
   * Inserts or replaces whole rows by primary key, set-based (multi-row upsert or COPY + merge).
   * Idempotent: applying the same rows twice leaves the same state.
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
