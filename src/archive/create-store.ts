// The archive's target, as configured, to its ArchiveStore: `s3://bucket/prefix` is object storage
// (S3 or S3-compatible, see s3-store.ts); `file:///dir` or a plain path is a local directory.
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../core/errors.ts';
import { redactUrl } from '../core/redact.ts';
import { FsArchiveStore } from './fs-store.ts';
import { S3Store, type S3StoreOptions } from './s3-store.ts';
import type { ArchiveStore } from './store.ts';

export function createArchiveStore(target: string, s3: Omit<S3StoreOptions, 'url'> = {}): ArchiveStore {
  if (/^s3:\/\//i.test(target)) return new S3Store({ ...s3, url: target });
  if (/^file:\/\//i.test(target)) return new FsArchiveStore(fileURLToPath(target));
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(target)) {
    throw new ConfigError(`archive target ${redactUrl(target)}: only s3://bucket/prefix, file:///dir or a directory path are supported`);
  }
  if (target === '') throw new ConfigError('archive target is empty: give s3://bucket/prefix, file:///dir or a directory path');
  return new FsArchiveStore(target);
}

/** The store options of config's archive.s3 (credentials only when both halves are set). */
export function s3Options(c: { endpoint?: string; region?: string; forcePathStyle?: boolean; accessKeyId?: string; secretAccessKey?: string; sessionToken?: string; serverSideEncryption?: 'AES256' | 'aws:kms'; kmsKeyId?: string } = {}): Omit<S3StoreOptions, 'url'> {
  if ((c.accessKeyId === undefined) !== (c.secretAccessKey === undefined)) {
    throw new ConfigError('archive.s3: accessKeyId and secretAccessKey go together (or leave both out for the AWS credential chain)');
  }
  return {
    endpoint: c.endpoint,
    region: c.region,
    forcePathStyle: c.forcePathStyle,
    credentials: c.accessKeyId && c.secretAccessKey ? { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey, sessionToken: c.sessionToken } : undefined,
    serverSideEncryption: c.serverSideEncryption === 'aws:kms' ? { type: 'aws:kms', kmsKeyId: c.kmsKeyId } : c.serverSideEncryption === 'AES256' ? { type: 'AES256' } : undefined,
  };
}
