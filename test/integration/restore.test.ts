// `ctrelay restore` from an archive `ctrelay archive` wrote while a workload ran: at three recorded
// versions, into fresh PostgreSQL and MariaDB databases, each equal to the source's state recorded
// (rows and version in one REPEATABLE READ transaction) by the test's own comparison; the files
// decode with Apache Avro's own tools; a byte changed by hand is found by --check and by restore,
// which name the file. A recorded version is a window version: the workload pauses while the state
// is recorded and until capture has a window at it (versions only move on tracked writes), which is
// what `--to-version V` promises exactly (the newest archived window at or below V).
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ARCHIVE_SCHEMA, ARCHIVE_TABLES, archiveWorkload, avroToolsJar, expectRestoredEquals, manifestOf, recordState, waitArchived } from '../support/archive.ts';
import { usePipeline } from '../support/pipeline-fixture.ts';
import { sleep, uniquePrefix } from '../support/pipeline.ts';

const fx = usePipeline({ name: 'restore', schema: ARCHIVE_SCHEMA, tables: ARCHIVE_TABLES, config: { source: { pollIntervalMs: 100 } } });

describe('ctrelay restore', () => {
  it('rebuilds PostgreSQL and MariaDB at three versions recorded under a workload; Avro tools read the files; a corrupted file is named', { timeout: 150_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ctr-archive-'));
    const prefix = uniquePrefix('rst');
    const file = fx.config(prefix, { archive: { target: dir, segmentMs: 300, segmentBytes: 40_000 }, http: { archive: { port: 0 } } });
    fx.capture(file);
    const archiver = fx.spawn(['archive', '-c', file]);
    await fx.waitCaptured(prefix);
    const work = archiveWorkload(fx.db.url);
    const recorded: { as: string; version: bigint }[] = [];
    for (const as of ['rec1', 'rec2', 'rec3']) {
      await sleep(1500);
      await work.pause();
      const version = await recordState(fx.db.url, as, ARCHIVE_TABLES);
      await fx.waitCaptured(prefix, version);
      work.resume();
      recorded.push({ as, version });
    }
    const txns = await work.stop();
    expect(txns).toBeGreaterThan(50);
    await waitArchived(dir, recorded[2].version);
    expect(archiver.child.exitCode).toBeNull();

    for (const { as, version } of recorded) {
      for (const kind of ['postgres', 'mariadb'] as const) {
        const target = await fx.standby(kind, `rst${kind === 'postgres' ? 'pg' : 'my'}`);
        const r = await fx.run(['restore', '--from', dir, '--to-version', String(version), '--target', target.url, '--json']);
        expect(r.code, r.stderr).toBe(0);
        const restored = JSON.parse(r.stdout);
        expect(restored.window.version).toBe(String(version));
        await expectRestoredEquals(fx.db.url, as, target, ARCHIVE_TABLES);
        if (as === 'rec2' && kind === 'postgres') {
          // the same point by its commit time
          const byTime = await fx.standby('postgres', 'rsttime');
          const t = await fx.run(['restore', '--from', dir, '--to-time', restored.window.commitTs, '--target', byTime.url, '--json']);
          expect(t.code, t.stderr).toBe(0);
          expect(JSON.parse(t.stdout).window.version).toBe(String(version));
          await expectRestoredEquals(fx.db.url, as, byTime, ARCHIVE_TABLES);
        }
      }
    }

    const check = await fx.run(['restore', '--from', dir, '--check']);
    expect(check.code, check.stderr).toBe(0);
    expect(check.stdout).toMatch(/intact: \d+ files/);
    const list = await fx.run(['archive', 'list', '--from', dir]);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toMatch(/public\.items/);
    expect(list.stdout).toMatch(/public\.ledger/);

    // Apache Avro's own reader: the first full of items holds the snapshot's rows
    const m = (await manifestOf(dir))!;
    const full = m.files.find((f) => f.table === 'public.items' && f.kind === 'full')!;
    const json = execFileSync('java', ['-jar', avroToolsJar(), 'tojson', join(dir, full.name)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    const records = json.trim().split('\n').map((l) => JSON.parse(l));
    expect(records.length).toBe(full.rows);
    expect(records[0].op).toBe('r');
    expect(records[0].source.table).toBe('items');
    expect(json).toContain('"item 1"');

    // a byte changed by hand, in a copy of the archive: --check and restore both name the file
    const bad = mkdtempSync(join(tmpdir(), 'ctr-archive-bad-'));
    cpSync(dir, bad, { recursive: true });
    const victim = m.files.filter((f) => f.table === 'public.ledger').at(-1)!;
    const bytes = readFileSync(join(bad, victim.name));
    bytes[Math.floor(bytes.length / 2)] ^= 0x01;
    writeFileSync(join(bad, victim.name), bytes);
    const badCheck = await fx.run(['restore', '--from', bad, '--check']);
    expect(badCheck.code).toBe(7);
    expect(badCheck.stderr).toContain(victim.name);
    const target = await fx.standby('postgres', 'rstbad');
    const badRestore = await fx.run(['restore', '--from', bad, '--latest', '--target', target.url]);
    expect(badRestore.code).toBe(7);
    expect(badRestore.stderr).toContain(victim.name);
    expect(badRestore.stderr).not.toMatch(/\n\s+at /); // a user error: no stack trace
    // kept when the test fails, to look at
    rmSync(dir, { recursive: true, force: true });
    rmSync(bad, { recursive: true, force: true });
  });
});
