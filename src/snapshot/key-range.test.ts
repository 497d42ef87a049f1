import { describe, expect, it } from 'vitest';
import { parseKeyRange } from './key-range.ts';

describe('parseKeyRange', () => {
  it('reads one-column ranges, open on either side', () => {
    expect(parseKeyRange('100..200')).toEqual({ from: ['100'], to: ['200'] });
    expect(parseKeyRange('..500')).toEqual({ from: null, to: ['500'] });
    expect(parseKeyRange('2026-01-01 10:00..')).toEqual({ from: ['2026-01-01 10:00'], to: null });
  });

  it('reads composite keys and values holding dots as JSON arrays', () => {
    expect(parseKeyRange('["eu",1]..["eu",900]')).toEqual({ from: ['eu', '1'], to: ['eu', '900'] });
    expect(parseKeyRange('["a..b"]..["a..c"]')).toEqual({ from: ['a..b'], to: ['a..c'] });
    expect(parseKeyRange('["x]y",2]..')).toEqual({ from: ['x]y', '2'], to: null });
  });

  it('refuses what is not a range, naming --keys', () => {
    expect(() => parseKeyRange('100')).toThrow(/--keys: "100" is not a key range/);
    expect(() => parseKeyRange('1..2..3')).toThrow(/not a key range/);
    expect(() => parseKeyRange('..')).toThrow(/neither a from nor a to/);
    expect(() => parseKeyRange('[1,{}]..')).toThrow(/JSON array of strings and numbers/);
    expect(() => parseKeyRange('[1,..')).toThrow(/not a key range/);
  });
});
