// ctrelay_state only moves forward: an applier that fell behind another one (two appliers on one
// standby) gets ConcurrentApplierError and its transaction writes nothing.
import { afterAll, describe, expect, it } from 'vitest';
import { ConcurrentApplierError } from '../../src/core/errors.ts';
import type { TableMeta } from '../../src/core/model.ts';
import { createDialect } from '../../src/standby/create-dialect.ts';
import { createMariaDatabase, createPgDatabase, type ThrowawayDb } from '../support/db.ts';

const dbs: ThrowawayDb[] = [];
afterAll(async () => {
  for (const d of dbs) await d.drop();
});

describe.each(['postgres', 'mariadb'] as const)('%s standby state', (kind) => {
  it('refuses to move ctrelay_state backwards or sideways, and rolls the data back with it', async () => {
    const db = kind === 'postgres' ? await createPgDatabase('fwd') : await createMariaDatabase('fwd');
    dbs.push(db);
    const dialect = createDialect(kind, db.url);
    await dialect.connect();
    try {
      await dialect.ensureStateTable();
      const table: TableMeta = {
        schema: kind === 'postgres' ? 'public' : db.name, table: 't', key: ['id'],
        columns: [{ name: 'id', type: { kind: 'int32' }, nullable: false, sourceType: 'int' }],
      };
      await dialect.ensureTable(table);
      const write = async (seq: bigint, id: number) => {
        const tx = await dialect.begin();
        try {
          await tx.upsert(table, [{ id }]);
          await tx.writeState({ sourceId: 's', batchSeq: seq, version: seq, batchOffset: seq });
          await tx.commit();
        } catch (err) {
          await tx.rollback().catch(() => undefined);
          throw err;
        }
      };
      // [batch seq, row id, accepted]: forward, sideways (same seq), backwards, forward again; the
      // state is checked after every step, the rows at the end (only accepted writes left any)
      const steps: [bigint, number, boolean][] = [[5n, 1, true], [5n, 2, false], [4n, 3, false], [6n, 4, true]];
      let applied = -1n;
      for (const [seq, id, accepted] of steps) {
        if (accepted) {
          await write(seq, id);
          applied = seq;
        } else {
          await expect(write(seq, id), `batch ${seq} after ${applied}`).rejects.toBeInstanceOf(ConcurrentApplierError);
        }
        expect((await dialect.readState('s'))?.batchSeq).toBe(applied);
      }
      expect(applied).toBe(6n);
      expect((await dialect.scan(table, null, 10)).map((r) => r.id)).toEqual(steps.filter(([, , ok]) => ok).map(([, id]) => id));
    } finally {
      await dialect.close();
    }
  });
});
