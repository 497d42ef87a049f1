import { describe, expect, it } from 'vitest';
import { nLiteral, quoteIdent, quoteQualified } from './quote.ts';

describe('quoteIdent', () => {
  it.each([
    ['orders', '[orders]'],
    ['order', '[order]'],
    ['my table', '[my table]'],
    ['a]b', '[a]]b]'],
    [']', '[]]]'],
    [']]', '[]]]]]'],
    ['[x', '[[x]'],
    ['[x]', '[[x]]]'],
    ['Bestellübersicht', '[Bestellübersicht]'],
    ['注文', '[注文]'],
    ["o'brien", "[o'brien]"],
    ['x]; DROP TABLE y; --', '[x]]; DROP TABLE y; --]'],
  ])('%j -> %s', (name, quoted) => {
    expect(quoteIdent(name)).toBe(quoted);
  });
  it('refuses empty and NUL names', () => {
    expect(() => quoteIdent('')).toThrow();
    expect(() => quoteIdent('a\u0000b')).toThrow();
  });
  it('qualifies', () => {
    expect(quoteQualified('sales data', 'order]lines')).toBe('[sales data].[order]]lines]');
  });
});

describe('nLiteral', () => {
  it('doubles quotes', () => {
    expect(nLiteral("o'brien")).toBe("N'o''brien'");
    expect(nLiteral('[dbo].[x]]y]')).toBe("N'[dbo].[x]]y]'");
  });
});
