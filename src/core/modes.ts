// Replication modes (DESIGN section 4). async: capture runs ahead of the standby. sync: capture
// reads window N+1 only after the standby acknowledged window N, so at most one window is ever
// unprotected; when the standby does not answer in time, policy `degrade` goes on asynchronously
// (flagged) and `block` keeps waiting.

export type Mode = 'async' | 'sync';
export type SyncPolicy = 'degrade' | 'block';

/** What capture asks before reading the next window in sync mode. */
export interface SyncGate {
  /**
   * Resolves when the window that ended with batch `seq` is acknowledged, or when the policy allows
   * going on without it (degrade), or when cancel() was called. Never rejects.
   */
  awaitAck(seq: bigint): Promise<void>;
  /** true while sync mode runs asynchronously because the standby fell behind (degrade policy) */
  readonly degraded: boolean;
  /** Ends any wait at once (graceful stop while blocked on a standby that is down). */
  cancel(): void;
}
