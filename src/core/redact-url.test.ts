import { describe, expect, it } from 'vitest';
import { redact, redactUrl, scrubSecret } from './redact.ts';

describe('redactUrl', () => {
  it('drops user, password and query', () => {
    expect(redactUrl('postgres://u:s3cret@db.example:5432/app?sslmode=require')).toBe('postgres://db.example:5432/app');
    expect(redactUrl('mysql://root@127.0.0.1:3306/')).toBe('mysql://127.0.0.1:3306');
  });
  it('never echoes an unparsable url', () => {
    expect(redactUrl('postgres://u:p@[bad')).toBe('postgres://<unparsable url>');
    expect(redactUrl('u:p@host')).not.toContain('p@');
  });
});

describe('credentials inside a message', () => {
  it('masks the password of a url in free text', () => {
    expect(redact('connect to mysql://root:pw@h:3306/x failed')).toBe('connect to mysql://root:***@h:3306/x failed');
  });
  it('scrubSecret also removes the URL-encoded form of a known password', () => {
    expect(scrubSecret('Login failed: p@ss and p%40ss', 'p@ss')).toBe('Login failed: *** and ***');
    expect(scrubSecret('nothing to hide', undefined)).toBe('nothing to hide');
  });
});
