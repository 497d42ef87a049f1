import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import avro from 'avsc';
import { uncompress as snappyUncompress } from 'snappyjs';
import { describe, expect, it } from 'vitest';
import { readContainer, writeContainer } from './container.ts';
import { FsArchiveStore } from './fs-store.ts';

const schema = { type: 'record', name: 'R', fields: [{ name: 'id', type: 'long' }, { name: 'note', type: ['null', 'string'] }] };
const type = avro.Type.forSchema(schema as avro.Schema);
// enough records for several blocks
const values = Array.from({ length: 20_000 }, (_, i) => ({ id: i, note: i % 3 === 0 ? null : `note ${i} ${'x'.repeat(i % 40)}` }));
const bodies = values.map((v) => type.toBuffer(v));

function decodeWithAvsc(path: string, opts?: Parameters<typeof avro.createFileDecoder>[1]): Promise<unknown[]> {
  return new Promise((resolve, reject) => {
    const out: unknown[] = [];
    avro.createFileDecoder(path, opts).on('data', (v: unknown) => out.push({ ...(v as object) })).on('end', () => resolve(out)).on('error', reject);
  });
}

/** the codec in a file's header, as avsc's decoder reads it */
function codecOf(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const d = avro.createFileDecoder(path, { codecs: { deflate: (b, cb) => cb(null, b), snappy: (b, cb) => cb(null, b) } });
    d.on('metadata', (_type: unknown, codec: string) => { resolve(codec); d.destroy(); }).on('error', reject);
  });
}

function tempFile(buf: Buffer): string {
  const path = join(mkdtempSync(join(tmpdir(), 'ctr-ocf-')), 'f.avro');
  writeFileSync(path, buf);
  return path;
}

// avsc has no snappy of its own: the spec's block layout, snappy data then the CRC32 (not checked here)
const avscSnappy = { snappy: (b: Buffer, cb: (err: Error | null, out?: Buffer) => void) => cb(null, snappyUncompress(b.subarray(0, b.length - 4))) };

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

  it('snappy: avsc reads the file (with a snappy codec given to it), readContainer gives the bodies back byte for byte', async () => {
    const file = writeContainer('t/1.avro', JSON.stringify(schema), { 'ctrelay.table': 'public.t' }, bodies, 'snappy');
    const path = tempFile(file);
    expect(await codecOf(path)).toBe('snappy');
    expect(await decodeWithAvsc(path, { codecs: avscSnappy })).toEqual(values);
    const back = readContainer(file);
    expect(back.meta).toEqual({ 'ctrelay.table': 'public.t' });
    expect(back.records.length).toBe(bodies.length);
    expect(back.records.every((r, i) => r.equals(bodies[i]))).toBe(true);
    expect(writeContainer('t/1.avro', JSON.stringify(schema), { 'ctrelay.table': 'public.t' }, bodies, 'snappy').equals(file)).toBe(true);
    // compressed, and more than one block (of 256 KiB), each with its own CRC
    expect(file.length).toBeLessThan(Buffer.concat(bodies).length);
    expect(Buffer.concat(bodies).length).toBeGreaterThan(256 * 1024);
  });

  it('deflate stays the default and still reads back', async () => {
    const file = writeContainer('t/1.avro', JSON.stringify(schema), {}, bodies, 'deflate');
    expect(file.equals(writeContainer('t/1.avro', JSON.stringify(schema), {}, bodies))).toBe(true);
    const path = tempFile(file);
    expect(await codecOf(path)).toBe('deflate');
    expect(await decodeWithAvsc(path)).toEqual(values);
    expect(readContainer(file).records.every((r, i) => r.equals(bodies[i]))).toBe(true);
  });

  it('snappy: a changed byte in the compressed data or in the CRC is a CRC error naming the block, not other rows', () => {
    // a literal no snappy copy can reach: it is in the compressed data as it is
    const marker = 'MARKER-3f9c2a7b';
    const few = [type.toBuffer({ id: 1, note: marker }), type.toBuffer({ id: 2, note: 'two' })];
    const file = writeContainer('t/1.avro', JSON.stringify(schema), {}, few, 'snappy');
    expect(readContainer(file).records.every((r, i) => r.equals(few[i]))).toBe(true);
    // one block: its last 4 bytes, before the sync marker, are the big-endian CRC32 of both bodies
    expect(file.readUInt32BE(file.length - 16 - 4)).toBe(crc32(Buffer.concat(few)));
    const at = file.indexOf(marker);
    expect(at).toBeGreaterThan(0);
    const inData = Buffer.from(file);
    inData[at + 3] ^= 0x01; // 'K' -> 'J': still a valid string, so only the CRC can tell
    expect(() => readContainer(inData)).toThrow(/^block ending at byte \d+: the CRC32 .* does not match/);
    const inCrc = Buffer.from(file);
    inCrc[inCrc.length - 16 - 2] ^= 0x01; // the last block's CRC: the 4 bytes before its sync marker
    expect(() => readContainer(inCrc)).toThrow(/^block ending at byte \d+: the CRC32 .* does not match/);
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
