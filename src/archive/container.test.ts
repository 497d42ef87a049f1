import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import avro from 'avsc';
import { describe, expect, it } from 'vitest';
import { readContainer, writeContainer } from './container.ts';
import { FsArchiveStore } from './fs-store.ts';

const schema = { type: 'record', name: 'R', fields: [{ name: 'id', type: 'long' }, { name: 'note', type: ['null', 'string'] }] };
const type = avro.Type.forSchema(schema as avro.Schema);
// enough records for several blocks
const values = Array.from({ length: 20_000 }, (_, i) => ({ id: i, note: i % 3 === 0 ? null : `note ${i} ${'x'.repeat(i % 40)}` }));
const bodies = values.map((v) => type.toBuffer(v));

function decodeWithAvsc(path: string): Promise<unknown[]> {
  return new Promise((resolve, reject) => {
    const out: unknown[] = [];
    avro.createFileDecoder(path).on('data', (v: unknown) => out.push({ ...(v as object) })).on('end', () => resolve(out)).on('error', reject);
  });
}

describe('archive container files', () => {
  it('avsc\'s own file decoder reads what writeContainer wrote, and readContainer gives the bodies back byte for byte', async () => {
    const file = writeContainer('t/1.avro', JSON.stringify(schema), { 'ctrelay.table': 'public.t' }, bodies);
    const path = join(mkdtempSync(join(tmpdir(), 'ctr-ocf-')), 'f.avro');
    writeFileSync(path, file);
    expect(await decodeWithAvsc(path)).toEqual(values);
    const back = readContainer(file);
    expect(back.meta).toEqual({ 'ctrelay.table': 'public.t' });
    expect(back.records.length).toBe(bodies.length);
    expect(back.records.every((r, i) => r.equals(bodies[i]))).toBe(true);
    // same name and content: the same bytes (a file rewritten after a crash is identical)
    expect(writeContainer('t/1.avro', JSON.stringify(schema), { 'ctrelay.table': 'public.t' }, bodies).equals(file)).toBe(true);
  });

  it('a changed byte is an error, not other rows', () => {
    const file = writeContainer('t/1.avro', JSON.stringify(schema), {}, bodies.slice(0, 50));
    const bad = Buffer.from(file);
    bad[bad.length - 20] ^= 0xff; // inside the sync marker or block
    expect(() => readContainer(bad)).toThrow(/sync marker|block|truncated|invalid|past|end of file/);
    expect(() => readContainer(Buffer.from('not avro'))).toThrow(/bad magic/);
  });

  it('the directory store lists, replaces and deletes objects, never a temporary file', async () => {
    const store = new FsArchiveStore(mkdtempSync(join(tmpdir(), 'ctr-fs-')));
    await store.put('tables/a/1.avro', Buffer.from('one'));
    await store.put('tables/a/1.avro', Buffer.from('two'));
    await store.put('manifests/1.json', Buffer.from('{}'));
    writeFileSync(join(new URL(store.location).pathname, 'tables', 'a', '.tmp-leftover'), 'x');
    expect(await store.list('tables/')).toEqual(['tables/a/1.avro']);
    expect((await store.get('tables/a/1.avro'))!.toString()).toBe('two');
    await store.delete('tables/a/1.avro');
    await store.delete('tables/a/1.avro');
    expect(await store.get('tables/a/1.avro')).toBeNull();
    await expect(store.put('../x', Buffer.from(''))).rejects.toThrow(/not a relative path/);
  });
});
