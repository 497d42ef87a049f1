// Capture metrics (Prometheus). Kept apart from the agent so the loop reads as the algorithm.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export class CaptureMetrics {
  readonly lagVersions: Gauge;
  readonly lagSeconds: Gauge;
  readonly sourceVersion: Gauge;
  readonly publishedVersion: Gauge;
  readonly batchSeq: Gauge;
  readonly batchEvents: Histogram;
  readonly events: Counter;
  readonly batches: Counter;
  readonly errors: Counter;
  readonly snapshotRows: Counter;
  readonly resnapshots: Counter;
  readonly syncDegraded: Gauge;

  constructor(registry: Registry) {
    const registers = [registry];
    this.lagVersions = new Gauge({ name: 'ctrelay_capture_lag_versions', help: 'source current version minus the last version published to Kafka', registers });
    this.lagSeconds = new Gauge({ name: 'ctrelay_capture_lag_seconds', help: 'age of the oldest change in the last published window at publish time', registers });
    this.sourceVersion = new Gauge({ name: 'ctrelay_capture_source_version', help: 'source change-tracking current version at the last poll', registers });
    this.publishedVersion = new Gauge({ name: 'ctrelay_capture_published_version', help: 'version of the last complete window committed to Kafka', registers });
    this.batchSeq = new Gauge({ name: 'ctrelay_capture_batch_seq', help: 'sequence number of the last batch committed to Kafka', registers });
    this.batchEvents = new Histogram({
      name: 'ctrelay_capture_batch_events', help: 'events per published batch', registers,
      buckets: [0, 1, 10, 100, 1000, 5000, 10000, 50000],
    });
    this.events = new Counter({ name: 'ctrelay_capture_events_total', help: 'change events published', labelNames: ['table', 'op'], registers });
    this.batches = new Counter({ name: 'ctrelay_capture_batches_total', help: 'batches committed to Kafka', registers });
    this.errors = new Counter({ name: 'ctrelay_capture_errors_total', help: 'poll or publish failures (each followed by a resume from the batch log)', registers });
    this.snapshotRows = new Counter({ name: 'ctrelay_capture_snapshot_rows_total', help: 'rows read by (re-)snapshots', labelNames: ['table'], registers });
    this.resnapshots = new Counter({ name: 'ctrelay_capture_snapshots_started_total', help: 'snapshots started (initial and re-snapshots)', labelNames: ['table'], registers });
    this.syncDegraded = new Gauge({ name: 'ctrelay_capture_sync_degraded', help: '1 while sync mode runs degraded (asynchronous) because the standby did not acknowledge in time', registers });
  }
}
