import { describe, expect, it } from 'vitest';
import { checkChain, MANIFEST_FORMAT, readManifest, sha256, writeManifest, type Manifest, type WindowEntry } from './manifest.ts';
import type { FullEntry } from './fulls.ts';
import { filesAt } from './replay.ts';
import { planRetention } from './retention.ts';
import type { ArchiveStore } from './store.ts';

class MemoryStore implements ArchiveStore {
  readonly location = 'memory://';
  readonly objects = new Map<string, Buffer>();
  async put(name: string, body: Buffer) { this.objects.set(name, body); }
  async get(name: string) { return this.objects.get(name) ?? null; }
  async list(prefix: string) { return [...this.objects.keys()].filter((k) => k.startsWith(prefix)).sort(); }
  async delete(name: string) { this.objects.delete(name); }
  async close() {}
}

const w = (seq: number, version: number, previousVersion: number): WindowEntry => ({ seq: String(seq), version: String(version), previousVersion: String(previousVersion), offset: String(seq), commitTs: null });

async function archiveOf(store: MemoryStore, segments: WindowEntry[][]): Promise<Manifest> {
  const m: Manifest = { format: MANIFEST_FORMAT, sourceId: 's', topicPrefix: 'p', manifestSeq: 1, archived: { seq: '0', version: '0', offset: '0', commitTs: null }, segments: [], files: [], epochs: [] };
  for (const ws of segments) {
    const index = `windows/${ws[0].seq}-${ws.at(-1)!.seq}.json`;
    const body = Buffer.from(JSON.stringify(ws));
    await store.put(index, body);
    m.segments.push({ firstSeq: ws[0].seq, lastSeq: ws.at(-1)!.seq, fromVersion: ws[0].previousVersion, toVersion: ws.at(-1)!.version, firstCommitTs: null, lastCommitTs: null, index, indexSha256: sha256(body) });
    m.archived = { seq: ws.at(-1)!.seq, version: ws.at(-1)!.version, offset: ws.at(-1)!.offset, commitTs: null };
  }
  return m;
}

describe('archive manifest', () => {
  it('the chain holds for consecutive windows and names a gap, a repeated window and a changed index', async () => {
    const store = new MemoryStore();
    expect(await checkChain(store, await archiveOf(store, [[w(1, 10, -1), w(2, 12, 10)], [w(4, 15, 12)]]))).toEqual([]);
    const s2 = new MemoryStore();
    expect((await checkChain(s2, await archiveOf(s2, [[w(1, 10, -1)], [w(3, 15, 12)]]))).join()).toMatch(/gap before window 3/);
    const s3 = new MemoryStore();
    expect((await checkChain(s3, await archiveOf(s3, [[w(1, 10, -1), w(2, 12, 10)], [w(2, 12, 10)]]))).join()).toMatch(/window 2 .*repeats/);
    const s4 = new MemoryStore();
    const m4 = await archiveOf(s4, [[w(1, 10, -1)]]);
    s4.objects.set(m4.segments[0].index, Buffer.from('[]'));
    await expect(checkChain(s4, m4)).rejects.toThrow(/windows\/1-1.json .*corrupt: its SHA-256/);
  });

  it('the newest manifest whose checksum holds wins; a torn one is skipped', async () => {
    const store = new MemoryStore();
    const m = await archiveOf(store, [[w(1, 10, -1)]]);
    await writeManifest(store, m);
    await writeManifest(store, { ...m, manifestSeq: 2, archived: { ...m.archived, seq: '9' } });
    expect((await readManifest(store))!.archived.seq).toBe('9');
    const name = (await store.list('manifests/')).at(-1)!;
    store.objects.set(name, store.objects.get(name)!.subarray(0, 40));
    expect((await readManifest(store))!.manifestSeq).toBe(1);
  });

  it('a table restores from the newest epoch complete at the point, and not from one still running', () => {
    const m = { segments: [{ firstSeq: '1' }], epochs: [
      { table: 'a.t', epoch: 1, startedSeq: '1', doneSeq: '3', doneVersion: '30' },
      { table: 'a.t', epoch: 2, startedSeq: '8', doneSeq: '9', doneVersion: '90' },
    ], files: [
      { name: 'e1', table: 'a.t', epoch: 1, firstSeq: '1', part: 0 }, { name: 'e1b', table: 'a.t', epoch: 1, firstSeq: '5', part: 0 },
      { name: 'e2', table: 'a.t', epoch: 2, firstSeq: '8', part: 0 },
    ] } as unknown as Manifest;
    expect(filesAt(m, [], 6n, 'x')[0].files.map((f) => f.name)).toEqual(['e1', 'e1b']);
    expect(filesAt(m, [], 10n, 'x')[0].files.map((f) => f.name)).toEqual(['e2']);
    expect(() => filesAt(m, [], 8n, 'x')).toThrow(/a\.t: its snapshot \(epoch 2\) was still running .*version 90/);
    expect(() => filesAt(m, [], 2n, 'x')).toThrow(/epoch 1.*still running/);
  });

  it('a synthetic full replaces the files before it, for the epoch it holds only', () => {
    const m = { segments: [{ firstSeq: '1' }], epochs: [
      { table: 'a.t', epoch: 1, startedSeq: '1', doneSeq: '2', doneVersion: '20' },
      { table: 'a.u', epoch: 1, startedSeq: '1', doneSeq: '2', doneVersion: '20' },
    ], files: [
      { name: 's1', table: 'a.t', epoch: 1, firstSeq: '1', lastSeq: '3', part: 0 }, { name: 's2', table: 'a.t', epoch: 1, firstSeq: '4', lastSeq: '6', part: 0 },
      { name: 's3', table: 'a.t', epoch: 1, firstSeq: '7', lastSeq: '9', part: 0 }, { name: 'u1', table: 'a.u', epoch: 1, firstSeq: '1', lastSeq: '3', part: 0 },
    ] } as unknown as Manifest;
    const full = { window: { seq: '5' }, tables: [{ table: 'a.t', epoch: 1 }], files: [{ name: 'f', table: 'a.t', epoch: 1, part: 0, at: '5' }] } as unknown as FullEntry;
    const at = (s: bigint) => filesAt(m, [full], s, 'x');
    expect(at(8n)[0]).toMatchObject({ table: 'a.t', after: 5n });
    expect(at(8n)[0].files.map((f) => f.name)).toEqual(['f', 's2', 's3']);
    expect(at(4n)[0].files.map((f) => f.name)).toEqual(['s1', 's2']);
    expect(at(4n)[0].after).toBeNull();
    expect(at(8n)[1]).toMatchObject({ table: 'a.u', after: null });
  });

  it('retention keeps N fulls and every segment a restore after the oldest kept one needs', () => {
    const seg = (a: number, b: number) => ({ firstSeq: String(a), lastSeq: String(b), index: `windows/${a}-${b}.json` });
    const file = (t: string, a: number, b: number) => ({ name: `${t}/${a}-${b}`, table: t, epoch: 1, firstSeq: String(a), lastSeq: String(b) });
    const m = { manifestSeq: 7, segments: [seg(1, 3), seg(4, 6), seg(7, 9), seg(10, 12)], epochs: [
      { table: 'a.t', epoch: 1, startedSeq: '1', doneSeq: '2' },
      { table: 'a.u', epoch: 1, startedSeq: '5', doneSeq: '11' },
    ], files: [file('a.t', 1, 3), file('a.t', 4, 6), file('a.t', 7, 9), file('a.u', 4, 6), file('a.u', 10, 12)] } as unknown as Manifest;
    const full = (seq: number, tables: string[]) => ({ window: { seq: String(seq), version: String(seq * 10) }, tables: tables.map((table) => ({ table, epoch: 1 })), files: [] }) as unknown as FullEntry;
    // the beginning counts as a full until retention first drops it
    expect(planRetention(m, [full(9, ['a.t'])], 2)).toBeNull();
    // a.u's snapshot was running at 9 (not in the full): it restores from its start at 5, so 4-6 stays
    const p = planRetention(m, [full(9, ['a.t'])], 1)!;
    expect(p.manifest.segments.map((s) => s.firstSeq)).toEqual(['4', '7', '10']);
    expect(p.drop).toEqual(['a.t/1-3', 'windows/1-3.json']);
    expect(p.manifest.retainedFrom).toMatchObject({ seq: '9' });
    expect(p.manifest.manifestSeq).toBe(8);
    // with both tables in the full, everything before its window goes, and the older full too
    const q = planRetention(p.manifest, [full(6, ['a.t']), full(12, ['a.t', 'a.u'])], 1)!;
    expect(q.manifest.segments.map((s) => s.firstSeq)).toEqual(['10']);
    expect(q.fullsBefore).toBe(12n);
    expect(planRetention(q.manifest, [full(12, ['a.t', 'a.u'])], 1)).toBeNull();
  });
});
