import { describe, expect, it } from 'vitest';
import { interpolateString } from './interpolate.ts';

const env = { USER: 'ctrelay', EMPTY: '', PORT: '5432' };

describe('interpolateString', () => {
  it.each([
    ['plain text', 'plain text'],
    ['${USER}', 'ctrelay'],
    ['pg://${USER}:${EMPTY}@h:${PORT}/db', 'pg://ctrelay:@h:5432/db'],
    ['${UNSET:-fallback}', 'fallback'],
    ['${EMPTY:-fallback}', 'fallback'],
    ['${USER:-fallback}', 'ctrelay'],
    ['${UNSET:-}', ''],
    ['$${USER}', '${USER}'],
    ['cost $5 and $$ and $USER', 'cost $5 and $$ and $USER'],
    // scanned left to right: "$" then the escape "$${"
    ['$$${USER}', '$${USER}'],
  ])('%s', (input, expected) => {
    expect(interpolateString(input, env)).toBe(expected);
  });

  it('names an unset variable', () => {
    expect(() => interpolateString('x${PGPASS}', env)).toThrow(/environment variable PGPASS is not set/);
  });

  it('rejects malformed references', () => {
    expect(() => interpolateString('${', env)).toThrow(/unterminated/);
    expect(() => interpolateString('${1X}', env)).toThrow(/invalid reference "\$\{1X\}"/);
    expect(() => interpolateString('${A:B}', env)).toThrow(/expected \$\{NAME\} or \$\{NAME:-default\}/);
  });
});
