// The batch log outlives upgrades: capture resumes from its last record and the applier reads it
// from the start. Records written before the table definition was recorded (TableState without
// `definition`, the batch-log schema ctrelay shipped until then) must still decode, in capture and
// in apply, and capture goes on from them without re-snapshotting anything.
import { describe, expect, it } from 'vitest';
import { BATCH_LOG_SCHEMA, fingerprintHex, SingleObjectCodec } from '../../src/avro/index.ts';
import { toWireBatch } from '../../src/avro/control.ts';
import { batchesTopic, captureTransactionalId } from '../../src/core/topics.ts';
import { usePipeline } from '../support/pipeline-fixture.ts';
import { readBatches, uniquePrefix } from '../support/pipeline.ts';

/** CRC-64-AVRO fingerprint of the batch-log schema ctrelay wrote before TableState.definition. */
const SHIPPED_BEFORE = 'c21830c9c4acc856';

const fx = usePipeline({
  name: 'srcupg',
  schema: `CREATE TABLE items (id int PRIMARY KEY, qty int);
    INSERT INTO items SELECT g, g FROM generate_series(1, 20) g;`,
  tables: ['public.items'],
});

/** The batch-log schema without the TableState field `definition` (nor the later `fence`): what earlier versions wrote with. */
function schemaBefore(): object {
  const copy = JSON.parse(JSON.stringify(BATCH_LOG_SCHEMA));
  const tables = copy.fields.find((f: { name: string }) => f.name === 'tables');
  tables.type.items.fields = tables.type.items.fields.filter((f: { name: string }) => f.name !== 'definition');
  copy.fields = copy.fields.filter((f: { name: string }) => f.name !== 'fence');
  return copy;
}

describe('batch-log records of an earlier version', () => {
  it('capture resumes from a record without table definitions, the applier applies across it, nothing is re-snapshotted', async () => {
    const old = new SingleObjectCodec(schemaBefore());
    expect(fingerprintHex(old.fingerprint)).toBe(SHIPPED_BEFORE);

    const prefix = uniquePrefix('upg');
    const standby = await fx.standby('postgres', 'sbyupg');
    const file = fx.config(prefix, { standby: { id: 'pg-upg', url: standby.url } });
    let capture = fx.capture(file);
    await capture.waitFor('capture running');
    await fx.waitCaptured(prefix);
    await capture.kill('SIGTERM');
    expect(await capture.exited).toBe(0);

    // an empty complete window at the same version, as an earlier ctrelay would have written it
    const last = (await readBatches(fx.kafka, prefix)).at(-1)!.batch;
    expect(last.tables[0].definition).toBeTruthy();
    const seq = last.seq + 1n;
    const wire = toWireBatch({ ...last, seq, windowSeq: seq, previousVersion: last.version, ranges: [], captureTsMs: Date.now(),
      tables: last.tables.map((t) => ({ ...t, rows: 0 })) });
    const legacy = { ...wire, tables: wire.tables.map(({ definition: _d, ...t }) => t) };
    const producer = fx.kafka.producer(captureTransactionalId(prefix, fx.sourceId));
    await producer.init();
    const tx = await producer.begin();
    await tx.send(batchesTopic(prefix), [{ key: Buffer.from(fx.sourceId), value: old.encode(legacy), partition: 0 }]);
    await tx.commit();
    await producer.close();
    const reread = (await readBatches(fx.kafka, prefix)).at(-1)!.batch;
    expect(reread.seq).toBe(seq);
    expect(reread.tables[0].definition).toBeUndefined();

    capture = fx.capture(file);
    await capture.waitFor('capture running');
    expect(capture.stderr()).toContain(`"seq":"${seq}"`);
    fx.apply(file);
    await fx.admin.query(`UPDATE items SET qty = qty * 10 WHERE id <= 3`);
    await fx.waitStandbyCaughtUp(prefix, standby);
    const rows = await standby.query(`SELECT id, qty FROM public.items ORDER BY id`);
    const src = (await fx.admin.query(`SELECT id, qty FROM items ORDER BY id`)).rows;
    expect(rows).toEqual(src);
    // the next records carry definitions again; the table was snapshotted once only
    const after = (await readBatches(fx.kafka, prefix)).filter(({ batch }) => batch.seq > seq);
    expect(after.length).toBeGreaterThan(0);
    expect(after.every(({ batch }) => batch.tables[0].definition === last.tables[0].definition)).toBe(true);
    expect(new Set((await readBatches(fx.kafka, prefix)).map(({ batch }) => batch.tables[0].snapshot?.epoch))).toEqual(new Set([1]));
    expect(capture.stderr()).not.toMatch(/"snapshot started".*"reason":"(?!initial snapshot)/);
    await capture.kill('SIGTERM');
  });
});
