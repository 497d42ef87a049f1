// kill -9 of the Kafka broker while capture and apply run under a workload: both wait for the
// broker, resume from their checkpoints, and the standby ends equal to the source with the batch
// log gap-free.
import { describe, expect, it } from 'vitest';
import { brokerIsLocal, killBroker, startBroker } from '../support/kafka.ts';
import { usePipeline } from '../support/pipeline-fixture.ts';
import { sleep, uniquePrefix } from '../support/pipeline.ts';
import { startWorkload } from '../support/workload.ts';

const fx = usePipeline({
  name: 'bk',
  sourceId: 'bk',
  schema: `
    CREATE TABLE items (id bigint PRIMARY KEY, name text, qty int, price numeric(12,2), at timestamptz);
    INSERT INTO items SELECT g, 'n' || g, g % 10, 1.25, now() FROM generate_series(1, 2000) g;`,
  tables: ['public.items'],
  config: { source: { maxBatchRows: 500 }, kafka: { partitions: 2 } },
});

describe('broker kill -9', () => {
  it.runIf(brokerIsLocal())('loses nothing and applies nothing twice when the broker is killed mid-stream', async () => {
    const prefix = uniquePrefix('bk');
    const standby = await fx.standby('postgres', 'bksby');
    const file = fx.config(prefix, { standby: { id: 'bk-standby', url: standby.url } });
    const cap = fx.capture(file);
    const app = fx.apply(file);
    await cap.waitFor('capture running');
    await app.waitFor('apply running');
    const w = startWorkload(fx.db.url, {
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
    await standby.waitApplied(await fx.currentVersion(), {
      timeoutMs: 150_000,
      diagnostics: () => `CAPTURE ${cap.stderr().slice(-2000)}\nAPPLY ${app.stderr().slice(-2000)}`,
    });
    // both processes rode out the outage instead of exiting
    expect(cap.child.exitCode).toBeNull();
    expect(app.child.exitCode).toBeNull();
    await fx.expectStandbyEqualsSource(standby);
    const captured = await fx.expectFoldEqualsSource(prefix);
    const seqs = captured.batches.map((b) => b.batch.seq);
    expect(seqs).toEqual(seqs.map((_, i) => BigInt(i)));
    await app.kill('SIGTERM');
    await cap.kill('SIGTERM');
  });
});
