// The shared transaction lifecycle, on a scripted connection (the dialects' own transactions run
// against the real servers in test/integration/standby-conformance.test.ts).
import { describe, expect, it } from 'vitest';
import { ConcurrentApplierError, StandbyError, StandbyUnavailableError, isTransient } from '../core/errors.ts';
import { standbyFailure } from './driver-errors.ts';
import { SqlTransaction } from './sql-transaction.ts';

const lost = () => Object.assign(new Error('connection lost'), { code: 'ECONNRESET' });
const refused = () => Object.assign(new Error('value too long'), { code: '22001' });
const isLost = (err: unknown) => (err as { code?: string }).code === 'ECONNRESET';

/** A transaction whose server answers from a script: each statement or end either succeeds or throws the next scripted error. */
class Scripted extends SqlTransaction {
  readonly log: string[] = [];
  constructor(private readonly failures: Record<string, () => Error> = {}) {
    super('Test standby h/db');
  }
  private async answer(what: string): Promise<void> {
    this.log.push(what);
    const f = this.failures[what];
    if (f) throw f();
  }
  async ensureTable(): Promise<void> {
    await this.run(() => this.answer('ddl'), (err) => standbyFailure(err, 'cannot alter s.t', isLost));
  }
  async upsert(): Promise<void> {
    await this.run(() => this.answer('upsert'), (err) => standbyFailure(err, 'cannot upsert into s.t at key (id=7)', isLost));
  }
  async delete(): Promise<void> {
    await this.run(() => this.answer('delete'), (err) => standbyFailure(err, 'cannot delete', isLost));
  }
  async deleteAll(): Promise<void> {
    await this.delete();
  }
  async writeState(): Promise<void> {
    await this.run(() => this.answer('state'), (err) => standbyFailure(err, 'cannot write state', isLost));
    if (this.failures.stale) throw this.poison(new ConcurrentApplierError('another applier'));
  }
  protected classify(err: unknown, doing: string): StandbyError {
    return standbyFailure(err, `${this.where}: ${doing}`, isLost);
  }
  protected async endOnServer(commit: boolean): Promise<string | null> {
    await this.answer(commit ? 'COMMIT' : 'ROLLBACK');
    return commit && this.failures.answersRollback ? 'COMMIT answered ROLLBACK, nothing was applied' : null;
  }
  protected releaseConnection(): void {
    this.log.push('release');
  }
  protected destroyConnection(): void {
    this.log.push('destroy');
  }
}

const rejection = (p: Promise<unknown>) => p.then(() => expect.fail('resolved'), (e: unknown) => e as StandbyError);

describe('SqlTransaction', () => {
  it('commits and pools the connection when every statement succeeded', async () => {
    const tx = new Scripted();
    await tx.upsert();
    await tx.writeState();
    await tx.commit();
    await tx.rollback(); // after commit: nothing
    expect(tx.log).toEqual(['upsert', 'state', 'COMMIT', 'release']);
  });

  it('a failed statement poisons: later statements are not sent, commit rolls back and throws with the failure class', async () => {
    const tx = new Scripted({ upsert: refused });
    const first = await rejection(tx.upsert());
    expect(first.message).toContain('at key (id=7)');
    expect(isTransient(first)).toBe(false);
    const later = await rejection(tx.delete());
    expect(later.message).toMatch(/failed, roll it back: .*at key \(id=7\)/);
    const commit = await rejection(tx.commit());
    expect(commit.message).toMatch(/transaction rolled back, a statement in it failed: .*value too long/);
    expect(isTransient(commit)).toBe(false);
    expect(tx.log).toEqual(['upsert', 'ROLLBACK', 'release']);
  });

  it('a transaction whose connection was lost reports transient, even when its ROLLBACK fails too', async () => {
    const tx = new Scripted({ upsert: lost, ROLLBACK: lost });
    expect(await rejection(tx.upsert())).toBeInstanceOf(StandbyUnavailableError);
    const commit = await rejection(tx.commit());
    expect(commit).toBeInstanceOf(StandbyUnavailableError);
    expect(commit.message).toContain('the ROLLBACK failed too');
    expect(tx.log).toEqual(['upsert', 'ROLLBACK', 'destroy']);
  });

  it('a failed COMMIT destroys the connection and is classified like any driver error', async () => {
    const tx = new Scripted({ COMMIT: lost });
    const err = await rejection(tx.commit());
    expect(err).toBeInstanceOf(StandbyUnavailableError);
    expect(err.message).toBe('Test standby h/db: COMMIT failed: connection lost [ECONNRESET]');
    expect(tx.log).toEqual(['COMMIT', 'destroy']);
    const tx2 = new Scripted({ COMMIT: refused });
    expect(isTransient(await rejection(tx2.commit()))).toBe(false);
  });

  it('a COMMIT the server answered otherwise is permanent; the connection is fine and pooled', async () => {
    const tx = new Scripted({ answersRollback: refused });
    const err = await rejection(tx.commit());
    expect(err.message).toMatch(/COMMIT answered ROLLBACK/);
    expect(isTransient(err)).toBe(false);
    expect(tx.log).toEqual(['COMMIT', 'release']);
  });

  it('a refused state write poisons too: the data cannot be committed without it', async () => {
    const tx = new Scripted({ stale: refused });
    await tx.upsert();
    expect(await rejection(tx.writeState())).toBeInstanceOf(ConcurrentApplierError);
    await expect(tx.commit()).rejects.toThrow(/rolled back/);
    expect(tx.log).toEqual(['upsert', 'state', 'ROLLBACK', 'release']);
  });

  it('rollback is idempotent; a finished transaction refuses statements and a second commit', async () => {
    const tx = new Scripted();
    await tx.rollback();
    await tx.rollback();
    await expect(tx.upsert()).rejects.toThrow(/transaction already finished/);
    await expect(tx.commit()).rejects.toThrow(/transaction already finished/);
    expect(tx.log).toEqual(['ROLLBACK', 'release']);
  });

  it('a failed ROLLBACK destroys the connection', async () => {
    const tx = new Scripted({ ROLLBACK: lost });
    expect(await rejection(tx.rollback())).toBeInstanceOf(StandbyUnavailableError);
    await tx.rollback();
    expect(tx.log).toEqual(['ROLLBACK', 'destroy']);
  });
});
