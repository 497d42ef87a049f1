import { describe, expect, it } from 'vitest';
import { redactText, redactUrl } from './redact-url.ts';

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

describe('redactText', () => {
  it('strips credentials from urls inside a message', () => {
    expect(redactText('connect to mysql://root:pw@h:3306/x failed')).toBe('connect to mysql://h:3306/x failed');
  });
});
