// ArchiveStore on S3 or an S3-compatible server (MinIO, Ceph, s3proxy, ...), over the AWS SDK v3.
// put() is all-or-nothing because a PutObject is: a reader sees the old object or the new one,
// never part of one. Names are keys under the URL's prefix: `s3://bucket/erp` + `manifests/1.json`
// is the key `erp/manifests/1.json`.
//
// Errors: every SDK failure becomes an ArchiveError naming the bucket and key (never a credential);
// throttling, 5xx answers and network failures become ArchiveUnavailableError (transient), after
// the SDK's own retries.
import {
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type PutObjectCommandInput,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { ArchiveError, ArchiveUnavailableError, ConfigError } from '../core/errors.ts';
import { scrubSecret } from '../core/redact.ts';
import type { ArchiveStore } from './store.ts';

export interface S3StoreOptions {
  /** `s3://bucket` or `s3://bucket/prefix`; no credentials in it */
  url: string;
  /** for S3-compatible servers, e.g. `http://127.0.0.1:9000`; unset: AWS's endpoint for `region` */
  endpoint?: string;
  /** default: the SDK's (AWS_REGION, ~/.aws/config), else `us-east-1` */
  region?: string;
  /** `bucket` in the path instead of the host name; default true when `endpoint` is set */
  forcePathStyle?: boolean;
  /** static credentials; unset: the SDK's default chain (environment, ~/.aws, instance role, ...) */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** server-side encryption of every object put */
  serverSideEncryption?: { type: 'AES256' } | { type: 'aws:kms'; kmsKeyId?: string };
  /** keys per ListObjectsV2 page (MaxKeys), 1..1000; default 1000 */
  listPageSize?: number;
  /** attempts per request, the SDK's retries included; default 3 (the SDK's) */
  maxAttempts?: number;
}

/** `s3://bucket/prefix` -> bucket and key prefix (empty or ending in `/`). */
export function parseS3Url(url: string): { bucket: string; prefix: string } {
  const m = /^s3:\/\/([^/?#]*)(\/[^?#]*)?$/.exec(url);
  if (!m) throw new ConfigError(`archive target ${shown(url)} is not of the form s3://bucket/prefix`);
  const bucket = m[1]!;
  if (bucket.includes('@') || bucket.includes(':')) {
    throw new ConfigError(`archive target ${shown(url)} must not hold credentials: set them in the archive's s3 credentials (or the AWS default chain)`);
  }
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
    throw new ConfigError(`archive target ${shown(url)}: "${bucket}" is not a valid bucket name (3-63 characters: a-z, 0-9, '.', '-')`);
  }
  const path = (m[2] ?? '').replace(/^\/+/, '').replace(/\/+$/, '');
  if (path.split('/').some((p) => p === '..' || p === '.') || path.includes('//')) {
    throw new ConfigError(`archive target ${shown(url)}: the prefix "${path}" must not hold empty, '.' or '..' segments`);
  }
  return { bucket, prefix: path === '' ? '' : `${path}/` };
}

/** The URL without whatever sits before an '@' in its authority (a mistyped credential). */
function shown(url: string): string {
  return url.replace(/^(s3:\/\/)[^/]*@/i, '$1***@');
}

const TRANSIENT_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'ENETUNREACH', 'EHOSTUNREACH', 'ENOTFOUND',
  'TimeoutError', 'RequestTimeout', 'RequestTimeoutException', 'SlowDown', 'Throttling', 'ThrottlingException',
  'TooManyRequestsException', 'RequestLimitExceeded', 'InternalError', 'ServiceUnavailable', 'NetworkingError',
]);

interface SdkError {
  name?: string;
  code?: string;
  message?: string;
  $retryable?: unknown;
  $metadata?: { httpStatusCode?: number };
}

/** Throttling, a 5xx answer or a network failure: the same request can succeed later. */
export function isTransientS3Error(err: unknown): boolean {
  const e = (err ?? {}) as SdkError;
  const status = e.$metadata?.httpStatusCode;
  if (status !== undefined && (status >= 500 || status === 429)) return true;
  if (e.$retryable) return true;
  return TRANSIENT_CODES.has(e.name ?? '') || TRANSIENT_CODES.has(e.code ?? '');
}

export class S3Store implements ArchiveStore {
  readonly location: string;
  readonly bucket: string;
  /** the key prefix every name is put under: empty or ending in `/` */
  readonly prefix: string;
  /** the SDK client (its middleware stack is where a test sees the headers sent) */
  readonly client: S3Client;
  private readonly pageSize: number;
  private readonly sse: Pick<PutObjectCommandInput, 'ServerSideEncryption' | 'SSEKMSKeyId'>;
  private readonly secret: string | undefined;

  constructor(options: S3StoreOptions) {
    ({ bucket: this.bucket, prefix: this.prefix } = parseS3Url(options.url));
    this.location = `s3://${this.bucket}/${this.prefix}`.replace(/\/$/, '');
    this.secret = options.credentials?.secretAccessKey;
    const pageSize = options.listPageSize ?? 1000;
    if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 1000) {
      throw new ConfigError(`archive s3 listPageSize must be an integer from 1 to 1000, not ${pageSize}`);
    }
    this.pageSize = pageSize;
    const sse = options.serverSideEncryption;
    if (sse && sse.type !== 'AES256' && sse.type !== 'aws:kms') {
      throw new ConfigError(`archive s3 serverSideEncryption.type must be AES256 or aws:kms, not ${JSON.stringify((sse as { type: unknown }).type)}`);
    }
    this.sse = !sse ? {} : sse.type === 'AES256' ? { ServerSideEncryption: 'AES256' } : { ServerSideEncryption: 'aws:kms', SSEKMSKeyId: sse.kmsKeyId };
    const config: S3ClientConfig = {
      region: options.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1',
      maxAttempts: options.maxAttempts,
    };
    if (options.endpoint !== undefined) {
      config.endpoint = options.endpoint;
      config.forcePathStyle = options.forcePathStyle ?? true;
      // S3-compatible servers commonly refuse the SDK's newer default checksum headers
      // (x-amz-checksum-*, aws-chunked bodies); send them only where an operation requires one.
      config.requestChecksumCalculation = 'WHEN_REQUIRED';
      config.responseChecksumValidation = 'WHEN_REQUIRED';
    } else if (options.forcePathStyle !== undefined) {
      config.forcePathStyle = options.forcePathStyle;
    }
    if (options.credentials) config.credentials = { ...options.credentials };
    this.client = new S3Client(config);
  }

  private key(name: string): string {
    if (name === '' || name.startsWith('/') || name.split('/').some((p) => p === '' || p === '.' || p === '..')) {
      throw new ArchiveError(`archive object name "${name}" is not a relative path inside ${this.location}`);
    }
    return this.prefix + name;
  }

  /** An ArchiveError naming the operation, bucket and key, without any credential. */
  private fail(op: string, key: string, err: unknown): ArchiveError {
    const e = (err ?? {}) as SdkError;
    const status = e.$metadata?.httpStatusCode;
    const what = [e.name && e.name !== 'Error' ? e.name : e.code, status ? `HTTP ${status}` : undefined].filter(Boolean).join(', ');
    const text = scrubSecret(`${op} s3://${this.bucket}/${key} failed${what ? ` (${what})` : ''}: ${e.message ?? String(err)}`, this.secret);
    const hint = status === 403 ? ' (check the access key, secret key and the bucket policy)' : '';
    const Ctor = isTransientS3Error(err) ? ArchiveUnavailableError : ArchiveError;
    return new Ctor(text + hint, { cause: err });
  }

  async put(name: string, body: Buffer): Promise<void> {
    const key = this.key(name);
    try {
      await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body, ContentLength: body.length, ...this.sse }));
    } catch (err) {
      throw this.fail('PutObject', key, err);
    }
  }

  async get(name: string): Promise<Buffer | null> {
    const key = this.key(name);
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      if (!out.Body) return Buffer.alloc(0);
      return Buffer.from(await out.Body.transformToByteArray());
    } catch (err) {
      if ((err as SdkError).name === 'NoSuchKey') return null;
      throw this.fail('GetObject', key, err);
    }
  }

  /** Names (relative to the store's root, sorted) that start with `prefix`, as FsArchiveStore. */
  async list(prefix: string): Promise<string[]> {
    const keyPrefix = this.prefix + prefix;
    const out: string[] = [];
    let token: string | undefined;
    do {
      let page;
      try {
        page = await this.client.send(
          new ListObjectsV2Command({ Bucket: this.bucket, Prefix: keyPrefix, MaxKeys: this.pageSize, ContinuationToken: token }),
        );
      } catch (err) {
        throw this.fail('ListObjectsV2', `${keyPrefix}*`, err);
      }
      for (const o of page.Contents ?? []) {
        // a key ending in '/' is a console's "folder" marker, never an archive name
        if (o.Key && !o.Key.endsWith('/')) out.push(o.Key.slice(this.prefix.length));
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
      if (page.IsTruncated && !token) throw new ArchiveError(`ListObjectsV2 s3://${this.bucket}/${keyPrefix}* answered a truncated page without a continuation token`);
    } while (token);
    return out.sort();
  }

  async delete(name: string): Promise<void> {
    const key = this.key(name);
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
    } catch (err) {
      if ((err as SdkError).name === 'NoSuchKey') return;
      throw this.fail('DeleteObject', key, err);
    }
  }

  async close(): Promise<void> {
    this.client.destroy();
  }
}
