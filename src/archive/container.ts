// Avro object container files (Avro specification, "Object Container Files"), written and read by
// hand rather than through avsc's streams: the records are the envelope bodies exactly as they were
// on Kafka (the single-object header taken off), copied without decoding and encoding again, so a
// file holds byte for byte what capture wrote. Codec deflate (raw DEFLATE, as the spec says) or
// snappy (raw Snappy, each block followed by the big-endian CRC32 of its uncompressed bytes, which
// the reader checks: a snappy stream has no checksum of its own); null is read too.
// The sync marker comes from the file's name: the same content under the same name gives the same
// bytes, which makes a file rewritten after a crash identical to the one it replaces.
import { createHash } from 'node:crypto';
import { crc32, deflateRawSync, inflateRawSync } from 'node:zlib';
import avro from 'avsc';
// snappyjs: pure JS, so a fresh machine has nothing native to build (or prebuilt binary to match)
import { compress as snappyCompress, uncompress as snappyUncompress } from 'snappyjs';

const MAGIC = Buffer.from([0x4f, 0x62, 0x6a, 0x01]); // "Obj" 1
/** uncompressed bytes per block: big enough for the codec to work, small enough to stream */
const BLOCK_BYTES = 256 * 1024;

function zigzag(n: number): Buffer {
  const out: number[] = [];
  let v = n >= 0 ? n * 2 : -n * 2 - 1;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
  return Buffer.from(out);
}

function bytesField(b: Buffer): Buffer[] {
  return [zigzag(b.length), b];
}

export interface ContainerFile {
  /** the writer schema's JSON text (header `avro.schema`) */
  schema: string;
  /** the other header entries (`ctrelay.*`) */
  meta: Record<string, string>;
  /** every record's Avro binary body, in file order */
  records: Buffer[];
}

function compressBlock(codec: 'deflate' | 'snappy', data: Buffer): Buffer {
  if (codec === 'deflate') return deflateRawSync(data);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(data));
  return Buffer.concat([snappyCompress(data), crc]);
}

/** An object container file holding `records` (Avro binary bodies of `schema`). */
export function writeContainer(name: string, schema: string, meta: Record<string, string>, records: Buffer[], codec: 'deflate' | 'snappy' = 'deflate'): Buffer {
  const sync = createHash('sha256').update(name).digest().subarray(0, 16);
  const entries: [string, Buffer][] = [['avro.schema', Buffer.from(schema)], ['avro.codec', Buffer.from(codec)], ...Object.entries(meta).map(([k, v]) => [k, Buffer.from(v)] as [string, Buffer])];
  const parts: Buffer[] = [MAGIC, zigzag(entries.length)];
  for (const [k, v] of entries) parts.push(...bytesField(Buffer.from(k)), ...bytesField(v));
  parts.push(zigzag(0), sync);
  for (let i = 0; i < records.length; ) {
    const block: Buffer[] = [];
    let size = 0;
    while (i < records.length && (block.length === 0 || size + records[i].length <= BLOCK_BYTES)) {
      block.push(records[i]);
      size += records[i++].length;
    }
    const data = compressBlock(codec, Buffer.concat(block));
    parts.push(zigzag(block.length), zigzag(data.length), data, sync);
  }
  return Buffer.concat(parts);
}

class Cursor {
  pos = 0;
  constructor(readonly buf: Buffer, readonly what: string) {}
  long(): number {
    let v = 0;
    let mul = 1;
    for (;;) {
      if (this.pos >= this.buf.length) throw new Error(`${this.what}: truncated at byte ${this.pos}`);
      const b = this.buf[this.pos++];
      v += (b & 0x7f) * mul;
      if (b < 0x80) break;
      mul *= 0x80;
    }
    return v % 2 === 0 ? v / 2 : -(v + 1) / 2;
  }
  bytes(n = this.long()): Buffer {
    if (n < 0 || this.pos + n > this.buf.length) throw new Error(`${this.what}: a length of ${n} at byte ${this.pos} runs past the end`);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
}

function decompressBlock(codec: string, raw: Buffer, where: string): Buffer {
  if (codec === 'null') return raw;
  if (codec === 'deflate') return inflateRawSync(raw);
  if (raw.length < 4) throw new Error(`${where}: ${raw.length} bytes, too short for snappy data and its CRC32`);
  let data: Buffer;
  try {
    data = snappyUncompress(raw.subarray(0, raw.length - 4));
  } catch (err) {
    throw new Error(`${where}: ${(err as Error).message}`);
  }
  // snappyjs does not notice every damaged stream (it can return short or zero-filled data): the CRC does
  if (crc32(data) !== raw.readUInt32BE(raw.length - 4)) throw new Error(`${where}: the CRC32 of the uncompressed data does not match the block's (snappy)`);
  return data;
}

/** A container file's header and its blocks, decompressed and checked, records not yet split. */
export interface ContainerBlocks {
  schema: string;
  meta: Record<string, string>;
  /** `where` names the block in errors: "block ending at byte N" */
  blocks: { count: number; data: Buffer; where: string }[];
}

/**
 * Reads a file written by writeContainer (or any null, deflate or snappy container file) up to its
 * blocks. Throws a plain Error saying what is wrong where: the caller names the file.
 */
export function readBlocks(buf: Buffer): ContainerBlocks {
  const c = new Cursor(buf, 'container');
  if (!c.bytes(4).equals(MAGIC)) throw new Error('not an Avro object container file (bad magic)');
  const header: Record<string, string> = {};
  for (let n = c.long(); n !== 0; n = c.long()) {
    for (let i = 0; i < Math.abs(n); i++) {
      if (n < 0 && i === 0) c.long(); // a block size: present when the count is negative
      header[c.bytes().toString()] = c.bytes().toString();
    }
  }
  const sync = c.bytes(16);
  const schema = header['avro.schema'];
  if (!schema) throw new Error('the header has no avro.schema');
  const codec = header['avro.codec'] ?? 'null';
  if (codec !== 'deflate' && codec !== 'snappy' && codec !== 'null') throw new Error(`codec ${codec} is not supported`);
  const blocks: ContainerBlocks['blocks'] = [];
  while (c.pos < buf.length) {
    const count = c.long();
    const raw = c.bytes();
    if (!c.bytes(16).equals(sync)) throw new Error(`block ending at byte ${c.pos}: sync marker does not match the header's`);
    const where = `block ending at byte ${c.pos}`;
    blocks.push({ count, data: decompressBlock(codec, raw, where), where });
  }
  const meta = Object.fromEntries(Object.entries(header).filter(([k]) => !k.startsWith('avro.')));
  return { schema, meta, blocks };
}

/**
 * Walks a block's `count` records with `next(data, pos)` (which returns where the record at `pos`
 * ends, or a negative number past the end); throws when they do not fill the block exactly.
 */
export function eachRecord(block: ContainerBlocks['blocks'][number], next: (data: Buffer, pos: number, i: number) => number): void {
  let pos = 0;
  for (let i = 0; i < block.count; i++) {
    const end = next(block.data, pos, i);
    if (end < 0 || end > block.data.length) throw new Error(`${block.where}: record ${i} runs past the block`);
    pos = end;
  }
  if (pos !== block.data.length) throw new Error(`${block.where}: ${block.data.length - pos} bytes after its ${block.count} records`);
}

/** readBlocks, with every record's body split out (by decoding it with plain types). */
export function readContainer(buf: Buffer): ContainerFile {
  const { schema, meta, blocks } = readBlocks(buf);
  // only to find where each record ends: plain types, no logical types needed
  const type = avro.Type.forSchema(JSON.parse(schema), { wrapUnions: true });
  const records: Buffer[] = [];
  for (const b of blocks) {
    eachRecord(b, (data, pos) => {
      const { offset } = type.decode(data, pos);
      if (offset >= 0) records.push(data.subarray(pos, offset));
      return offset;
    });
  }
  return { schema, meta, records };
}
