// The source's current version, read every few seconds on a connection of its own, for lag that
// tells the truth whatever the job is doing: capture blocked in sync mode or in a backoff, an
// applier that cannot write. Any source kind (it only opens and ends a poll session).
import type { Logger } from 'pino';
import type { ChangeSource } from '../core/change-source.ts';

export class SourceVersionProbe {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private connected = false;
  private warned = false;
  /** the source's current version at the last successful probe; null before the first */
  latest: bigint | null = null;

  constructor(
    private readonly source: ChangeSource,
    /** called with every version read */
    private readonly onVersion: (version: bigint) => void,
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
      this.onVersion(v);
      this.warned = false;
    } catch (err) {
      // the job reports source problems of its own; the probe only says once that lag is unknown
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
