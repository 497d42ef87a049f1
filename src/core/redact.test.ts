import { describe, expect, it } from 'vitest';
import { isSecretKey, redact, redactValue } from './redact.ts';

describe('redact', () => {
  it.each([
    ['postgres://ctrelay:s3cret@db:5432/app', 'postgres://ctrelay:***@db:5432/app'],
    ['connect mssql://sa:P@ss/w0rd@sql1/app failed', 'connect mssql://sa:***@sql1/app failed'],
    ['Server=sql1;User Id=sa;Password=s3cret;Database=app', 'Server=sql1;User Id=sa;Password=***;Database=app'],
    ['Server=sql1;Password="a;b";Database=app', 'Server=sql1;Password=***;Database=app'],
    ['DRIVER={ODBC};UID=sa;PWD={x;y};', 'DRIVER={ODBC};UID=sa;PWD=***;'],
    ['host=db password=s3cret dbname=app', 'host=db password=*** dbname=app'],
    ['https://reg/x?api_key=abc&x=1', 'https://reg/x?api_key=***&x=1'],
    ['{"password":"s3cret","user":"a"}', '{"password":"***","user":"a"}'],
    ['sslPassword: s3cret', 'sslPassword: ***'],
    ['Authorization: Bearer abcdefghijkl', 'Authorization: Bearer ***'],
  ])('%s', (input, expected) => {
    expect(redact(input)).toBe(expected);
    expect(redact(expected)).toBe(expected);
  });

  it('leaves text without credentials alone', () => {
    const text = 'polled 3 tables up to version 42 from postgres://db:5432/app (user ctrelay)';
    expect(redact(text)).toBe(text);
  });
});

describe('isSecretKey', () => {
  it('matches password-like keys in any spelling, not counters', () => {
    for (const k of ['password', 'PWD', 'client_secret', 'accessToken', 'sslPassword', 'api-key', 'authorization']) {
      expect(isSecretKey(k), k).toBe(true);
    }
    for (const k of ['tokenCount', 'url', 'user', 'passive', 'id']) expect(isSecretKey(k), k).toBe(false);
  });
});

describe('redactValue', () => {
  it('masks secret keys at any depth and credentials in strings, without touching the input', () => {
    const input = { a: { b: [{ c: { password: 123456, url: 'postgres://u:pw@h/db' } }] }, token: 'x' };
    const out = redactValue(input);
    expect(out).toEqual({ a: { b: [{ c: { password: '***', url: 'postgres://u:***@h/db' } }] }, token: '***' });
    expect(input.a.b[0].c.password).toBe(123456);
  });

  it('turns errors into redacted plain objects, cause included', () => {
    const err = new Error('login failed for mssql://sa:pw@h/db', { cause: new Error('Password=pw; rejected') });
    const out = redactValue({ err }) as { err: { message: string; stack: string; cause: { message: string } } };
    expect(out.err.message).toBe('login failed for mssql://sa:***@h/db');
    expect(out.err.stack).not.toContain(':pw@');
    expect(out.err.cause.message).toBe('Password=***; rejected');
  });

  it('survives cycles', () => {
    const a: Record<string, unknown> = { name: 'a' };
    a.self = a;
    expect(redactValue(a)).toEqual({ name: 'a', self: '[circular]' });
  });
});
