// Applier metrics (Prometheus). The lag gauges are computed when scraped, from what the applier
// knows at that moment, so they are true from the first scrape after a start and while nothing
// can be applied (a standby that refuses, a lock): lag in versions is measured against the source
// itself when it answers (a probe, see src/sources/version-probe.ts), else against the newest
// batch in the batch log; lag in seconds is the age of the oldest change not yet on the standby.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { BatchRecord } from '../core/batch.ts';

type Position = { seq: bigint; version: bigint };

export class ApplyMetrics {
  readonly appliedSeq: Gauge;
  readonly appliedVersion: Gauge;
  readonly lagVersions: Gauge;
  readonly lagBatches: Gauge;
  readonly lagSeconds: Gauge;
  readonly rows: Counter;
  readonly windows: Counter;
  readonly transactions: Counter;
  readonly applySeconds: Histogram;
  readonly errors: Counter;
  private applied: Position | null = null;
  /** newest batch known from the batch log */
  private newest: Position | null = null;
  /** the source's current version, when the probe could read it */
  private sourceVersion: bigint | null = null;
  /** batches seen but not applied: seq -> when their oldest change was committed (else captured) */
  private readonly pending = new Map<bigint, number>();

  constructor(registry: Registry) {
    const registers = [registry];
    const lag = {
      versions: () => this.lagInVersions(),
      batches: () => (this.newest && this.applied ? Number(this.newest.seq > this.applied.seq ? this.newest.seq - this.applied.seq : 0n) : this.newest ? Number(this.newest.seq + 1n) : 0),
      seconds: () => this.lagInSeconds(),
    };
    this.appliedSeq = new Gauge({ name: 'ctrelay_apply_batch_seq', help: 'last batch applied to the standby', registers });
    this.appliedVersion = new Gauge({ name: 'ctrelay_apply_version', help: 'source version the standby equals', registers });
    this.lagVersions = new Gauge({
      name: 'ctrelay_apply_lag_versions',
      help: 'source current version (the newest captured version when the source does not answer) minus the version the standby equals',
      registers,
      collect() { this.set(lag.versions()); },
    });
    this.lagBatches = new Gauge({ name: 'ctrelay_apply_lag_batches', help: 'batches in the batch log not yet applied', registers, collect() { this.set(lag.batches()); } });
    this.lagSeconds = new Gauge({
      name: 'ctrelay_apply_lag_seconds',
      help: 'age of the oldest change in the batch log not yet on the standby (source commit time, else capture time); 0 when caught up',
      registers,
      collect() { this.set(lag.seconds()); },
    });
    this.rows = new Counter({ name: 'ctrelay_apply_events_total', help: 'change events applied', registers });
    this.windows = new Counter({ name: 'ctrelay_apply_windows_total', help: 'windows applied', registers });
    this.transactions = new Counter({ name: 'ctrelay_apply_transactions_total', help: 'standby transactions committed', registers });
    this.applySeconds = new Histogram({ name: 'ctrelay_apply_transaction_seconds', help: 'time to apply one standby transaction', registers, buckets: [0.005, 0.02, 0.05, 0.1, 0.5, 1, 5, 30] });
    this.errors = new Counter({ name: 'ctrelay_apply_errors_total', help: 'apply failures', registers });
  }

  /** What the standby holds (its ctrelay_state), at start and after every transaction. */
  standbyAt(p: Position | null): void {
    this.applied = p;
    if (!p) return;
    this.appliedSeq.set(Number(p.seq));
    this.appliedVersion.set(Number(p.version));
    for (const seq of this.pending.keys()) if (seq <= p.seq) this.pending.delete(seq);
  }

  /** A batch record read from the batch log (ahead of what is applied, or the last one at start). */
  sawBatch(b: Pick<BatchRecord, 'seq' | 'version' | 'commitTsMs' | 'captureTsMs'>): void {
    if (!this.newest || b.seq > this.newest.seq) this.newest = { seq: b.seq, version: b.version };
    if (!this.applied || b.seq > this.applied.seq) this.pending.set(b.seq, b.commitTsMs ?? b.captureTsMs);
  }

  /** The source's current version from the probe. */
  sawSourceVersion(v: bigint): void {
    this.sourceVersion = v;
  }

  observeApplied(batch: BatchRecord, rows: number, windows: number, ms: number): void {
    this.sawBatch(batch);
    this.standbyAt({ seq: batch.seq, version: batch.version });
    this.rows.inc(rows);
    this.windows.inc(windows);
    this.transactions.inc();
    this.applySeconds.observe(ms / 1000);
  }

  private lagInVersions(): number {
    const head = this.sourceVersion ?? this.newest?.version ?? null;
    if (head === null) return 0;
    const at = this.applied?.version ?? -1n;
    return Number(head > at ? head - at : 0n);
  }

  private lagInSeconds(): number {
    let oldest = Infinity;
    for (const ts of this.pending.values()) if (ts < oldest) oldest = ts;
    return Number.isFinite(oldest) ? Math.max(0, (Date.now() - oldest) / 1000) : 0;
  }
}
