// Lag that tells the truth while capture is not polling (sync mode blocked on a standby, a long
// backoff, a huge window being published): a probe on its own connection reads the source's
// current version every few seconds, so `ctrelay_capture_source_version` and
// `ctrelay_capture_lag_versions` follow the source itself, not the last poll.
import type { Logger } from 'pino';
import type { ChangeSource } from '../core/change-source.ts';
import type { CaptureMetrics } from './metrics.ts';

export class SourceVersionProbe {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private connected = false;
  private warned = false;
  /** the source's current version at the last probe; null before the first */
  latest: bigint | null = null;

  constructor(
    private readonly source: ChangeSource,
    private readonly metrics: CaptureMetrics,
    /** the version capture has published (its last complete window), -1 when none */
    private readonly published: () => bigint,
    private readonly log: Logger,
    private readonly intervalMs = 2_000,
  ) {}

  start(): void {
    const tick = () => {
      this.running = this.probe().finally(() => {
        this.running = null;
        if (this.timer) this.timer = setTimeout(tick, this.intervalMs);
      });
    };
    this.timer = setTimeout(tick, 0);
  }

  private async probe(): Promise<void> {
    try {
      if (!this.connected) {
        await this.source.connect();
        this.connected = true;
      }
      const session = await this.source.beginPoll();
      const v = session.currentVersion;
      await session.end();
      this.latest = v;
      this.metrics.sourceVersion.set(Number(v));
      const published = this.published();
      if (published >= 0n) this.metrics.lagVersions.set(Number(v > published ? v - published : 0n));
      this.warned = false;
    } catch (err) {
      // the capture loop reports source problems; the probe only says once that lag is unknown now
      if (!this.warned) this.log.warn({ err }, 'cannot read the source version for the lag metrics');
      this.warned = true;
    }
  }

  async stop(): Promise<void> {
    const t = this.timer;
    this.timer = null;
    if (t) clearTimeout(t);
    await this.running?.catch(() => undefined);
    await this.source.close().catch(() => undefined);
  }
}
