// Sync mode's gate (src/core/modes.ts): window N+1 is read only after the standby acknowledged
// window N. When no ack comes within timeoutMs: `block` keeps waiting (logging each timeout);
// `degrade` goes on asynchronously, flagged, until the standby catches up again, like an
// availability-group replica going NOT SYNCHRONIZING and back.
import type { AckSource } from '../core/ack.ts';
import type { SyncGate, SyncPolicy } from '../core/modes.ts';

/** Where the gate reports its state changes (capture: metrics and log lines). */
export interface SyncGateEvents {
  degraded(seq: bigint, timeoutMs: number): void;
  recovered(seq: bigint): void;
  stillBlocked(seq: bigint, timeoutMs: number): void;
  /** the ack came after one or more stillBlocked */
  unblocked(seq: bigint): void;
}

export class AckSyncGate implements SyncGate {
  degraded = false;
  private cancelled = false;
  private cancelWait: (() => void) | null = null;

  constructor(
    private readonly acks: AckSource,
    private readonly timeoutMs: number,
    private readonly policy: SyncPolicy,
    private readonly events: SyncGateEvents,
  ) {}

  async awaitAck(seq: bigint): Promise<void> {
    const caughtUp = (a: { seq: bigint }) => a.seq >= seq;
    if (this.degraded) {
      if (this.acks.latest && caughtUp(this.acks.latest)) {
        this.degraded = false;
        this.events.recovered(seq);
      }
      return;
    }
    let blocked = false;
    while (!this.cancelled) {
      const ack = await Promise.race([
        this.acks.waitFor(caughtUp, this.timeoutMs),
        new Promise<null>((resolve) => (this.cancelWait = () => resolve(null))),
      ]);
      if (ack || this.cancelled) {
        if (ack && blocked) this.events.unblocked(seq);
        return;
      }
      if (this.policy === 'degrade') {
        this.degraded = true;
        this.events.degraded(seq, this.timeoutMs);
        return;
      }
      blocked = true;
      this.events.stillBlocked(seq, this.timeoutMs);
    }
  }

  cancel(): void {
    this.cancelled = true;
    this.cancelWait?.();
  }
}
