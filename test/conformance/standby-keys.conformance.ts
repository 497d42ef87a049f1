// Keys in the standby-dialect conformance suite (standby-dialect.conformance.ts runs these inside
// its own describe, on its database): a row is never merged into another row, and a key is never
// cut, whatever the engine compares equal. Keys the source keeps apart (case, trailing spaces,
// trailing zero bytes, a long common prefix) are two standby rows, or the write is refused with a
// StandbyError naming the table, the column and the keys, and nothing of it is stored. Where an
// engine refuses rather than keeps is declared in its harness limits (trailingSpaceKeys).
import { expect, it } from 'vitest';
import { isTransient } from '../../src/core/errors.ts';
import type { Row, TableMeta } from '../../src/core/model.ts';
import type { StandbyDialect } from '../../src/standby/dialect.ts';
import type { StandbyLimits } from '../support/standby-harness.ts';
import { applyTx, col, rejection } from './standby-helpers.ts';

export interface KeyCaseContext {
  d: StandbyDialect;
  schema: string;
  limits: StandbyLimits;
}

const byKey = (name: string) => (a: Row, b: Row) => {
  const x = a[name];
  const y = b[name];
  const [p, q] = Buffer.isBuffer(x) && Buffer.isBuffer(y) ? [x.toString('hex'), y.toString('hex')] : [String(x), String(y)];
  return p < q ? -1 : p > q ? 1 : 0;
};

/** The table's rows in key order (by the first key column, as JS compares them). */
async function rowsOf(d: StandbyDialect, t: TableMeta): Promise<Row[]> {
  return [...(await d.scan(t, null, 100))].sort(byKey(t.key[0]));
}

export function standbyKeyCases(ctx: () => KeyCaseContext): void {
  const keyed = (schema: string, table: string, key: Parameters<typeof col>[1]): TableMeta => ({
    schema, table, key: ['k'], columns: [col('k', key, false), col('v', { kind: 'int32' })],
  });

  /**
   * Writes `row` in its own transaction where `stored` rows already are: stored as a row of its
   * own, or (where the engine compares the two keys equal) refused naming table, column k and both
   * keys, leaving the table as it was. Never one row overwriting the other.
   */
  async function secondKey(t: TableMeta, stored: Row[], rows: Row[], keeps: boolean, shown: string[]): Promise<void> {
    const { d, schema } = ctx();
    if (keeps) {
      await applyTx(d, (tx) => tx.upsert(t, rows));
      expect(await rowsOf(d, t)).toEqual([...stored, ...rows].sort(byKey('k')));
      return;
    }
    const tx = await d.begin();
    const err = await rejection(tx.upsert(t, rows));
    await tx.rollback();
    expect(isTransient(err)).toBe(false);
    expect(err.message).toContain(`${schema}.${t.table}`);
    expect(err.message).toContain('column(s) k');
    for (const s of shown) expect(err.message).toContain(s);
    expect(await rowsOf(d, t)).toEqual(stored);
  }

  it('keys that differ only in case or accents are rows of their own: written, updated and deleted one by one', async () => {
    const { d, schema } = ctx();
    const t = keyed(schema, 'key_case', { kind: 'string', maxLength: 20 });
    await d.ensureTable(t);
    const rows: Row[] = [{ k: 'a', v: 1 }, { k: 'A', v: 2 }, { k: 'é', v: 3 }, { k: 'É', v: 4 }, { k: 'e', v: 5 }];
    await applyTx(d, (tx) => tx.upsert(t, rows));
    expect(await rowsOf(d, t)).toEqual([...rows].sort(byKey('k')));
    await applyTx(d, (tx) => tx.upsert(t, [{ k: 'A', v: 20 }]));
    await applyTx(d, (tx) => tx.delete(t, [{ k: 'a' }, { k: 'É' }]));
    expect(await rowsOf(d, t)).toEqual([{ k: 'A', v: 20 }, { k: 'e', v: 5 }, { k: 'é', v: 3 }].sort(byKey('k')));
  });

  it('keys that differ only in trailing spaces are two rows or refused naming both, never one row; a delete takes only its own key', async () => {
    const { d, schema, limits } = ctx();
    const t = keyed(schema, 'key_pad', { kind: 'string', maxLength: 20 });
    await d.ensureTable(t);
    const a: Row = { k: 'a', v: 1 };
    await applyTx(d, (tx) => tx.upsert(t, [a]));
    // against a stored key, and two such keys in one write
    await secondKey(t, [a], [{ k: 'a ', v: 2 }], limits.trailingSpaceKeys, ["'a '", "'a'"]);
    const stored = limits.trailingSpaceKeys ? [a, { k: 'a ', v: 2 }] : [a];
    await secondKey(t, stored, [{ k: 'b', v: 3 }, { k: 'b  ', v: 4 }], limits.trailingSpaceKeys, ["'b'", "'b  '"]);
    // deleting 'a ' never deletes 'a'
    await applyTx(d, (tx) => tx.delete(t, [{ k: 'a ' }]));
    expect((await rowsOf(d, t)).filter((r) => r.k === 'a')).toEqual([a]);
  });

  it('binary keys that differ only in trailing zero bytes are two rows or refused naming both, never one row', async () => {
    const { d, schema, limits } = ctx();
    const t = keyed(schema, 'key_zero', { kind: 'bytes', maxLength: 8 });
    await d.ensureTable(t);
    const a: Row = { k: Buffer.from('61', 'hex'), v: 1 };
    await applyTx(d, (tx) => tx.upsert(t, [a]));
    await secondKey(t, [a], [{ k: Buffer.from('6100', 'hex'), v: 2 }], limits.trailingSpaceKeys, ['0x6100', '0x61)']);
    await applyTx(d, (tx) => tx.delete(t, [{ k: Buffer.from('610000', 'hex') }]));
    expect((await rowsOf(d, t))[0]).toEqual(a);
  });

  it('a key longer than its column is refused naming table, column and key, never cut into another key', async () => {
    const { d, schema } = ctx();
    const t = keyed(schema, 'key_long', { kind: 'string', maxLength: 10 });
    await d.ensureTable(t);
    await applyTx(d, (tx) => tx.upsert(t, [{ k: '0123456789', v: 1 }]));
    const tx = await d.begin();
    const err = await rejection(tx.upsert(t, [{ k: '0123456789x', v: 2 }]));
    await tx.rollback();
    expect(isTransient(err)).toBe(false);
    expect(err.message).toContain(`${schema}.key_long`);
    expect(err.message).toContain('column k');
    expect(err.message).toContain("k='0123456789x'");
    expect(await rowsOf(d, t)).toEqual([{ k: '0123456789', v: 1 }]);
  });

  it('unbounded keys sharing a long prefix are two rows, or refused naming table and column where the engine bounds keys; never cut into one', async () => {
    const { d, schema } = ctx();
    const t = keyed(schema, 'key_prefix', { kind: 'string' });
    await d.ensureTable(t);
    const rows: Row[] = [{ k: `${'x'.repeat(500)}1`, v: 1 }, { k: `${'x'.repeat(500)}2`, v: 2 }];
    const tx = await d.begin();
    const err = await tx.upsert(t, rows).then(() => null, (e: unknown) => e as Error);
    if (err === null) {
      await tx.commit();
      expect(await rowsOf(d, t)).toEqual(rows);
    } else {
      await tx.rollback();
      expect(err.message).toContain(`${schema}.key_prefix`);
      expect(err.message).toContain('column k');
      expect(await rowsOf(d, t)).toEqual([]);
    }
  });
}
