// Applier metrics (Prometheus): lag in versions, seconds and batches, throughput, apply latency.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { BatchRecord } from '../core/batch.ts';

export class ApplyMetrics {
  readonly appliedSeq: Gauge;
  readonly appliedVersion: Gauge;
  readonly lagSeconds: Gauge;
  readonly lagBatches: Gauge;
  readonly lagVersions: Gauge;
  readonly rows: Counter;
  readonly windows: Counter;
  readonly transactions: Counter;
  readonly applySeconds: Histogram;
  readonly errors: Counter;
  /** newest batch seen in the batch log, for lag in batches and versions */
  private newestSeq = -1n;
  private newestVersion = -1n;

  constructor(registry: Registry) {
    const registers = [registry];
    this.appliedSeq = new Gauge({ name: 'ctrelay_apply_batch_seq', help: 'last batch applied to the standby', registers });
    this.appliedVersion = new Gauge({ name: 'ctrelay_apply_version', help: 'source version the standby equals', registers });
    this.lagSeconds = new Gauge({ name: 'ctrelay_apply_lag_seconds', help: 'source commit (or capture) time of the last applied window to its apply', registers });
    this.lagBatches = new Gauge({ name: 'ctrelay_apply_lag_batches', help: 'batches in the log not yet applied', registers });
    this.lagVersions = new Gauge({ name: 'ctrelay_apply_lag_versions', help: 'newest captured version minus applied version', registers });
    this.rows = new Counter({ name: 'ctrelay_apply_events_total', help: 'change events applied', registers });
    this.windows = new Counter({ name: 'ctrelay_apply_windows_total', help: 'windows applied', registers });
    this.transactions = new Counter({ name: 'ctrelay_apply_transactions_total', help: 'standby transactions committed', registers });
    this.applySeconds = new Histogram({ name: 'ctrelay_apply_transaction_seconds', help: 'time to apply one standby transaction', registers, buckets: [0.005, 0.02, 0.05, 0.1, 0.5, 1, 5, 30] });
    this.errors = new Counter({ name: 'ctrelay_apply_errors_total', help: 'apply failures', registers });
  }

  sawBatch(seq: bigint, version: bigint): void {
    if (seq > this.newestSeq) this.newestSeq = seq;
    if (version > this.newestVersion) this.newestVersion = version;
  }

  observeApplied(batch: BatchRecord, rows: number, windows: number, ms: number): void {
    this.sawBatch(batch.seq, batch.version);
    this.appliedSeq.set(Number(batch.seq));
    this.appliedVersion.set(Number(batch.version));
    this.lagSeconds.set(Math.max(0, (Date.now() - (batch.commitTsMs ?? batch.captureTsMs)) / 1000));
    this.lagBatches.set(Number(this.newestSeq - batch.seq));
    this.lagVersions.set(Number(this.newestVersion - batch.version));
    this.rows.inc(rows);
    this.windows.inc(windows);
    this.transactions.inc();
    this.applySeconds.observe(ms / 1000);
  }
}
