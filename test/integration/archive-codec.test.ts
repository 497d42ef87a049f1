// The snappy codec of the archive's container files, read by Apache Avro's own avro-tools (its
// SnappyCodec uses snappy-java and checks each block's CRC32): what writeContainer wrote comes back
// as the same records, over more than one block; a changed CRC byte makes avro-tools fail, so the
// CRC is where and how (big-endian, of the uncompressed data) the spec puts it. Needs no server.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import avro from 'avsc';
import { describe, expect, it } from 'vitest';
import { writeContainer } from '../../src/archive/container.ts';
import { avroToolsJar } from '../support/archive.ts';

const schema = {
  type: 'record',
  name: 'Item',
  namespace: 'ctrelay.test',
  fields: [
    { name: 'id', type: 'long' },
    { name: 'name', type: 'string' },
    { name: 'note', type: ['null', 'string'] },
    { name: 'price', type: 'double' },
    { name: 'ok', type: 'boolean' },
  ],
};
const type = avro.Type.forSchema(schema as avro.Schema);

interface Item {
  id: number;
  name: string;
  note: string | null;
  price: number;
  ok: boolean;
}
const few: Item[] = [
  { id: 1, name: 'first', note: null, price: 1.25, ok: true },
  { id: -2, name: 'zweite \u00e9\u00e8 \u{1f600}', note: 'a note', price: -0.5, ok: false },
  { id: 2 ** 40, name: '', note: '', price: 0, ok: true },
];
// and enough more for several 256 KiB blocks, each compressed and checked on its own
const items = [...few, ...Array.from({ length: 12_000 }, (_, i): Item => ({ id: 1000 + i, name: `item ${i} ${'y'.repeat(i % 50)}`, note: i % 4 === 0 ? null : `n${i}`, price: i / 4, ok: i % 2 === 0 }))];
const bodies = items.map((v) => type.toBuffer(v));

/** avro-tools tojson's form of a record: a union's non-null value wrapped as { branch: value } */
const asAvroJson = (v: Item) => ({ ...v, note: v.note === null ? null : { string: v.note } });

describe('archive container codec snappy', () => {
  it('avro-tools tojson reads a snappy container writeContainer wrote, and fails on a changed CRC byte', { timeout: 180_000 }, () => {
    const jar = avroToolsJar();
    const dir = mkdtempSync(join(tmpdir(), 'ctr-snappy-'));
    const file = writeContainer('tables/t/1.avro', JSON.stringify(schema), { 'ctrelay.table': 'public.t' }, bodies, 'snappy');
    expect(Buffer.concat(bodies).length).toBeGreaterThan(2 * 256 * 1024);
    const path = join(dir, 'snappy.avro');
    writeFileSync(path, file);

    // the header entry: the key, then the value's length (6, zigzag-encoded as 12) and the value
    expect(file.includes(Buffer.concat([Buffer.from('avro.codec'), Buffer.from([12]), Buffer.from('snappy')]))).toBe(true);
    const json = execFileSync('java', ['-jar', jar, 'tojson', path], { encoding: 'utf8', maxBuffer: 64 << 20, stdio: ['ignore', 'pipe', 'pipe'] });
    const records = json.trim().split('\n').map((l) => JSON.parse(l));
    expect(records.length).toBe(items.length);
    expect(records.slice(0, few.length)).toEqual(few.map(asAvroJson));
    expect(records).toEqual(items.map(asAvroJson));

    // the last block's CRC (the 4 bytes before its sync marker), one bit changed
    const bad = Buffer.from(file);
    bad[bad.length - 16 - 1] ^= 0x01;
    const badPath = join(dir, 'bad-crc.avro');
    writeFileSync(badPath, bad);
    const r = spawnSync('java', ['-jar', jar, 'tojson', badPath], { encoding: 'utf8', maxBuffer: 64 << 20 });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/checksum/i);
    // kept when the test fails, to look at
    rmSync(dir, { recursive: true, force: true });
  });
});
