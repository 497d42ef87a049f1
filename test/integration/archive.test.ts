// `ctrelay archive` killed with SIGKILL again and again while a workload runs: the manifest's chain
// of windows has no gap and no duplicate (restore --check, and the test's own walk of the windows
// against the batch log), no file is left that the manifest does not list, and `restore --latest`
// equals the source at the archived version (the workload stopped, the archive caught up).
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FsArchiveStore } from '../../src/archive/fs-store.ts';
import { readManifest, readWindows } from '../../src/archive/manifest.ts';
import { ARCHIVE_SCHEMA, ARCHIVE_TABLES, archiveWorkload, manifestOf, waitArchived } from '../support/archive.ts';
import { runningUrl, usePipeline } from '../support/pipeline-fixture.ts';
import { readBatches, runCtrelay, sleep, uniquePrefix, until } from '../support/pipeline.ts';
import { startS3Proxy } from '../support/s3proxy.ts';
import { createArchiveStore } from '../../src/archive/create-store.ts';

const fx = usePipeline({ name: 'archive', schema: ARCHIVE_SCHEMA, tables: ARCHIVE_TABLES, config: { source: { pollIntervalMs: 100 } } });

function allFiles(dir: string): string[] {
  return (readdirSync(dir, { recursive: true, withFileTypes: true }) as import('node:fs').Dirent[])
    .filter((e) => e.isFile() && !e.name.startsWith('.tmp-'))
    .map((e) => join(e.parentPath ?? (e as unknown as { path: string }).path, e.name).slice(dir.length + 1));
}

describe('ctrelay archive', () => {
  it('killed with SIGKILL at random twelve times under a workload: no window missing or repeated, and restore --latest equals the source', { timeout: 150_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ctr-archive-kill-'));
    const prefix = uniquePrefix('arck');
    const file = fx.config(prefix, { archive: { target: dir, segmentMs: 150, segmentBytes: 20_000 }, http: { archive: { port: 0 } } });
    fx.capture(file);
    await fx.waitCaptured(prefix);
    const work = archiveWorkload(fx.db.url);
    let kills = 0;
    let lastArchived = -1n;
    for (let i = 0; i < 12; i++) {
      const p = fx.spawn(['archive', '-c', file]);
      await p.waitFor('archive running');
      // somewhere in writing a segment, or between two
      await sleep(300 + Math.floor(Math.random() * 900));
      expect(p.child.exitCode, p.stderr().slice(-2000)).toBeNull();
      await p.kill('SIGKILL');
      kills++;
      const m = await manifestOf(dir);
      if (m) {
        expect(BigInt(m.archived.seq)).toBeGreaterThanOrEqual(lastArchived);
        lastArchived = BigInt(m.archived.seq);
      }
    }
    expect(kills).toBeGreaterThanOrEqual(10);
    await work.stop();
    const version = await fx.currentVersion();
    await fx.waitCaptured(prefix, version);
    const last = fx.spawn(['archive', '-c', file]);
    const m = (await waitArchived(dir, version))!;
    const metrics = await (await fetch(`${await runningUrl(last, 'archive running')}/metrics`)).text();
    expect(metrics).toContain(`ctrelay_archive_version ${m.archived.version}`);
    expect(metrics).toMatch(/ctrelay_archive_lag_batches 0/);
    expect(m.segments.length).toBeGreaterThan(12);

    // the chain, by the test's own walk: every complete window of the batch log exactly once, in order
    const store = new FsArchiveStore(dir);
    const archived = (await Promise.all(m.segments.map((s) => readWindows(store, s)))).flat().map((w) => w.seq);
    const logged = (await readBatches(fx.kafka, prefix)).filter(({ batch: b }) => b.sourceId === fx.sourceId && b.complete && b.seq <= BigInt(m.archived.seq)).map(({ batch: b }) => b.seq.toString());
    expect(archived).toEqual(logged);
    // nothing a crash left behind is taken for part of the archive once the archiver ran again
    const listed = new Set([...m.files.map((f) => f.name), ...m.segments.map((s) => s.index)]);
    const onDisk = allFiles(dir).filter((n) => n.startsWith('tables/') || n.startsWith('windows/'));
    expect(onDisk.filter((n) => !listed.has(n))).toEqual([]);
    expect(m.files.filter((f) => !onDisk.includes(f.name))).toEqual([]);
    const check = await fx.run(['restore', '--from', dir, '--check']);
    expect(check.code, check.stderr).toBe(0);

    const target = await fx.standby('postgres', 'arckpg');
    const r = await fx.run(['restore', '--from', dir, '--latest', '--target', target.url, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).window.version).toBe(String(version));
    await fx.expectStandbyEqualsSource(target);
    last.child.kill('SIGTERM');
    expect(await last.exited).toBe(0);
    rmSync(dir, { recursive: true, force: true }); // kept when the test fails, to look at
  });

  it('archives to S3-compatible object storage and restores from it (s3proxy)', { timeout: 120_000 }, async () => {
    const proxy = await startS3Proxy();
    try {
      await proxy.createBucket('ctrelay-archive');
      const prefix = uniquePrefix('arcs3');
      const target = `s3://ctrelay-archive/${prefix}`;
      const file = fx.config(prefix, {
        archive: { target, segmentMs: 200, s3: { endpoint: proxy.endpoint, region: proxy.region, accessKeyId: '${S3_KEY}', secretAccessKey: '${S3_SECRET}' } },
        http: { archive: { port: 0 } },
      });
      // every process reads the whole file: capture needs the variables too
      const env = { S3_KEY: proxy.accessKeyId, S3_SECRET: proxy.secretAccessKey };
      fx.spawn(['capture', '-c', file], env);
      const work = archiveWorkload(fx.db.url);
      await sleep(1500);
      await work.stop();
      const version = await fx.currentVersion();
      await fx.waitCaptured(prefix, version);
      const arc = fx.spawn(['archive', '-c', file], env);
      const store = createArchiveStore(target, { endpoint: proxy.endpoint, region: proxy.region, credentials: { accessKeyId: proxy.accessKeyId, secretAccessKey: proxy.secretAccessKey } });
      try {
        await until(() => readManifest(store), (m) => m !== null && BigInt(m.archived.version) >= version, () => `the archive at ${target} to reach version ${version}; archive said:\n${arc.stderr().slice(-2000)}`, 40_000, 200);
      } finally {
        await store.close();
      }
      arc.child.kill('SIGTERM');
      expect(await arc.exited, arc.stderr().slice(-2000)).toBe(0);
      expect(arc.stderr()).not.toContain(proxy.secretAccessKey);
      // restore and check read it back over S3, credentials from the AWS SDK's environment
      const aws = { AWS_ACCESS_KEY_ID: proxy.accessKeyId, AWS_SECRET_ACCESS_KEY: proxy.secretAccessKey, AWS_REGION: proxy.region };
      const check = await runCtrelay(['restore', '--from', target, '--s3-endpoint', proxy.endpoint, '--check'], aws);
      expect(check.code, check.stderr).toBe(0);
      const pgTarget = await fx.standby('postgres', 'arcs3pg');
      const r = await runCtrelay(['restore', '--from', target, '--s3-endpoint', proxy.endpoint, '--latest', '--target', pgTarget.url, '--json'], aws);
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout).window.version).toBe(String(version));
      await fx.expectStandbyEqualsSource(pgTarget);
    } finally {
      await proxy.stop();
    }
  });
});
