// The real Archiver in-process for the benchmarks (bench/restore.ts, bench/capture.ts), wired as
// src/archive/run.ts wires it, into a directory; and the archive lag as capture runs.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Archiver } from '../src/archive/archiver.ts';
import { FsArchiveStore } from '../src/archive/fs-store.ts';
import { singleObjectWireFormat } from '../src/avro/wire-format.ts';
import { retryTransient } from '../src/core/retry.ts';
import { TopicDecoder } from '../src/kafka/schemas-topic.ts';
import { kafkaPort, log, median, sleep } from './support.ts';

export interface RunningArchiver {
  archiver: Archiver;
  dir: string;
  segmentMs: number;
  /** the newest batch seq the archiver has read (its observe callback) */
  newest(): bigint;
  /** the last archived window's batch seq (the manifest, from its archived callback) */
  archived(): bigint;
  /** batches read but not yet archived: what ctrelay_archive_lag_batches reports */
  lag(): number;
  /** resolves once the archiver has read batch `seq` (`read`) or its manifest holds it; fails when it stopped first */
  reached(seq: bigint, what?: 'read' | 'archived', timeoutMs?: number): Promise<void>;
  /** stop (the open segment is written: the manifest then holds every batch read), close Kafka; remove the directory if asked */
  stop(removeDir?: boolean): Promise<void>;
}

/** Archives batch log `prefix` into `dir` (default: a new temp directory) from where its manifest left off. */
export async function startArchiver(prefix: string, segmentMs: number, dir = mkdtempSync(join(tmpdir(), 'ctrelay-bench-archive-')), segmentBytes = 64 << 20, sourceId = 'bench'): Promise<RunningArchiver> {
  const kafka = kafkaPort('bench-archive');
  const wire = singleObjectWireFormat();
  let newest = -1n;
  let archived = -1n;
  const archiver = new Archiver({ sourceId, topicPrefix: prefix, segmentBytes, segmentMs }, {
    kafka, control: wire.control, events: new TopicDecoder(kafka, prefix, wire.decoder()), store: new FsArchiveStore(dir), log: log.child({ component: 'archive' }),
    archived: (m) => void (archived = BigInt(m.archived.seq)),
    observe: (s) => void (s > newest && (newest = s)),
  });
  // as run.ts: control topics capture created a moment ago may not have a known leader yet
  await retryTransient(() => archiver.resume(), 8, (err) => log.warn({ err }, 'archiver resume failed; retrying'));
  let ended = false;
  let failure: unknown = null;
  const done = archiver.run().catch((err) => void (failure = err)).finally(() => (ended = true));
  return {
    archiver,
    dir,
    segmentMs,
    newest: () => newest,
    archived: () => archived,
    lag: () => Number(newest > archived ? newest - archived : 0n),
    async reached(seq, what = 'archived', timeoutMs = 600_000) {
      const deadline = Date.now() + timeoutMs;
      while ((what === 'read' ? newest : archived) < seq) {
        if (ended) throw new Error(`the archiver stopped (read ${newest}, archived ${archived}) before it ${what} batch ${seq}: ${failure}`);
        if (Date.now() > deadline) throw new Error(`timed out waiting for the archiver to have ${what} batch ${seq} (read ${newest}, archived ${archived})`);
        await sleep(5);
      }
    },
    async stop(removeDir = false) {
      archiver.stop();
      await done;
      await kafka.close();
      if (removeDir) rmSync(dir, { recursive: true, force: true });
      if (failure) throw failure;
    },
  };
}

/**
 * The archive's lag over the runs of one phase: sampled every 250 ms from a run's start until the
 * archive caught up with what capture wrote, and how long that took after capture was done.
 * A no-op without an archiver (BENCH_ARCHIVE=0).
 */
export class ArchiveLag {
  private readonly samples: number[] = [];
  private readonly catchUps: number[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly ar: RunningArchiver | null) {}

  start(): void {
    const ar = this.ar;
    if (ar) this.timer = setInterval(() => this.samples.push(ar.lag()), 250);
  }

  /** Capture was done at `doneAt` (performance.now()) up to batch `seq`: waits until the manifest holds it. */
  async caughtUp(seq: bigint, doneAt: number): Promise<void> {
    if (!this.ar) return;
    await this.ar.reached(seq);
    this.catchUps.push(performance.now() - doneAt);
    clearInterval(this.timer);
  }

  print(): void {
    if (!this.ar || this.samples.length === 0) return;
    console.log(`  archive (in-process, segmentMs=${this.ar.segmentMs}): lag median ${median(this.samples)} batches, max ${Math.max(...this.samples)} (${this.samples.length} samples every 250 ms); ` +
      `caught up ${(median(this.catchUps) / 1000).toFixed(2)} s after capture was done (runs: ${this.catchUps.map((x) => (x / 1000).toFixed(2)).join(', ')})`);
  }
}
