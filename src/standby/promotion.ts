// A standby's side of failover (DESIGN section 5, issue 13): write protection while it is a standby,
// and promotion to primary. Every standby dialect implements it; `ctrelay promote` and the applier
// use it. The orchestration (draining, verifying, fencing Kafka) lives in src/failover/.
import type { TableRef } from '../core/model.ts';
import { StandbyError } from '../core/errors.ts';
import type { StandbyDialect } from './dialect.ts';
import { driverMessage } from './messages.ts';

/** How a standby was promoted: stored in its ctrelay_state row of the source it replicated. */
export interface Promotion {
  /** when markPromoted committed */
  at: Date;
  /** the source version the standby held when promoted (the applied version) */
  version: bigint;
  /** the last applied batch */
  batchSeq: bigint;
}

/** One sequence, identity or auto-increment counter that advanceSequences moved. */
export interface SequenceAdvance {
  /** the standby table and column it feeds */
  table: string;
  column: string;
  /** the engine's object, e.g. `public.orders_id_seq`, or `AUTO_INCREMENT` on MariaDB */
  sequence: string;
  /** the next value it would have handed out before the call (null: the engine did not say) */
  before: bigint | null;
  /** the next value a default/identity now hands out */
  next: bigint;
}

export interface StandbyPromotion {
  /** the standby for messages, e.g. `PostgreSQL standby host:5432/db` */
  readonly where: string;
  /**
   * Protects the standby against writes from anyone but the applier, so that an application pointed
   * at it by mistake cannot make it diverge. Idempotent; called by the applier at start while the
   * standby is not promoted (config standby.protect, default on).
   * PostgreSQL: `ALTER DATABASE … SET default_transaction_read_only = on` (new sessions default to
   * read-only; the applier's sessions set it off). MariaDB: the server's `read_only` (the applier's
   * login needs READ_ONLY ADMIN; it is the whole server). SQL Server: see its dialect.
   * A login that may not is a StandbyError naming the privilege and `standby.protect: false`.
   */
  protect(): Promise<void>;
  /** Lifts the protection (idempotent): promote calls it last. */
  unprotect(): Promise<void>;
  /** Whether the protection is in place now. */
  isProtected(): Promise<boolean>;
  /**
   * Marks the standby promoted for `sourceId`, at the state it holds (idempotent: a second call
   * returns the first promotion). Once it has committed no apply transaction of that source
   * commits here: the state row's lock serialises it with writeState, which then refuses with a
   * PromotedError. A standby with no state for `sourceId` is a StandbyError.
   */
  markPromoted(sourceId: string): Promise<Promotion>;
  /** The promotion of `sourceId` on this standby, or null while it is a standby. */
  readPromotion(sourceId: string): Promise<Promotion | null>;
  /**
   * Moves every sequence, identity and auto-increment counter that feeds a column of `tables` past
   * the largest value the column holds and past `floors` (`schema.table.column` -> the last value
   * the source handed out, when the source answers), so that the first insert after a failover
   * does not collide with a replicated key. Never moves a counter backwards. Returns what moved.
   * `tables` and the floors' keys are standby names (the applier's target names).
   */
  advanceSequences(tables: TableRef[], floors: ReadonlyMap<string, bigint>): Promise<SequenceAdvance[]>;
}

/** A standby dialect that can be protected and promoted (all of ctrelay's). */
export type PromotableDialect = StandbyDialect & StandbyPromotion;

export function isPromotable(d: StandbyDialect): d is PromotableDialect {
  return typeof (d as Partial<StandbyPromotion>).markPromoted === 'function';
}

/** The applier refuses a promoted standby (at start, and at writeState of a transaction in flight). */
export class PromotedError extends StandbyError {
  constructor(where: string, sourceId: string, p: Promotion, options?: ErrorOptions) {
    super(
      `${where} was promoted at ${p.at.toISOString()} (ctrelay promote; source ${sourceId} at version ${p.version}): ` +
        'it is a primary now and the applier refuses to write it. To replicate into it again, reverse the flow ' +
        'with ctrelay failback (it becomes the source of a new pipeline) or rebuild it as a new standby',
      options,
    );
  }
}

/** The key of `floors` for one column (advanceSequences). */
export function floorKey(table: TableRef, column: string): string {
  return `${table.schema}.${table.table}.${column}`;
}

/**
 * The next value a counter must hand out after advanceSequences: past the column's largest value
 * and past the source's floor, and never below what it would hand out now (`currentNext`).
 */
export function nextCounterValue(currentNext: bigint, columnMax: bigint | null, floor: bigint | undefined): bigint {
  let next = currentNext;
  if (columnMax !== null && columnMax + 1n > next) next = columnMax + 1n;
  if (floor !== undefined && floor + 1n > next) next = floor + 1n;
  return next;
}

/** A login that may not protect the standby: names what it needs and the way out (standby.protect: false). */
export class ProtectRefusedError extends StandbyError {
  constructor(where: string, needs: string, err: unknown, also = '') {
    super(
      `${where}: cannot protect the standby against writes by other sessions: the applier's login needs ${needs}${also}. ` +
        'Give the login that and restart the applier, or set `standby.protect: false` in the config to replicate without the protection ' +
        `(${driverMessage(err)})`,
      { cause: err },
    );
  }
}

/** markPromoted on a standby that holds nothing of `sourceId`. */
export function nothingToPromote(where: string, sourceId: string): StandbyError {
  return new StandbyError(
    `${where} holds no ctrelay_state row for source ${sourceId}: nothing of that source was applied here, so there is nothing to promote (check source.id)`,
  );
}

/**
 * What the applier does with the standby before it applies anything: connect, create the state
 * table, refuse a standby promoted for `sourceId` (a PromotedError), and protect it when `protect`
 * (config standby.protect).
 */
export async function prepareStandby(dialect: StandbyDialect, sourceId: string, protect: boolean): Promise<void> {
  await dialect.connect();
  await dialect.ensureStateTable();
  if (!isPromotable(dialect)) return;
  const promotion = await dialect.readPromotion(sourceId);
  if (promotion) throw new PromotedError(dialect.where, sourceId, promotion);
  if (protect) await dialect.protect();
}
