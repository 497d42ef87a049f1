// `ctrelay archive compact` and archive.retention.fulls, with the archiver running under a
// workload, its files in Avro's snappy codec: synthetic fulls at two recorded versions, then one
// table re-snapshotted online (a second epoch); retention (fulls: 2) then drops the
// archive's beginning and every segment before the older full, deleting their files; restores at
// the full's points and after them, into PostgreSQL and MariaDB, equal the source's recorded state
// (the test's own comparison); a point before the kept fulls is refused by name; the synthetic
// files decode with Apache Avro's tools; restore --check covers them and names a corrupted one.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FsArchiveStore } from '../../src/archive/fs-store.ts';
import { readFulls } from '../../src/archive/fulls.ts';
import type { Manifest } from '../../src/archive/manifest.ts';
import { ARCHIVE_SCHEMA, ARCHIVE_TABLES, archiveWorkload, avroToolsJar, expectRestoredEquals, manifestOf, recordState, waitArchived } from '../support/archive.ts';
import { usePipeline } from '../support/pipeline-fixture.ts';
import { sleep, uniquePrefix, until } from '../support/pipeline.ts';

const fx = usePipeline({ name: 'compact', schema: ARCHIVE_SCHEMA, tables: ARCHIVE_TABLES, config: { source: { pollIntervalMs: 100 } } });

describe('ctrelay archive compact', () => {
  it('synthetic fulls under a workload, retention drops what they replace, restores equal the recorded states', { timeout: 180_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ctr-compact-'));
    const prefix = uniquePrefix('cmp');
    const file = fx.config(prefix, { archive: { target: dir, segmentMs: 300, segmentBytes: 40_000, codec: 'snappy', retention: { fulls: 2 } }, http: { archive: { port: 0 } } });
    fx.capture(file);
    const archiver = fx.spawn(['archive', '-c', file]);
    await fx.waitCaptured(prefix);
    const work = archiveWorkload(fx.db.url);
    const record = async (as: string) => {
      await sleep(1500);
      await work.pause();
      const version = await recordState(fx.db.url, as, ARCHIVE_TABLES);
      await fx.waitCaptured(prefix, version);
      work.resume();
      await waitArchived(dir, version);
      return version;
    };
    const v0 = await record('cmp0');
    const v1 = await record('cmp1');
    const c1 = await fx.run(['archive', 'compact', '-c', file, '--to-version', String(v1), '--json']);
    expect(c1.code, c1.stderr).toBe(0);
    const full1 = JSON.parse(c1.stdout);
    expect(full1).toMatchObject({ existed: false, window: { version: String(v1) } });
    expect(full1.tables.map((t: { table: string }) => t.table)).toEqual(ARCHIVE_TABLES);
    const again = await fx.run(['archive', 'compact', '-c', file, '--to-version', String(v1)]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/already there at version/);
    const v2 = await record('cmp2');
    const store = new FsArchiveStore(dir);
    const before = (await manifestOf(dir))!; // the beginning and one full: retention has nothing to drop yet
    expect(before.retainedFrom).toBeUndefined();
    const c2 = await fx.run(['archive', 'compact', '-c', file, '--to-version', String(v2), '--json']);
    expect(c2.code, c2.stderr).toBe(0);
    const full2 = JSON.parse(c2.stdout);
    // the beginning and two synthetic fulls are three: retention keeps the two synthetic ones
    const m = (await until(() => manifestOf(dir), (x) => x?.retainedFrom !== undefined, 'retention to drop the beginning', 30_000)) as Manifest;
    // ledger re-snapshotted online: restores after it take its second epoch, items from the full
    const resnap = await fx.run(['snapshot', '-c', file, '-t', 'public.ledger', '--wait', '0']);
    expect(resnap.code, resnap.stderr).toBe(0);
    const v3 = await record('cmp3');
    const txns = await work.stop();
    expect(txns).toBeGreaterThan(50);
    expect(archiver.child.exitCode).toBeNull();

    expect(m.retainedFrom!.seq).toBe(full1.window.seq);
    expect(BigInt(m.segments[0].firstSeq)).toBeGreaterThan(BigInt(before.segments[0].firstSeq));
    expect(BigInt(m.segments[0].lastSeq)).toBeGreaterThanOrEqual(BigInt(full1.window.seq));
    const dropped = before.files.filter((f) => BigInt(f.lastSeq) < BigInt(full1.window.seq));
    expect(dropped.length).toBeGreaterThan(0);
    for (const f of dropped) expect(existsSync(join(dir, f.name)), `${f.name} deleted by retention`).toBe(false);
    expect((await readFulls(store, m)).map((f) => f.window.version)).toEqual([String(v1), String(v2)]);
    const last = (await manifestOf(dir))!;
    const ledger2 = last.epochs.find((e) => e.table === 'public.ledger' && e.epoch > full2.tables.find((t: { table: string }) => t.table === 'public.ledger').epoch);
    expect(ledger2?.doneVersion, 'the re-snapshot of ledger completed in the archive').toBeDefined();
    expect(BigInt(ledger2!.doneVersion!)).toBeLessThanOrEqual(v3);
    expect(full2.window.version).toBe(String(v2));

    for (const [as, version] of [['cmp1', v1], ['cmp2', v2], ['cmp3', v3]] as const) {
      for (const kind of ['postgres', 'mariadb'] as const) {
        const target = await fx.standby(kind, `cmp${kind === 'postgres' ? 'pg' : 'my'}`);
        const r = await fx.run(['restore', '--from', dir, '--to-version', String(version), '--target', target.url, '--json']);
        expect(r.code, r.stderr).toBe(0);
        expect(JSON.parse(r.stdout).window.version).toBe(String(version));
        await expectRestoredEquals(fx.db.url, as, target, ARCHIVE_TABLES);
      }
    }
    const early = await fx.standby('postgres', 'cmpearly');
    const refused = await fx.run(['restore', '--from', dir, '--to-version', String(v0), '--target', early.url]);
    expect(refused.code).toBe(6);
    expect(refused.stderr).toMatch(new RegExp(`version ${v0} is before the oldest full .* keeps \\(version ${v1}`));

    const list = await fx.run(['archive', 'list', '--from', dir]);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toContain(`synthetic fulls (ctrelay archive compact): version ${v1}, version ${v2}; retention keeps from version ${v1}`);
    expect(list.stdout).toMatch(new RegExp(`restorable: version ${v1} `));
    const check = await fx.run(['restore', '--from', dir, '--check']);
    expect(check.code, check.stderr).toBe(0);
    expect(check.stdout).toMatch(/2 synthetic fulls/);

    // Apache Avro's own reader (snappy): the synthetic full of items holds its rows at v2, one per key
    const items = (await readFulls(store, m))[1].files.find((f) => f.table === 'public.items')!;
    const json = execFileSync('java', ['-jar', avroToolsJar(), 'tojson', join(dir, items.name)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    const records = json.trim().split('\n').map((l) => JSON.parse(l));
    expect(records.length).toBe(items.rows);
    expect(new Set(records.map((r) => JSON.stringify(r.key))).size).toBe(records.length);
    expect(records.every((r) => r.op !== 'd')).toBe(true);

    const bad = mkdtempSync(join(tmpdir(), 'ctr-compact-bad-'));
    cpSync(dir, bad, { recursive: true });
    const bytes = readFileSync(join(bad, items.name));
    bytes[Math.floor(bytes.length / 2)] ^= 0x01;
    writeFileSync(join(bad, items.name), bytes);
    const badCheck = await fx.run(['restore', '--from', bad, '--check']);
    expect(badCheck.code).toBe(7);
    expect(badCheck.stderr).toContain(items.name);
    rmSync(dir, { recursive: true, force: true });
    rmSync(bad, { recursive: true, force: true });
  });
});
