// The lifecycle of one standby transaction, shared by the dialects: when it may still send
// anything, what commit() does after a failure, and what becomes of its connection.
import { StandbyError } from '../core/errors.ts';
import type { Row, TableMeta } from '../core/model.ts';
import type { ApplyState, StandbyTransaction } from './dialect.ts';
import { classified } from './driver-errors.ts';

/**
 * One standby transaction on one connection taken from the dialect's pool. Subclasses write the
 * statements and talk to their driver; this class holds the contract:
 *
 * - A failed statement POISONS the transaction. Statements go through `run()`, which turns a
 *   driver error into a classified StandbyError and remembers the first one. After it, statements
 *   are refused without being sent (on MariaDB and SQL Server a deadlock has already rolled the
 *   whole transaction back, and what followed would run outside it), and commit() rolls back and
 *   throws instead of committing part of the work (PostgreSQL would answer such a COMMIT with
 *   ROLLBACK, not with an error).
 * - The error commit() throws then keeps the failure's classification: a transaction whose
 *   connection was killed reports transient, one whose row the standby refused reports permanent.
 * - commit() and rollback() end the transaction once; afterwards statements and commit() are
 *   refused. rollback() is idempotent and may follow commit() (callers call it in every catch).
 * - The connection goes back to the pool only after a COMMIT or ROLLBACK that succeeded. A
 *   connection in an unknown state (COMMIT or ROLLBACK failed or got no answer) is destroyed,
 *   never pooled.
 * - Whatever leaves is a StandbyError classified by the dialect (`classify`).
 */
export abstract class SqlTransaction implements StandbyTransaction {
  private finished = false;
  private failure: StandbyError | null = null;

  /** @param where the standby for messages, e.g. `PostgreSQL standby host:5432/db` */
  protected constructor(protected readonly where: string) {}

  abstract ensureTable(table: TableMeta): Promise<void>;
  abstract upsert(table: TableMeta, rows: Row[]): Promise<void>;
  abstract delete(table: TableMeta, keys: Row[]): Promise<void>;
  abstract deleteAll(table: TableMeta): Promise<void>;
  abstract writeState(state: ApplyState): Promise<void>;

  /** The dialect's StandbyError for a driver error: `${where}: ${doing}: <driver message>`, classified. */
  protected abstract classify(err: unknown, doing: string): StandbyError;
  /**
   * Sends COMMIT (`commit`) or ROLLBACK and rejects with the driver's error when that fails.
   * Resolves to a complaint when the server ended the transaction otherwise than asked, else null.
   */
  protected abstract endOnServer(commit: boolean): Promise<string | null>;
  /** Hands the connection back to the pool (called after an end that succeeded). */
  protected abstract releaseConnection(): void;
  /** Closes the connection for good: its state is unknown. Must not throw. */
  protected abstract destroyConnection(): void;

  /**
   * Runs one statement (or several that stand or fall together). A driver error becomes the
   * StandbyError `describe` makes of it (naming table and key), poisons the transaction and is
   * thrown; a StandbyError thrown by `send` poisons it as it is.
   */
  protected async run<T>(send: () => Promise<T>, describe: (err: unknown) => StandbyError | Promise<StandbyError>): Promise<T> {
    this.refuseUnlessOpen();
    try {
      return await send();
    } catch (err) {
      throw this.poison(err instanceof StandbyError ? err : await describe(err));
    }
  }

  /** Records `err` as the transaction's failure (the first one wins) and returns it, for `throw`. */
  protected poison(err: StandbyError): StandbyError {
    this.failure ??= err;
    return err;
  }

  /** Throws unless statements may still be sent. */
  protected refuseUnlessOpen(): void {
    if (this.finished) throw new StandbyError(`${this.where}: transaction already finished`);
    const f = this.failure;
    if (f) throw classified(`${this.where}: a statement of this transaction failed, roll it back: ${f.message}`, f.transient, f);
  }

  async commit(): Promise<void> {
    if (this.finished) throw new StandbyError(`${this.where}: transaction already finished`);
    this.finished = true;
    const f = this.failure;
    if (f === null) return this.end(true);
    let also = '';
    await this.end(false).catch((err: unknown) => {
      also = `; the ROLLBACK failed too (${err instanceof Error ? err.message : String(err)})`;
    });
    throw classified(`${this.where}: transaction rolled back, a statement in it failed: ${f.message}${also}`, f.transient, f);
  }

  async rollback(): Promise<void> {
    if (this.finished) return;
    this.finished = true;
    await this.end(false);
  }

  private async end(commit: boolean): Promise<void> {
    let complaint: string | null;
    try {
      complaint = await this.endOnServer(commit);
    } catch (err) {
      this.destroyConnection();
      throw this.classify(err, `${commit ? 'COMMIT' : 'ROLLBACK'} failed`);
    }
    this.releaseConnection();
    if (complaint !== null) throw new StandbyError(`${this.where}: ${complaint}`);
  }
}
