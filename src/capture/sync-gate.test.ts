// The sync gate's policies over an in-memory ack source (a fake of ctrelay's own AckSource port;
// the real acks topic is exercised by test/integration/apply-sync.test.ts).
import { describe, expect, it } from 'vitest';
import type { Ack, AckSource } from '../core/ack.ts';
import { AckSyncGate, type SyncGateEvents } from './sync-gate.ts';

class MemoryAcks implements AckSource {
  latest: Ack | null = null;
  private waiters: { test: (a: Ack) => boolean; done: (a: Ack | null) => void }[] = [];
  ack(seq: bigint): void {
    this.latest = { sourceId: 's', standbyId: 'b', seq, version: seq * 10n, appliedAtMs: 0, rows: 0n };
    for (const w of this.waiters.splice(0)) if (w.test(this.latest)) w.done(this.latest); else this.waiters.push(w);
  }
  waitFor(test: (a: Ack) => boolean, timeoutMs: number): Promise<Ack | null> {
    if (this.latest && test(this.latest)) return Promise.resolve(this.latest);
    return new Promise((resolve) => {
      const w = { test, done: (a: Ack | null) => { clearTimeout(t); this.waiters = this.waiters.filter((x) => x !== w); resolve(a); } };
      const t = setTimeout(() => w.done(null), timeoutMs);
      this.waiters.push(w);
    });
  }
}

function recorder(): SyncGateEvents & { log: string[] } {
  const log: string[] = [];
  return {
    log,
    degraded: (seq) => log.push(`degraded ${seq}`),
    recovered: (seq) => log.push(`recovered ${seq}`),
    stillBlocked: (seq) => log.push(`blocked ${seq}`),
    unblocked: (seq) => log.push(`unblocked ${seq}`),
  };
}

const settled = async <T>(p: Promise<T>, ms: number) => Promise.race([p.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms))]);

describe('sync gate', () => {
  it('lets the next window go once the previous one is acknowledged', async () => {
    const acks = new MemoryAcks();
    const gate = new AckSyncGate(acks, 1_000, 'block', recorder());
    const waiting = gate.awaitAck(3n);
    expect(await settled(waiting, 30)).toBe(false);
    acks.ack(2n);
    expect(await settled(waiting, 30)).toBe(false);
    acks.ack(3n);
    expect(await settled(waiting, 100)).toBe(true);
  });

  it('block: keeps waiting past the timeout, saying so each time, until the ack comes', async () => {
    const acks = new MemoryAcks();
    const events = recorder();
    const gate = new AckSyncGate(acks, 20, 'block', events);
    const waiting = gate.awaitAck(1n);
    expect(await settled(waiting, 90)).toBe(false);
    expect(events.log.filter((l) => l === 'blocked 1').length).toBeGreaterThanOrEqual(2);
    expect(gate.degraded).toBe(false);
    acks.ack(1n);
    expect(await settled(waiting, 100)).toBe(true);
    expect(events.log.at(-1)).toBe('unblocked 1');
  });

  it('degrade: goes on asynchronously after the timeout, and becomes synchronous again once the standby caught up', async () => {
    const acks = new MemoryAcks();
    const events = recorder();
    const gate = new AckSyncGate(acks, 20, 'degrade', events);
    await gate.awaitAck(1n);
    expect(gate.degraded).toBe(true);
    expect(events.log).toEqual(['degraded 1']);
    // while degraded, windows are not held back
    expect(await settled(gate.awaitAck(2n), 10)).toBe(true);
    acks.ack(1n);
    expect(await settled(gate.awaitAck(3n), 10)).toBe(true);
    expect(gate.degraded).toBe(true);
    // caught up with the window before: synchronous again, and the next window waits once more
    acks.ack(3n);
    await gate.awaitAck(3n);
    expect(gate.degraded).toBe(false);
    expect(events.log).toEqual(['degraded 1', 'recovered 3']);
    expect(await settled(gate.awaitAck(4n), 10)).toBe(false);
  });

  it('cancel ends a blocked wait at once (graceful stop with the standby down)', async () => {
    const gate = new AckSyncGate(new MemoryAcks(), 60_000, 'block', recorder());
    const waiting = gate.awaitAck(1n);
    gate.cancel();
    expect(await settled(waiting, 100)).toBe(true);
  });
});
