// What the standby conformance cases share: a column, one committed transaction, and the
// StandbyError a promise rejects with.
import { expect } from 'vitest';
import { StandbyError } from '../../src/core/errors.ts';
import type { ColumnMeta, ColumnType } from '../../src/core/model.ts';
import type { StandbyDialect, StandbyTransaction } from '../../src/standby/dialect.ts';

export function col(name: string, type: ColumnType, nullable = true): ColumnMeta {
  return { name, type, nullable, sourceType: type.kind };
}

/** Runs `fn` in one standby transaction and commits it (rolls back and rethrows when it fails). */
export async function applyTx(d: StandbyDialect, fn: (tx: StandbyTransaction) => Promise<void>): Promise<void> {
  const tx = await d.begin();
  try {
    await fn(tx);
    await tx.commit();
  } catch (err) {
    await tx.rollback().catch(() => undefined);
    throw err;
  }
}

/** The error `p` rejects with (failing the test when it resolves). */
export async function rejection(p: Promise<unknown>): Promise<StandbyError> {
  const err = await p.then(
    () => expect.fail('expected a rejection'),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(StandbyError);
  return err as StandbyError;
}
