import { describe, expect, it } from 'vitest';
import { toJsonLine } from './tail.ts';

describe('toJsonLine', () => {
  it('prints NaN, +-Infinity and -0 distinctly from NULL and 0', () => {
    const line = toJsonLine({ nan: NaN, inf: Infinity, ninf: -Infinity, nzero: -0, zero: 0, nul: null, f: 1.5, neg: -2 });
    expect(JSON.parse(line)).toEqual({ nan: 'NaN', inf: 'Infinity', ninf: '-Infinity', nzero: '-0', zero: 0, nul: null, f: 1.5, neg: -2 });
  });

  it('keeps bigints exact and shows bytes as base64, nested too', () => {
    const line = toJsonLine({ after: { big: 2n ** 63n - 1n, b: Buffer.from([0, 255]), empty: Buffer.alloc(0), list: [NaN, -0] } });
    expect(JSON.parse(line)).toEqual({ after: { big: '9223372036854775807', b: { base64: 'AP8=' }, empty: { base64: '' }, list: ['NaN', '-0'] } });
  });
});
