// kill -9 of the Kafka broker while capture and apply run under a workload: both wait for the
// broker, resume from their checkpoints, and the standby ends equal to the source with the batch
// log gap-free.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ctEnable } from '../../src/sources/postgres/ct-admin.ts';
import { createDialect } from '../../src/standby/create-dialect.ts';
import { createPgDatabase, type ThrowawayDb } from '../support/db.ts';
import { brokerIsLocal, kafkaBrokers, killBroker, startBroker } from '../support/kafka.ts';
import { canonical, readCaptured, sleep, sourceRows, spawnCtrelay, standbyRows, testKafka, uniquePrefix, writeConfig, type Proc } from '../support/pipeline.ts';
import { startWorkload } from '../support/workload.ts';

const ITEMS = { schema: 'public', table: 'items' };
let source: ThrowawayDb;
let standby: ThrowawayDb;
let admin: pg.Client;
const procs: Proc[] = [];

beforeAll(async () => {
  source = await createPgDatabase('bk');
  standby = await createPgDatabase('bksby');
  admin = new pg.Client({ connectionString: source.url });
  await admin.connect();
  await admin.query(`CREATE TABLE items (id bigint PRIMARY KEY, name text, qty int, price numeric(12,2), at timestamptz)`);
  await admin.query(`INSERT INTO items SELECT g, 'n' || g, g % 10, 1.25, now() FROM generate_series(1, 2000) g`);
  await ctEnable(source.url, [ITEMS]);
});

afterAll(async () => {
  for (const p of procs) await p.kill();
  await admin?.end();
  await source?.drop();
  await standby?.drop();
});

describe('broker kill -9', () => {
  it.runIf(brokerIsLocal())('loses nothing and applies nothing twice when the broker is killed mid-stream', async () => {
    const prefix = uniquePrefix('bk');
    const file = writeConfig({
      source: { id: 'bk', url: source.url, tables: ['public.items'], pollIntervalMs: 100, maxBatchRows: 500 },
      kafka: { brokers: kafkaBrokers(), topicPrefix: prefix, partitions: 2 },
      standby: { id: 'bk-standby', url: standby.url },
      http: { capture: { port: 0 }, apply: { port: 0 } },
    });
    const cap = spawnCtrelay(['capture', '-c', file]);
    const app = spawnCtrelay(['apply', '-c', file]);
    procs.push(cap, app);
    await cap.waitFor('capture running');
    await app.waitFor('apply running');
    const w = startWorkload(source.url, {
      insert: `INSERT INTO items (id, name, qty, price, at) VALUES ($1::bigint, 'w' || $1::bigint, 1, 1.5, now())`,
      update: `UPDATE items SET qty = qty + 1, at = now() WHERE id = $1`,
      maxId: 10_000, rowsPerTransaction: 10, pauseMs: 10,
    });
    await sleep(2000);
    await killBroker();
    await sleep(3000);
    await startBroker();
    await sleep(3000);
    await w.stop();
    const target = BigInt((await admin.query(`SELECT ctrelay.current_version()::text AS v`)).rows[0].v);
    const sby = new pg.Client({ connectionString: standby.url });
    await sby.connect();
    const t0 = Date.now();
    for (;;) {
      const r = await sby.query(`SELECT version::text AS v FROM ctrelay.ctrelay_state`).catch(() => ({ rows: [] as { v: string }[] }));
      if (r.rows[0] && BigInt(r.rows[0].v) >= target) break;
      if (Date.now() - t0 > 150_000) throw new Error(`standby stuck below ${target}:\nCAPTURE ${cap.stderr().slice(-2000)}\nAPPLY ${app.stderr().slice(-2000)}`);
      await sleep(500);
    }
    await sby.end();
    // both processes rode out the outage instead of exiting
    expect(cap.child.exitCode).toBeNull();
    expect(app.child.exitCode).toBeNull();
    const src = await sourceRows(source.url, ITEMS);
    const dialect = createDialect('postgres', standby.url);
    await dialect.connect();
    expect(canonical(await standbyRows(dialect, src.meta))).toEqual(canonical(src.rows));
    await dialect.close();
    const kafka = testKafka(kafkaBrokers());
    const captured = await readCaptured(kafka, prefix, [ITEMS]);
    await kafka.close();
    const seqs = captured.batches.map((b) => b.batch.seq);
    expect(seqs).toEqual(seqs.map((_, i) => BigInt(i)));
    expect(canonical(captured.fold.tables.get('public.items')!.rows)).toEqual(canonical(src.rows));
    await app.kill('SIGTERM');
    await cap.kill('SIGTERM');
  });
});
