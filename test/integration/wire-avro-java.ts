// Runs Apache Avro's Java implementation (the reference implementation, org.apache.avro:avro from
// Maven Central) over records read from Kafka: see wire-avro-java/DecodeEvents.java. The jars are
// resolved once into the git-ignored .cache/avro-java/lib (offline first: a warm ~/.m2 needs no
// network), DecodeEvents.java is compiled there with javac when its text changes.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = join(dirname(fileURLToPath(import.meta.url)), 'wire-avro-java');
const ROOT = join(HERE, '..', '..', '..');
const CACHE = join(ROOT, '.cache', 'avro-java');
const LIB = join(CACHE, 'lib');

/** A value as Avro Java's conversions produced it: [Java class, text]; records as objects. */
export type JavaValue = null | [string, string] | JavaRecord | JavaValue[];
export interface JavaRecord {
  [field: string]: JavaValue;
}

export interface JavaDecoded {
  topic: string;
  offset: string;
  /** fingerprint hex in the record's header */
  schema: string;
  record?: JavaRecord;
  error?: string;
}

function resolveJars(): string {
  const pom = join(HERE, 'pom.xml');
  const stamp = join(LIB, '.pom-sha256');
  const sha = createHash('sha256').update(readFileSync(pom)).digest('hex');
  if (!existsSync(stamp) || readFileSync(stamp, 'utf8') !== sha) {
    rmSync(LIB, { recursive: true, force: true });
    const args = ['-B', '-q', '-f', pom, 'dependency:copy-dependencies', '-DincludeScope=runtime', `-DoutputDirectory=${LIB}`];
    // offline first: only a machine without the jars in ~/.m2 goes to Maven Central
    const offline = spawnSync('mvn', ['-o', ...args], { encoding: 'utf8' });
    if (offline.status !== 0) {
      const online = spawnSync('mvn', args, { encoding: 'utf8' });
      if (online.status !== 0) throw new Error(`Maven could not resolve org.apache.avro:avro (needs Maven Central once):\n${online.stdout}${online.stderr}`);
    }
    writeFileSync(stamp, sha);
  }
  return readdirSync(LIB).filter((f) => f.endsWith('.jar')).map((f) => join(LIB, f)).join(':');
}

function compile(classpath: string): string {
  const source = join(HERE, 'DecodeEvents.java');
  const sha = createHash('sha256').update(readFileSync(source)).digest('hex').slice(0, 16);
  const classes = join(CACHE, `classes-${sha}`);
  if (!existsSync(join(classes, 'DecodeEvents.class'))) {
    mkdirSync(classes, { recursive: true });
    execFileSync('javac', ['-nowarn', '-cp', classpath, '-d', classes, source], { stdio: 'pipe' });
  }
  return classes;
}

/** The Avro library version the decoder ran with (the jar's name). */
export function avroJavaVersion(): string {
  resolveJars();
  return readdirSync(LIB).find((f) => /^avro-\d/.test(f))!.replace(/\.jar$/, '');
}

/**
 * Decodes `records` (single-object encoded values) with Avro Java, learning the writer schemas from
 * `schemas` (fingerprint hex -> JSON, as on `<prefix>.schemas`). Returns one result per record, in
 * order; the exit status is in `ok` (false when any record failed or a fingerprint disagreed).
 */
export function decodeWithAvroJava(
  schemas: Map<string, string>,
  records: { topic: string; offset: string | bigint; value: Buffer }[],
): { ok: boolean; decoded: JavaDecoded[]; stderr: string } {
  const classpath = resolveJars();
  const classes = compile(classpath);
  const dir = mkdtempSync(join(tmpdir(), 'ctrelay-avro-java-'));
  try {
    mkdirSync(join(dir, 'schemas'));
    for (const [hex, json] of schemas) writeFileSync(join(dir, 'schemas', `${hex}.avsc`), json);
    writeFileSync(join(dir, 'records.tsv'), records.map((r) => `${r.topic}\t${r.offset}\t${r.value.toString('base64')}\n`).join(''));
    const run = spawnSync('java', ['-cp', `${classpath}:${classes}`, 'DecodeEvents', dir], { encoding: 'utf8', maxBuffer: 256 << 20 });
    const decoded = run.stdout.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as JavaDecoded);
    return { ok: run.status === 0, decoded, stderr: run.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
