// A real S3-compatible server for the tests: s3proxy (org.gaul:s3proxy from Maven Central, its
// self-contained jar-with-dependencies), serving a throwaway directory through jclouds'
// filesystem-nio2 blobstore, with AWS v2/v4 signatures checked against fixed test keys.
//
// The jar is resolved once into the git-ignored .cache/s3proxy (offline first: a warm ~/.m2 needs
// no network), as test/integration/wire-avro-java.ts does for Avro Java. Each startS3Proxy() runs
// its own server on a free port with its own data directory; stop() ends it and removes both.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';

export const S3PROXY_VERSION = '2.6.0';
const ARTIFACT = `org.gaul:s3proxy:${S3PROXY_VERSION}:jar:jar-with-dependencies`;
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CACHE = join(ROOT, '.cache', 's3proxy');
const JAR = join(CACHE, `s3proxy-${S3PROXY_VERSION}-jar-with-dependencies.jar`);

export interface S3Proxy {
  /** e.g. `http://127.0.0.1:41234` */
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** Creates `bucket` (3-63 characters: a-z, 0-9, '-'). */
  createBucket(bucket: string): Promise<void>;
  /** the server's output so far (for a failing test's message) */
  log(): string;
  stop(): Promise<void>;
}

/** The jar's path, resolving it through Maven the first time. */
export function s3proxyJar(): string {
  if (existsSync(JAR)) return JAR;
  mkdirSync(CACHE, { recursive: true });
  // into a private directory, then renamed: two test files resolving at once never see half a jar
  const tmp = mkdtempSync(join(CACHE, 'tmp-'));
  try {
    const args = ['-B', '-q', 'dependency:copy', `-Dartifact=${ARTIFACT}`, `-DoutputDirectory=${tmp}`];
    const offline = spawnSync('mvn', ['-o', ...args], { encoding: 'utf8' });
    if (offline.status !== 0) {
      const online = spawnSync('mvn', args, { encoding: 'utf8' });
      if (online.error) throw new Error(`cannot run mvn to resolve ${ARTIFACT}: ${online.error.message}`);
      if (online.status !== 0) throw new Error(`Maven could not resolve ${ARTIFACT} (needs Maven Central once):\n${online.stdout}${online.stderr}`);
    }
    renameSync(join(tmp, `s3proxy-${S3PROXY_VERSION}-jar-with-dependencies.jar`), JAR);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return JAR;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Whether anything answers HTTP at `endpoint` (s3proxy answers an unsigned request with 403). */
async function answers(endpoint: string): Promise<boolean> {
  try {
    const res = await fetch(endpoint, { signal: AbortSignal.timeout(2000) });
    await res.arrayBuffer();
    return true;
  } catch {
    return false;
  }
}

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((r) => child.once('exit', () => r()));
}

/** Starts s3proxy and waits until it answers (60 s at most). */
export async function startS3Proxy(): Promise<S3Proxy> {
  const jar = s3proxyJar();
  const dir = mkdtempSync(join(tmpdir(), 'ctrelay-s3proxy-'));
  const data = join(dir, 'data');
  mkdirSync(data);
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const accessKeyId = 'ctrelay-test-access';
  const secretAccessKey = 'ctrelay-test-secret-7f3a9c';
  const props = join(dir, 's3proxy.properties');
  writeFileSync(
    props,
    [
      `s3proxy.endpoint=${endpoint}`,
      's3proxy.authorization=aws-v2-or-v4',
      `s3proxy.identity=${accessKeyId}`,
      `s3proxy.credential=${secretAccessKey}`,
      // s3proxy 2.6.0 answers 501 NotImplemented to the SSE headers; this makes it ignore them
      's3proxy.ignore-unknown-headers=true',
      'jclouds.provider=filesystem-nio2',
      `jclouds.filesystem.basedir=${data}`,
      // the nio2 providers insist on a jclouds identity, which a local directory does not use
      'jclouds.identity=unused',
      'jclouds.credential=unused',
      '',
    ].join('\n'),
  );
  let output = '';
  const child = spawn('java', ['-Xmx256m', '-XX:TieredStopAtLevel=1', '-jar', jar, '--properties', props], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, LOG_LEVEL: 'warn' },
  });
  const keep = (b: Buffer) => {
    output += b.toString();
    if (output.length > 200_000) output = output.slice(-100_000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const log = () => output;

  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited(child);
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + 60_000;
  let spawnError: Error | undefined;
  child.once('error', (err) => (spawnError = err));
  while (!(await answers(endpoint))) {
    if (spawnError || child.exitCode !== null || Date.now() > deadline) {
      await stop();
      const why = spawnError ? `java could not be started: ${spawnError.message}` : child.exitCode !== null ? `it exited with ${child.exitCode}` : 'it did not answer within 60 s';
      throw new Error(`s3proxy ${S3PROXY_VERSION} (${jar}) on ${endpoint}: ${why}\n${output.slice(-4000)}`);
    }
    await sleep(200);
  }

  const region = 'us-east-1';
  const createBucket = async (bucket: string) => {
    const client = new S3Client({ endpoint, region, forcePathStyle: true, credentials: { accessKeyId, secretAccessKey } });
    try {
      await client.send(new CreateBucketCommand({ Bucket: bucket }));
    } finally {
      client.destroy();
    }
  };
  return { endpoint, region, accessKeyId, secretAccessKey, createBucket, log, stop };
}

