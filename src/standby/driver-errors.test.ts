import { describe, expect, it } from 'vitest';
import { StandbyError, StandbyUnavailableError, isTransient } from '../core/errors.ts';
import { isSocketError, standbyFailure } from './driver-errors.ts';

const withCode = (message: string, code: string) => Object.assign(new Error(message), { code });

describe('isSocketError', () => {
  it('knows Node socket and resolver failures, also inside the AggregateError of a multi-address connect', () => {
    expect(isSocketError(withCode('connect ECONNREFUSED 127.0.0.1:1', 'ECONNREFUSED'))).toBe(true);
    expect(isSocketError(withCode('read ECONNRESET', 'ECONNRESET'))).toBe(true);
    expect(isSocketError(new AggregateError([withCode('a', 'ECONNREFUSED'), withCode('b', 'EHOSTUNREACH')]))).toBe(true);
    expect(isSocketError(new AggregateError([]))).toBe(false);
    expect(isSocketError(withCode('permission denied', '42501'))).toBe(false);
    expect(isSocketError(null)).toBe(false);
  });
});

describe('standbyFailure', () => {
  it('classifies by the engine rule and names what failed', () => {
    const lost = standbyFailure(withCode('socket closed', 'ECONNRESET'), 'X standby h/db: COMMIT failed', isSocketError);
    expect(lost).toBeInstanceOf(StandbyUnavailableError);
    expect(isTransient(lost)).toBe(true);
    expect(lost.message).toBe('X standby h/db: COMMIT failed: socket closed [ECONNRESET]');
    const denied = standbyFailure(withCode('permission denied for table t', '42501'), 'p', isSocketError);
    expect(denied).toBeInstanceOf(StandbyError);
    expect(isTransient(denied)).toBe(false);
    expect(denied.cause).toBeInstanceOf(Error);
  });

  it('removes credentials the driver echoes, and the known password in any form', () => {
    const err = new Error("Login failed for user 'ctr' with password 's3cr@t/pw' on mssql://ctr:s3cr@t/pw@h/db");
    const msg = standbyFailure(err, 'p', () => false, 's3cr@t/pw').message;
    expect(msg).not.toContain('s3cr');
    expect(standbyFailure(new Error('x s3cr%40t%2Fpw y'), 'p', () => false, 's3cr@t/pw').message).not.toContain('s3cr');
  });

  it('passes a StandbyError through: it was classified where it happened', () => {
    const first = new StandbyUnavailableError('already classified');
    expect(standbyFailure(first, 'p', () => false)).toBe(first);
  });
});
