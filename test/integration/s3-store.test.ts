// S3Store against a real S3-compatible server (s3proxy over a local directory, test/support/s3proxy.ts).
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createArchiveStore } from '../../src/archive/create-store.ts';
import { FsArchiveStore } from '../../src/archive/fs-store.ts';
import { S3Store, parseS3Url, type S3StoreOptions } from '../../src/archive/s3-store.ts';
import { ArchiveError, ArchiveUnavailableError, ConfigError, isTransient } from '../../src/core/errors.ts';
import { serializeError } from '../../src/core/redact.ts';
import { startS3Proxy, type S3Proxy } from '../support/s3proxy.ts';

const BUCKET = 'ctrelay-archive';
let proxy: S3Proxy;
const stores: S3Store[] = [];

function store(extra: Partial<S3StoreOptions> = {}): S3Store {
  const s = new S3Store({
    url: `s3://${BUCKET}/erp/prod`,
    endpoint: proxy.endpoint,
    region: proxy.region,
    credentials: { accessKeyId: proxy.accessKeyId, secretAccessKey: proxy.secretAccessKey },
    ...extra,
  });
  stores.push(s);
  return s;
}

/** Records the headers of every request `s` sends, by command name, at the end of the SDK's stack. */
function recordHeaders(s: S3Store): Array<{ command: string; headers: Record<string, string> }> {
  const seen: Array<{ command: string; headers: Record<string, string> }> = [];
  s.client.middlewareStack.add(
    (next, context) => async (args) => {
      seen.push({ command: String(context.commandName), headers: { ...(args.request as { headers: Record<string, string> }).headers } });
      return next(args);
    },
    { step: 'finalizeRequest', name: 'ctrelayTestRecordHeaders', priority: 'low' },
  );
  return seen;
}

beforeAll(async () => {
  proxy = await startS3Proxy();
  await proxy.createBucket(BUCKET);
}, 180_000);

afterAll(async () => {
  for (const s of stores) await s.close();
  await proxy?.stop();
});

describe('S3Store on s3proxy', () => {
  it('puts, gets, replaces and deletes; a missing object is null', async () => {
    const s = store();
    expect(s.location).toBe(`s3://${BUCKET}/erp/prod`);
    expect(await s.get('manifests/00000000000000000001.json')).toBeNull();
    await s.put('manifests/00000000000000000001.json', Buffer.from('{"v":1}'));
    expect((await s.get('manifests/00000000000000000001.json'))!.toString()).toBe('{"v":1}');
    await s.put('manifests/00000000000000000001.json', Buffer.from('{"v":2, replaced}'));
    expect((await s.get('manifests/00000000000000000001.json'))!.toString()).toBe('{"v":2, replaced}');
    await s.put('empty.bin', Buffer.alloc(0));
    expect((await s.get('empty.bin'))!.length).toBe(0);
    await s.delete('manifests/00000000000000000001.json');
    await s.delete('empty.bin');
    expect(await s.get('manifests/00000000000000000001.json')).toBeNull();
    await s.delete('manifests/never-there.json'); // no error
    expect(await s.list('')).toEqual([]);
  });

  it('keeps binary bodies byte-exact', async () => {
    const s = store();
    const every = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const big = Buffer.concat([every, randomBytes(3 << 20), every]);
    await s.put('tables/dbo.t/1/1-9.avro', big);
    await s.put('tables/dbo.t/1/every-byte.bin', every);
    expect((await s.get('tables/dbo.t/1/1-9.avro'))!.equals(big)).toBe(true);
    expect((await s.get('tables/dbo.t/1/every-byte.bin'))!.equals(every)).toBe(true);
    await s.delete('tables/dbo.t/1/1-9.avro');
    await s.delete('tables/dbo.t/1/every-byte.bin');
  });

  it('lists over many pages, sorted, relative to the root, only under the prefix asked and the store\'s own', async () => {
    const s = store({ listPageSize: 100 });
    const names = Array.from({ length: 1100 }, (_, i) => `tables/dbo.orders/3/${String(i).padStart(5, '0')}-x.avro`);
    for (let i = 0; i < names.length; i += 50) {
      await Promise.all(names.slice(i, i + 50).map((n) => s.put(n, Buffer.from(n))));
    }
    await s.put('manifests/00000000000000000007.json', Buffer.from('{}'));
    await s.put('schemas/abc.avsc', Buffer.from('{}'));
    // another store in the same bucket, beside this one's prefix ("erp/prod" vs "erp/prod2")
    const other = store({ url: `s3://${BUCKET}/erp/prod2` });
    await other.put('tables/dbo.orders/3/99999-x.avro', Buffer.from('other'));

    const seen = recordHeaders(s);
    const listed = await s.list('tables/');
    expect(seen.filter((r) => r.command === 'ListObjectsV2Command').length).toBe(11);
    expect(listed).toEqual([...names].sort());
    expect(await s.list('manifests/')).toEqual(['manifests/00000000000000000007.json']);
    expect(await s.list('')).toHaveLength(1102);
    expect(await s.list('nothing/')).toEqual([]);
    expect(await other.list('')).toEqual(['tables/dbo.orders/3/99999-x.avro']);

    await Promise.all([...names, 'manifests/00000000000000000007.json', 'schemas/abc.avsc'].map((n) => s.delete(n)));
    await other.delete('tables/dbo.orders/3/99999-x.avro');
    expect(await s.list('')).toEqual([]);
  });

  it('sends the server-side encryption headers (s3proxy accepts and ignores them)', async () => {
    const kms = store({ serverSideEncryption: { type: 'aws:kms', kmsKeyId: 'alias/ctrelay-archive' } });
    const aes = store({ serverSideEncryption: { type: 'AES256' } });
    const plain = store();
    const sent = { kms: recordHeaders(kms), aes: recordHeaders(aes), plain: recordHeaders(plain) };
    await kms.put('sse/kms.bin', Buffer.from('k'));
    await aes.put('sse/aes.bin', Buffer.from('a'));
    await plain.put('sse/plain.bin', Buffer.from('p'));
    expect((await plain.get('sse/kms.bin'))!.toString()).toBe('k');
    const put = (r: typeof sent.kms) => r.find((x) => x.command === 'PutObjectCommand')!.headers;
    expect(put(sent.kms)['x-amz-server-side-encryption']).toBe('aws:kms');
    expect(put(sent.kms)['x-amz-server-side-encryption-aws-kms-key-id']).toBe('alias/ctrelay-archive');
    expect(put(sent.aes)['x-amz-server-side-encryption']).toBe('AES256');
    expect(put(sent.aes)['x-amz-server-side-encryption-aws-kms-key-id']).toBeUndefined();
    expect(put(sent.plain)['x-amz-server-side-encryption']).toBeUndefined();
    for (const n of ['sse/kms.bin', 'sse/aes.bin', 'sse/plain.bin']) await plain.delete(n);
  });

  it('a wrong secret key: a permanent ArchiveError naming bucket and key, never the secret', async () => {
    const wrongSecret = 'wrong-Secret-Key-0123456789abcdef';
    const s = store({ credentials: { accessKeyId: proxy.accessKeyId, secretAccessKey: wrongSecret } });
    for (const op of [() => s.put('manifests/1.json', Buffer.from('x')), () => s.get('manifests/1.json'), () => s.list('manifests/')]) {
      const err = await op().then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(ArchiveError);
      expect(isTransient(err)).toBe(false);
      const message = (err as Error).message;
      expect(message).toContain(`s3://${BUCKET}/erp/prod/manifests/`);
      expect(message).toMatch(/SignatureDoesNotMatch|AccessDenied|HTTP 403/);
      const everything = `${message}\n${(err as Error).stack}\n${JSON.stringify(serializeError(err as Error))}`;
      expect(everything).not.toContain(wrongSecret);
      expect(everything).not.toContain(proxy.secretAccessKey);
    }
    const putErr = await s.put('manifests/1.json', Buffer.from('x')).catch((e: Error) => e);
    expect((putErr as Error).message).toContain(`PutObject s3://${BUCKET}/erp/prod/manifests/1.json failed`);
  });

  it('a missing bucket is a permanent error naming it; an unreachable endpoint is transient', async () => {
    const missing = store({ url: 's3://no-such-bucket-here/x' });
    const err = await missing.get('a.json').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ArchiveError);
    expect(isTransient(err)).toBe(false);
    expect((err as Error).message).toContain('s3://no-such-bucket-here/x/a.json');

    const down = store({ endpoint: 'http://127.0.0.1:1', maxAttempts: 1 });
    const derr = await down.put('a.json', Buffer.from('x')).catch((e: unknown) => e);
    expect(derr).toBeInstanceOf(ArchiveUnavailableError);
    expect(isTransient(derr)).toBe(true);
    expect((derr as Error).message).toContain(`s3://${BUCKET}/erp/prod/a.json`);
  });
});

describe('S3 configuration', () => {
  it('parses s3:// URLs and refuses credentials in them without echoing them', async () => {
    expect(parseS3Url('s3://bucket-1')).toEqual({ bucket: 'bucket-1', prefix: '' });
    expect(parseS3Url('s3://bucket-1/')).toEqual({ bucket: 'bucket-1', prefix: '' });
    expect(parseS3Url('s3://bucket-1/a/b/')).toEqual({ bucket: 'bucket-1', prefix: 'a/b/' });
    const err = (() => {
      try {
        parseS3Url('s3://AKIAXYZ:SuperSecret123@bucket-1/a');
      } catch (e) {
        return e as Error;
      }
    })();
    expect(err).toBeInstanceOf(ConfigError);
    expect(err!.message).not.toContain('SuperSecret123');
    expect(() => parseS3Url('s3://B/x')).toThrow(ConfigError);
    expect(() => parseS3Url('s3://bucket-1/a/../b')).toThrow(ConfigError);
    expect(() => new S3Store({ url: 's3://bucket-1/a', listPageSize: 0 })).toThrow(/listPageSize/);
    const unused = new S3Store({ url: 's3://bucket-1/a' });
    await expect(unused.get('../x')).rejects.toThrow(ArchiveError);
    await unused.close();
  });

  it('createArchiveStore picks the adapter by the target', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ctrelay-archive-'));
    try {
      const s3 = createArchiveStore('s3://bucket-1/erp', { region: 'eu-west-1' });
      expect(s3).toBeInstanceOf(S3Store);
      expect(s3.location).toBe('s3://bucket-1/erp');
      await s3.close();
      expect(createArchiveStore(dir)).toBeInstanceOf(FsArchiveStore);
      expect(createArchiveStore(`file://${dir}`)).toBeInstanceOf(FsArchiveStore);
      expect(() => createArchiveStore('gs://bucket/x')).toThrow(ConfigError);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
