import { describe, expect, it } from 'vitest';
import { afterPredicate } from './keyset.ts';

describe('afterPredicate: strictly after a position, lexicographically', () => {
  // evaluates the predicate in JavaScript for every pair of tuples over {0, 1, 2}
  function evaluate(n: number): void {
    const cols = ['a', 'b', 'c'].slice(0, n);
    const predicate = afterPredicate(cols, cols.map((_, i) => `@p${i}`));
    const js = predicate.replace(/@p(\d)/g, 'p[$1]').replace(/\b([abc])\b/g, (_m, c: string) => `x[${cols.indexOf(c)}]`)
      .replaceAll(' = ', ' === ').replaceAll(' OR ', ' || ').replaceAll(' AND ', ' && ');
    const holds = new Function('x', 'p', `return ${js};`) as (x: number[], p: number[]) => boolean;
    const tuples = Array.from({ length: 3 ** n }, (_, k) => cols.map((_c, i) => Math.floor(k / 3 ** i) % 3));
    for (const x of tuples) {
      for (const p of tuples) {
        const i = x.findIndex((v, j) => v !== p[j]);
        expect(holds(x, p), `${predicate} for x=${x} p=${p}`).toBe(i >= 0 && x[i] > p[i]);
      }
    }
  }
  it.each([1, 2, 3])('%i column(s)', (n) => evaluate(n));
  it('rejects mismatched lists', () => {
    expect(() => afterPredicate(['a', 'b'], ['@0'])).toThrow();
    expect(() => afterPredicate([], [])).toThrow();
  });
});
