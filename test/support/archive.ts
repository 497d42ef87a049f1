// Helpers of the archive/restore tests: a two-table workload that can pause (so a recorded version
// is a window version: capture's next window after a pause is read at exactly that version), the
// source's state recorded with its version in ONE REPEATABLE READ transaction (as copies in a
// schema of their own, compared later through the same canonical readers as everything else), and
// the archive's manifest as the archiver wrote it.
import { spawnSync } from 'node:child_process';
import { homedir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { expect } from 'vitest';
import { readManifest, type Manifest } from '../../src/archive/manifest.ts';
import { FsArchiveStore } from '../../src/archive/fs-store.ts';
import { createDialect } from '../../src/standby/create-dialect.ts';
import type { Standby } from './pipeline-fixture.ts';
import { canonical, sleep, sourceRows, standbyRows, until } from './pipeline.ts';

/** Two tables with several types: a plain key and a composite one. */
export const ARCHIVE_SCHEMA = `
  CREATE TABLE items (id bigint PRIMARY KEY, name text, price numeric(12,2), qty integer, seen timestamptz,
                      day date, blob bytea, ok boolean, ratio double precision);
  INSERT INTO items SELECT g, 'item ' || g, g * 1.25, g % 7, '2026-01-01 00:00:00+00'::timestamptz + g * interval '1 minute',
                           DATE '2026-01-01' + g, decode(md5(g::text), 'hex'), g % 2 = 0, g / 3.0 FROM generate_series(1, 300) g;
  CREATE TABLE ledger (account varchar(20), n integer, amount numeric(18,4), note varchar(40), PRIMARY KEY (account, n));
  INSERT INTO ledger SELECT 'acct-' || (g % 10), g, g * 0.0001, NULL FROM generate_series(1, 200) g;`;
export const ARCHIVE_TABLES = ['public.items', 'public.ledger'];

export interface PausableWorkload {
  /** waits for the transaction in progress, then holds further ones until resume() */
  pause(): Promise<void>;
  resume(): void;
  stop(): Promise<number>;
}

/** Small transactions of inserts, updates and deletes on both tables until stopped. */
export function archiveWorkload(url: string): PausableWorkload {
  const c = new pg.Client({ connectionString: url });
  let stopping = false;
  let paused: Promise<void> | null = null;
  let release = () => {};
  let idle: () => void = () => {};
  let busy = false;
  let txns = 0;
  let nextItem = 301;
  let nextN = 201;
  let failed: unknown = null;
  const loop = (async () => {
    await c.connect();
    // new keys above what the tables hold: an earlier workload in the same file wrote some
    nextItem = Number((await c.query('SELECT coalesce(max(id), 300) + 1 AS n FROM items')).rows[0].n);
    nextN = Number((await c.query('SELECT coalesce(max(n), 200) + 1 AS n FROM ledger')).rows[0].n);
    while (!stopping) {
      if (paused) await paused;
      if (stopping) break;
      busy = true;
      await c.query('BEGIN');
      for (let i = 0; i < 4; i++) {
        const r = Math.random();
        const id = 1 + Math.floor(Math.random() * (nextItem - 1));
        if (r < 0.3) await c.query(`INSERT INTO items VALUES ($1::bigint, 'new ' || $1::bigint, $1::bigint * 0.5, 1, now(), current_date, '\\x00ff'::bytea, true, 0.1)`, [nextItem++]);
        else if (r < 0.6) await c.query(`UPDATE items SET qty = qty + 1, price = price + 0.01, name = name || '+', ok = NOT ok WHERE id = $1`, [id]);
        else if (r < 0.7) await c.query('DELETE FROM items WHERE id = $1', [id]);
        else if (r < 0.85) await c.query(`INSERT INTO ledger VALUES ('acct-' || ($1::int % 10), $1::int, $1::int * 0.3333, 'w')`, [nextN++]);
        else await c.query(`UPDATE ledger SET amount = amount * 2, note = 'u' WHERE n = $1`, [1 + Math.floor(Math.random() * (nextN - 1))]);
      }
      await c.query('COMMIT');
      txns++;
      busy = false;
      idle();
      await sleep(5);
    }
  })().catch((err) => {
    failed = err;
    idle();
  });
  return {
    async pause() {
      paused = new Promise((r) => (release = r));
      if (busy && !failed) await new Promise<void>((r) => (idle = r));
      if (failed) throw failed;
    },
    resume() {
      paused = null;
      release();
    },
    async stop() {
      stopping = true;
      paused = null;
      release();
      await loop;
      await c.end();
      if (failed) throw failed;
      return txns;
    },
  };
}

/** The source's version and rows, read in one REPEATABLE READ transaction, kept as copies in schema `as`. */
export async function recordState(url: string, as: string, tables: string[]): Promise<bigint> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    // a moment of the source (README, "PostgreSQL change tracking"): the version lock taken
    // exclusive around the snapshot waits for every writer that holds a drawn version
    await c.query('SELECT pg_advisory_lock(7406011, 1)');
    await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
    const v = BigInt((await c.query('SELECT ctrelay.current_version()::text AS v')).rows[0].v);
    await c.query('SELECT pg_advisory_unlock(7406011, 1)');
    await c.query(`CREATE SCHEMA ${as}`);
    for (const t of tables) await c.query(`CREATE TABLE ${as}.${t.split('.')[1]} AS SELECT * FROM ${t}`);
    await c.query('COMMIT');
    // a key, so the canonical reader can page through the copies
    await c.query(`ALTER TABLE ${as}.items ADD PRIMARY KEY (id); ALTER TABLE ${as}.ledger ADD PRIMARY KEY (account, n)`);
    return v;
  } finally {
    await c.end();
  }
}

/**
 * The target's tables equal the recorded copies in schema `as` (canonical rows, every column): the
 * copies are read through the PostgreSQL dialect with the live table's definition, the target through its own.
 */
export async function expectRestoredEquals(sourceUrl: string, as: string, target: Standby, tables: string[]): Promise<void> {
  const dialect = createDialect(target.kind, target.url);
  const copies = createDialect('postgres', sourceUrl);
  await dialect.connect();
  await copies.connect();
  try {
    for (const t of tables) {
      const { meta } = await sourceRows(sourceUrl, { schema: 'public', table: t.split('.')[1] });
      const want = await standbyRows(copies, { ...meta, schema: as });
      expect(want.size).toBeGreaterThan(0);
      const got = await standbyRows(dialect, { ...meta, schema: target.schemaOf('public') });
      expect(canonical(got), `${t} restored into ${target.kind} vs the state recorded as ${as}`).toEqual(canonical(want));
    }
  } finally {
    await dialect.close();
    await copies.close();
  }
}

export async function manifestOf(dir: string): Promise<Manifest | null> {
  return readManifest(new FsArchiveStore(dir));
}

/** Waits until the archive in `dir` holds a window at `version` or later. */
export function waitArchived(dir: string, version: bigint, timeoutMs = 60_000): Promise<Manifest | null> {
  return until(() => manifestOf(dir), (m) => m !== null && BigInt(m.archived.version) >= version, `the archive in ${dir} to reach version ${version}`, timeoutMs, 200);
}

/** Apache Avro's own command-line tools (org.apache.avro:avro-tools from Maven Central; offline first). */
export function avroToolsJar(version = '1.12.1'): string {
  const args = ['-B', '-q', 'dependency:get', `-Dartifact=org.apache.avro:avro-tools:${version}`, '-Dtransitive=false'];
  if (spawnSync('mvn', ['-o', ...args], { encoding: 'utf8' }).status !== 0) {
    const online = spawnSync('mvn', args, { encoding: 'utf8' });
    if (online.status !== 0) throw new Error(`Maven could not resolve org.apache.avro:avro-tools:${version} (needs Maven Central once):\n${online.stdout}${online.stderr}`);
  }
  return join(homedir(), '.m2', 'repository', 'org', 'apache', 'avro', 'avro-tools', version, `avro-tools-${version}.jar`);
}
