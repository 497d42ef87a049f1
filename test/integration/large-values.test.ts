// Values of any size replicate exactly (src/kafka/chunks.ts: events larger than a Kafka record
// travel as chunk records), as real processes: a PostgreSQL source with bytea and text values of
// 5 MB and 64 MB, a row of 200 columns of 100 kB, and a transaction of 40 rows of 2 MB during
// which capture and both appliers are killed with SIGKILL; at the end a PostgreSQL and a MariaDB
// standby equal the source by the test's own SQL (lengths and md5 of every value, per row). Peak
// RSS of capture and apply is printed. Also: `ctrelay tail` prints a chunked event whole, and a
// record Kafka cannot take ends capture with exit 4 naming table, key, column and size.
import { createHash, randomBytes } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BatchRecord } from '../../src/core/batch.ts';
import { batchesTopic, dataTopic } from '../../src/core/topics.ts';
import { CHUNK_HEADER, splitRecord } from '../../src/kafka/chunks.ts';
import { RecordTooLargeError } from '../../src/kafka/port.ts';
import { MYSQL_ADMIN_URL } from '../support/db.ts';
import { kafkaBrokers } from '../support/kafka.ts';
import { usePipeline, type Standby } from '../support/pipeline-fixture.ts';
import { control, readAll, readBatches, uniquePrefix, unlessExited, until, type Proc } from '../support/pipeline.ts';

const MiB = 1 << 20;
const WIDE_COLUMNS = 200;
const wideCols = Array.from({ length: WIDE_COLUMNS }, (_, i) => `c${String(i + 1).padStart(3, '0')}`);

const fx = usePipeline({
  name: 'large',
  schema: `
    CREATE TABLE blobs (id int PRIMARY KEY, b bytea, s text);
    CREATE TABLE wide (id int PRIMARY KEY, ${wideCols.map((c) => `${c} text`).join(', ')});
    CREATE TABLE tailed (id int PRIMARY KEY, b bytea, s text);`,
  tables: ['public.blobs', 'public.wide', 'public.tailed'],
  config: { source: { pollIntervalMs: 100 } },
});

const EXIT_KAFKA = 4;

/**
 * Text of about `bytes` UTF-8 bytes with 1-, 2-, 3- and 4-byte characters, different per `seed`
 * (a random 4 KiB piece repeated: building it costs little even at 64 MB).
 */
function text(bytes: number, seed: string): string {
  const alphabet = ['a', 'b', 'z', '0', ' ', 'é', 'ß', '€', '漢', '😀'];
  const rnd = randomBytes(4096);
  const piece = Array.from(rnd, (x) => alphabet[x % alphabet.length]).join('');
  const pieceBytes = Buffer.byteLength(piece);
  return `${seed}:` + piece.repeat(Math.max(1, Math.round(bytes / pieceBytes)));
}

/** Per row: id, then the length and md5 of every value, from the test's own SQL. */
async function fingerprints(query: (sql: string) => Promise<any[]>, kind: 'postgres' | 'mariadb', table: 'blobs' | 'wide'): Promise<string[]> {
  const len = kind === 'postgres' ? 'octet_length' : 'LENGTH';
  const cols = table === 'blobs' ? ['b', 's'] : wideCols;
  const select = cols.map((c) => `${len}(${c}) AS l_${c}, md5(${c}) AS m_${c}`).join(', ');
  const rows = await query(`SELECT id, ${select} FROM ${kind === 'postgres' ? 'public.' : ''}${table} ORDER BY id`);
  return rows.map((r) => [r.id, ...cols.map((c) => `${c}:${r[`l_${c}`] ?? 'null'}:${r[`m_${c}`] ?? 'null'}`)].join(' '));
}

async function expectStandbyEqualsSource(standby: Standby): Promise<void> {
  for (const table of ['blobs', 'wide'] as const) {
    const source = await fingerprints(async (sql) => (await fx.admin.query(sql)).rows, 'postgres', table);
    const copy = await fingerprints((sql) => standby.query(sql), standby.kind, table);
    expect(copy.length, `${standby.kind} ${table} rows`).toBe(source.length);
    expect(copy, `${standby.kind} ${table}`).toEqual(source);
  }
}

/**
 * Whether the applier is inside the transaction of the window that brings rows 100.. to the
 * standby, before its commit. PostgreSQL: a session in a transaction whose last statement wrote
 * them. MariaDB (whose information_schema.innodb_trx did not list open transactions here): rows of
 * the window visible to a dirty read (the caller's session reads uncommitted).
 */
async function applyingInTransaction(standby: Standby): Promise<boolean> {
  if (standby.kind === 'postgres') {
    const rows = await standby.query(
      `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()
         AND xact_start IS NOT NULL AND state <> 'idle' AND query LIKE 'INSERT INTO "public"."blobs"%'`,
    );
    return rows[0].n > 0;
  }
  const rows = await standby.query('SELECT COUNT(*) AS n FROM blobs WHERE id >= 100');
  return Number(rows[0].n) > 0;
}

const mb = (kb: number) => `${(kb / 1024).toFixed(0)} MB`;

describe('large values', () => {
  // MariaDB takes one statement of at most max_allowed_packet: raised for this file as an operator
  // would (a 64 MB bytea is a 128 MB hex literal), and set back afterwards
  let packetBefore: number | null = null;
  beforeAll(async () => {
    const c = await mysql.createConnection(MYSQL_ADMIN_URL);
    try {
      const [rows] = await c.query('SELECT @@GLOBAL.max_allowed_packet AS p');
      packetBefore = Number((rows as { p: number }[])[0].p);
      await c.query('SET GLOBAL max_allowed_packet = 1073741824');
    } finally {
      await c.end();
    }
  });
  afterAll(async () => {
    if (packetBefore === null) return;
    const c = await mysql.createConnection(MYSQL_ADMIN_URL);
    await c.query(`SET GLOBAL max_allowed_packet = ${packetBefore}`).finally(() => c.end());
  });

  // the issue's row: a 3 MB bytea and a 2 MB text value (and a small row after it)
  const b = randomBytes(3_000_000);
  const s = text(2_000_000, 'tail');
  beforeAll(async () => {
    await fx.admin.query('INSERT INTO tailed VALUES (1, $1, $2), (2, $3, $4)', [b, s, Buffer.from('x'), 'small']);
  });

  it('tail prints a chunked event whole', async () => {
    const prefix = uniquePrefix('ltail');
    const file = fx.config(prefix, { source: { tables: ['public.tailed'] } });
    const capture = fx.capture(file);
    await unlessExited([capture], fx.waitCaptured(prefix));
    await capture.kill('SIGTERM');
    const raw = await readAll(fx.kafka, [dataTopic(prefix, { schema: 'public', table: 'tailed' })]);
    expect(raw.filter((r) => r.headers[CHUNK_HEADER] !== undefined).length, 'chunk records').toBeGreaterThanOrEqual(5);
    const r = await fx.run(['tail', '-c', file, '-t', 'public.tailed', '--from', 'beginning', '--idle', '3000']);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => [l.offset, l.after.id])).toEqual([['0', 1], [String(raw.length - 1), 2]]);
    expect(createHash('md5').update(Buffer.from(lines[0].after.b.base64, 'base64')).digest('hex')).toBe(createHash('md5').update(b).digest('hex'));
    const got: string = lines[0].after.s;
    let at = 0;
    while (at < Math.min(got.length, s.length) && got.charCodeAt(at) === s.charCodeAt(at)) at++;
    expect({ length: got.length, firstDifference: at, md5: createHash('md5').update(got).digest('hex') })
      .toEqual({ length: s.length, firstDifference: s.length, md5: createHash('md5').update(s).digest('hex') });
  });

  it('with chunking off, a record larger than the topic takes ends capture with exit 4 naming table, key, column and size', async () => {
    const p = fx.spawn(['capture', '-c', fx.config(uniquePrefix('lnochunk'), { source: { tables: ['public.tailed'] }, kafka: { chunkBytes: 0 } })]);
    const code = await Promise.race([p.exited, new Promise((r) => setTimeout(() => r('still running after 60 s'), 60_000))]);
    await p.kill();
    expect(code, p.stderr().slice(-2000)).toBe(EXIT_KAFKA);
    const errors = p.stderr().split('\n').filter((l) => l.startsWith('error: '));
    expect(errors, p.stderr()).toHaveLength(1);
    expect(errors[0]).toMatch(/cannot publish table public\.tailed: key \(id=1\): its event is [\d,]+ bytes, its largest column "b" holds 3,000,000 bytes, more than topic \S+\.public\.tailed takes \(max\.message\.bytes \d+\) and chunking is off/);
  });

  it('a topic whose max.message.bytes is lowered under a running capture: exit 4 naming table, key, column and size; a restart chunks to the new limit', async () => {
    const prefix = uniquePrefix('llimit');
    const file = fx.config(prefix, { source: { tables: ['public.tailed'] } });
    const capture = fx.capture(file);
    await unlessExited([capture], fx.waitCaptured(prefix));
    const topic = dataTopic(prefix, { schema: 'public', table: 'tailed' });
    const kafka = new Kafka({ brokers: kafkaBrokers(), logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    try {
      await admin.alterConfigs({ validateOnly: false, resources: [{ type: 2, name: topic, configEntries: [{ name: 'max.message.bytes', value: '200000' }] }] });
    } finally {
      await admin.disconnect();
    }
    await fx.admin.query(`UPDATE tailed SET s = $1 WHERE id = 2`, [text(600_000, 'lowered')]);
    const code = await Promise.race([capture.exited, new Promise((r) => setTimeout(() => r('still running after 60 s'), 60_000))]);
    expect(code, capture.stderr().slice(-2000)).toBe(EXIT_KAFKA);
    const errors = capture.stderr().split('\n').filter((l) => l.startsWith('error: '));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/cannot publish table public\.tailed: Kafka refused a record of topic \S+ as too large; the largest record sent: key \(id=2\): its event is [\d,]+ bytes, its largest column "s" holds [\d,]+ bytes\. .*restart capture/);
    // the operator's fix: a restart reads the topic's limit and chunks to it
    const again = fx.capture(file);
    await unlessExited([again], fx.expectFoldEqualsSource(prefix, { schema: 'public', table: 'tailed' }));
    await again.kill('SIGTERM');
  });

  it('an event whose chunks a committed batch cuts short stops the applier with exit 4 naming topic, partition and offset', async () => {
    // written by hand, as no capture would: the batch lists 2 of the event's 3 chunks
    const prefix = uniquePrefix('lcut');
    const topic = dataTopic(prefix, { schema: 'public', table: 'blobs' });
    const admin = await fx.kafka.admin();
    await admin.ensureTopics([{ topic, partitions: 1, replicationFactor: 1 }, { topic: batchesTopic(prefix), partitions: 1, replicationFactor: 1 }]).finally(() => admin.close());
    const producer = fx.kafka.producer(`test-${prefix}`);
    await producer.init();
    const tx = await producer.begin();
    const chunks = splitRecord({ key: Buffer.from('k'), value: randomBytes(3_000) }, 1_200);
    expect(chunks).toHaveLength(3);
    const ranges = await tx.send(topic, chunks.slice(0, 2));
    const batch: BatchRecord = {
      sourceId: fx.sourceId, seq: 0n, windowSeq: 0n, version: 1n, previousVersion: -1n, complete: true, ranges, tables: [], captureTsMs: Date.now(), commitTsMs: null, mode: 'async',
    };
    await tx.send(batchesTopic(prefix), [{ key: Buffer.from(fx.sourceId), value: control.encodeBatch(batch), partition: 0 }]);
    await tx.commit();
    await producer.close();
    const standby = await fx.standby('postgres', 'lcut');
    const r = await fx.run(['apply', '-c', fx.config(prefix, { source: { tables: ['public.blobs'] }, standby: { url: standby.url } })], 60_000);
    expect(r.code, r.stderr.slice(-2000)).toBe(EXIT_KAFKA);
    const errors = r.stderr.split('\n').filter((l) => l.startsWith('error: '));
    expect(errors, r.stderr.slice(-2000)).toHaveLength(1);
    expect(errors[0]).toMatch(new RegExp(`^error: ${topic.replace(/\./g, '\\.')}\\[0\\]@${ranges[0].first}: incomplete chunk sequence: event [0-9a-f]{32} has 2 of its 3 chunks at the end of the ranges of batch 0 in ${prefix}\\.batches$`));
    expect(await standby.appliedSeq(fx.sourceId)).toBeNull();
  });

  it('a record beyond what one produce request may be is refused as too large, not retried as if Kafka were away', async () => {
    // the broker closes the connection on a request over socket.request.max.bytes (100 MiB): a lost
    // connection is transient, so such a record would be sent again and again
    const prefix = uniquePrefix('lhuge');
    const topic = dataTopic(prefix, { schema: 'public', table: 'blobs' });
    const admin = await fx.kafka.admin();
    await admin.ensureTopics([{ topic, partitions: 1, replicationFactor: 1, config: { 'max.message.bytes': String(200 * MiB) } }]).finally(() => admin.close());
    const producer = fx.kafka.producer(`test-${prefix}`);
    await producer.init();
    const tx = await producer.begin();
    const err = await tx.send(topic, [{ key: Buffer.from('k'), value: Buffer.alloc(110 * MiB) }]).then(() => null, (e: unknown) => e);
    await tx.abort().catch(() => undefined);
    await producer.close();
    expect(err).toBeInstanceOf(RecordTooLargeError);
    expect((err as Error).message).toMatch(/record of \d+ bytes is larger than one produce request may be/);
  });

  it('5 MB and 64 MB values, 200 columns of 100 kB, and a transaction of 40 rows of 2 MB with capture and apply killed in its middle: both standbys equal the source', async () => {
    const started = Date.now();
    const phases: string[] = [];
    const phase = (what: string) => {
      phases.push(`${what}: ${((Date.now() - started) / 1000).toFixed(1)} s`);
      console.log(`large values: ${phases[phases.length - 1]}`);
    };
    const prefix = uniquePrefix('large');
    const pgStandby = await fx.standby('postgres', 'lpg');
    const myStandby = await fx.standby('mariadb', 'lmy');
    const tables = ['public.blobs', 'public.wide'];
    const file = (s?: Standby, id?: string) => fx.config(prefix, { source: { tables }, ...(s ? { standby: { url: s.url, id } } : {}) });
    const captureFile = file();
    const pgFile = file(pgStandby, 'pg');
    const myFile = file(myStandby, 'my');
    const captures: Proc[] = [];
    const applies: Proc[] = [];
    // small pages for the 40-row window (many pages to kill capture between): its own config file
    const smallPagesFile = fx.config(prefix, { source: { tables, maxBatchBytes: 4 * MiB } });
    const capture = (smallPages = false) => {
      const p = fx.spawn(['capture', '-c', smallPages ? smallPagesFile : captureFile]);
      captures.push(p);
      return p;
    };
    const apply = (f: string) => {
      const p = fx.apply(f);
      applies.push(p);
      return p;
    };
    const caughtUp = async () => {
      await fx.waitStandbyCaughtUp(prefix, pgStandby, 300_000);
      await fx.waitStandbyCaughtUp(prefix, myStandby, 300_000);
    };

    // 1. single large values and a wide row, streamed through running processes
    let cap = capture();
    let applyPg = apply(pgFile);
    let applyMy = apply(myFile);
    await Promise.all([cap.waitFor('capture running'), applyPg.waitFor('apply running'), applyMy.waitFor('apply running')]);
    await fx.admin.query('INSERT INTO blobs VALUES (1, $1, $2)', [randomBytes(5 * MiB), text(5 * MiB, 'five')]);
    await fx.admin.query('INSERT INTO blobs VALUES (2, $1, NULL)', [randomBytes(64 * MiB)]);
    await fx.admin.query('INSERT INTO blobs VALUES (3, NULL, $1)', [text(64 * MiB, 'sixty-four')]);
    await fx.admin.query(`INSERT INTO wide VALUES ($1, ${wideCols.map((_, i) => `$${i + 2}`).join(', ')})`, [1, ...wideCols.map((c) => text(100_000, c))]);
    await unlessExited([cap, applyPg, applyMy], caughtUp());
    phase('5 MB, 64 MB and wide rows on both standbys');

    // 2. a transaction of 40 rows of 2 MB; capture killed while it publishes the window's pages
    // (small pages: many of them), the appliers while they apply it
    await cap.kill();
    const insertBatch = async (round: number) => {
      const c = fx.admin;
      await c.query('BEGIN');
      for (let i = 0; i < 40; i++) {
        await c.query('INSERT INTO blobs VALUES ($1, $2, $3) ON CONFLICT (id) DO UPDATE SET b = EXCLUDED.b, s = EXCLUDED.s', [100 + i, randomBytes(MiB), text(MiB, `r${round}-${i}`)]);
      }
      await c.query('COMMIT');
    };
    await applyPg.kill();
    await applyMy.kill();
    const appliedBefore = { pg: await pgStandby.appliedSeq(fx.sourceId), my: await myStandby.appliedSeq(fx.sourceId) };
    let killedMidWindow = 0;
    for (let round = 0; round < 3 && killedMidWindow === 0; round++) {
      const logged = await readBatches(fx.kafka, prefix);
      const before = logged.length > 0 ? logged[logged.length - 1].batch.seq : -1n;
      cap = capture(true);
      await cap.waitFor('capture running');
      await insertBatch(round);
      // the first page of the window is committed: kill
      await unlessExited([cap], until(() => readBatches(fx.kafka, prefix), (bs) => bs.some(({ batch }) => batch.seq > before), 'a page of the new window', 120_000, 50));
      await cap.kill();
      const after = await readBatches(fx.kafka, prefix);
      if (!after[after.length - 1].batch.complete) killedMidWindow++;
    }
    expect(killedMidWindow, 'capture killed between two pages of the window').toBe(1);
    phase('capture killed mid-window');
    cap = capture();
    await unlessExited([cap], fx.waitCaptured(prefix));
    phase('window published after the restart');
    for (const [standby, f, before] of [[pgStandby, pgFile, appliedBefore.pg], [myStandby, myFile, appliedBefore.my]] as const) {
      if (standby.kind === 'mariadb') await standby.query('SET SESSION TRANSACTION ISOLATION LEVEL READ UNCOMMITTED');
      const p = apply(f);
      await unlessExited([p], until(() => applyingInTransaction(standby), (yes) => yes, `the ${standby.kind} applier writing the window`, 180_000, 25));
      await p.kill();
      if (standby.kind === 'mariadb') await standby.query('SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ');
      expect(await standby.appliedSeq(fx.sourceId), `${standby.kind}: the kill came before the window's commit`).toBe(before);
    }
    phase('appliers killed inside the window\'s transaction');
    applyPg = apply(pgFile);
    applyMy = apply(myFile);
    await unlessExited([cap, applyPg, applyMy], caughtUp());
    phase('both standbys caught up');

    await expectStandbyEqualsSource(pgStandby);
    await expectStandbyEqualsSource(myStandby);
    const rows = await fx.admin.query(`SELECT count(*)::int AS n, max(octet_length(b))::bigint AS b, max(octet_length(s))::bigint AS s FROM blobs`);
    expect(rows.rows[0]).toEqual({ n: 43, b: String(64 * MiB), s: expect.any(String) });
    phase('compared');

    const peak = (ps: Proc[]) => Math.max(...ps.map((p) => p.peakRssKb()));
    console.log(
      `large values: peak RSS capture ${mb(peak(captures))} (per process ${captures.map((p) => mb(p.peakRssKb())).join(', ')}), ` +
        `apply ${mb(peak(applies))} (per process ${applies.map((p) => mb(p.peakRssKb())).join(', ')}); ${phases.join('; ')}`,
    );
    for (const p of [cap, applyPg, applyMy]) await p.kill('SIGTERM');
  }, 900_000);
});
