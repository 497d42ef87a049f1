// A standby's side of failover (DESIGN section 5, issue 13): write protection while it is a standby,
// and promotion to primary. Every standby dialect implements it; `ctrelay promote` and the applier
// use it. The orchestration (draining, verifying, fencing Kafka) lives in src/failover/.
import type { TableRef } from '../core/model.ts';
import { StandbyError } from '../core/errors.ts';
import type { StandbyDialect } from './dialect.ts';

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
  /** the value before, and the next value a default/identity now hands out */
  before: bigint | null;
  next: bigint;
}

export interface StandbyPromotion {
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
        '(ctrelay failback) or rebuild it as a new standby',
      options,
    );
  }
}
