// The bisection and settling logic over in-memory sides (the SQL of each engine is tested against
// real databases in test/integration/verify-*.test.ts).
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { TableMeta } from '../core/model.ts';
import { differingKeys } from './bisect.ts';
import { settle } from './settle.ts';
import { keyText, verifyColumns, type CanonRow, type Key, type KeyRange, type SourceSnapshot, type VerifyTable } from './side.ts';

const meta: TableMeta = {
  schema: 's',
  table: 't',
  key: ['id'],
  columns: [
    { name: 'id', type: { kind: 'int64' }, nullable: false, sourceType: 'bigint' },
    { name: 'v', type: { kind: 'string' }, nullable: true, sourceType: 'text' },
  ],
};
const T: VerifyTable = { source: meta, columns: verifyColumns(meta), keyCount: 1 };

type Rows = Map<number, string | null>;
const id = (k: Key) => Number(k[0]);
const inRange = (n: number, r: KeyRange) => (r.lo === null || n > id(r.lo)) && (r.hi === null || n <= id(r.hi));
const hash = (n: number, v: string | null) => createHash('md5').update(`${n}|${v}`).digest('hex').slice(0, 15);

/** A side over a map of id -> v at a version; counts queries. */
class MemorySnapshot implements SourceSnapshot {
  queries = 0;
  constructor(private readonly rowsOf: Rows, readonly version: bigint, private readonly changes: Map<number, bigint> = new Map()) {}
  private sorted(r: KeyRange): [number, string | null][] {
    return [...this.rowsOf].filter(([n]) => inRange(n, r)).sort((x, y) => x[0] - y[0]);
  }
  async exists(): Promise<boolean> {
    return true;
  }
  async keyAt(_t: VerifyTable, lo: Key | null, offset: number): Promise<Key | null> {
    const row = this.sorted({ lo, hi: null })[offset - 1];
    return row ? [String(row[0])] : null;
  }
  async checksum(_t: VerifyTable, r: KeyRange) {
    this.queries++;
    const rows = this.sorted(r);
    return { count: BigInt(rows.length), sum: rows.reduce((s, [n, v]) => s + BigInt(`0x${hash(n, v)}`), 0n).toString() };
  }
  async rowHashes(_t: VerifyTable, r: KeyRange) {
    return this.sorted(r).map(([n, v]) => ({ key: [String(n)] as Key, hash: hash(n, v) }));
  }
  async rows(_t: VerifyTable, keys: readonly Key[]) {
    const out = new Map<string, CanonRow>();
    for (const k of keys) if (this.rowsOf.has(id(k))) out.set(keyText(k), [k[0], this.rowsOf.get(id(k))!]);
    return out;
  }
  async changedSince(_t: VerifyTable, since: bigint, keys: readonly Key[]) {
    return new Set(keys.filter((k) => (this.changes.get(id(k)) ?? -1n) > since).map(keyText));
  }
  async end(): Promise<void> {}
}

function table(n: number): Rows {
  return new Map(Array.from({ length: n }, (_x, i) => [i + 1, `v${i + 1}`]));
}

describe('differingKeys', () => {
  it('finds one changed, one missing and one extra row among 20,000 by bisection, without listing equal ranges', async () => {
    const src = table(20_000);
    const sb = new Map(src);
    sb.set(4711, 'changed');
    sb.delete(10_000);
    sb.set(20_001, 'extra');
    const a = new MemorySnapshot(src, 10n);
    const b = new MemorySnapshot(sb, 10n);
    const { found, count } = await differingKeys(T, a, b, { lo: null, hi: null }, { leafRows: 100 });
    expect(count).toBe(20_000n);
    expect(found.map((c) => `${c.kind}:${c.key[0]}`).sort()).toEqual(['different:4711', 'extra:20001', 'missing:10000']);
    // three paths of ~log2(20000/100) levels, one checksum pair per half: far from 200 leaves
    expect(a.queries).toBeLessThan(60);
  });

  it('returns nothing for equal ranges with one checksum per side', async () => {
    const a = new MemorySnapshot(table(1000), 1n);
    const b = new MemorySnapshot(table(1000), 1n);
    expect((await differingKeys(T, a, b, { lo: null, hi: null }, { leafRows: 10 })).found).toEqual([]);
    expect(a.queries).toBe(1);
  });
});

describe('settle', () => {
  const side = (snaps: MemorySnapshot[]) => ({ name: 'x', snapshot: async () => snaps.shift()!, close: async () => undefined });
  const key = (n: number): Key => [String(n)];

  it('drops a key the standby had not applied yet, reports one that did not change after the standby version', async () => {
    // key 1: in flight (changed at 12, standby at 11 then 13); key 2: a real difference (last changed at 5)
    const source = side([new MemorySnapshot(new Map([[1, 'b'], [2, 'x']]), 13n, new Map([[1, 12n], [2, 5n]]))]);
    const standby = side([new MemorySnapshot(new Map([[1, 'b'], [2, 'y']]), 13n)]);
    const r = await settle(T, [{ key: key(1), kind: 'different' }, { key: key(2), kind: 'different' }], 12n, source, standby, { attempts: 3, waitStandby: async () => true, lock: false });
    expect(r.differences.map((d) => [d.key[0], d.kind, d.columns])).toEqual([['2', 'different', ['v']]]);
    expect(r.unsettled).toEqual([]);
  });

  it('leaves a key that changes on every attempt unsettled, never equal', async () => {
    const snaps = (n: number, v: (i: number) => string, changedAt: (i: number) => bigint, version: (i: number) => bigint) =>
      Array.from({ length: n }, (_x, i) => new MemorySnapshot(new Map([[1, v(i)]]), version(i), new Map([[1, changedAt(i)]])));
    const source = side(snaps(3, (i) => `s${i}`, (i) => BigInt(20 + 2 * i), (i) => BigInt(20 + 2 * i)));
    const standby = side(snaps(3, (i) => `b${i}`, () => 0n, (i) => BigInt(19 + 2 * i)));
    const r = await settle(T, [{ key: key(1), kind: 'different' }], 18n, source, standby, { attempts: 3, waitStandby: async () => true, lock: false });
    expect(r.differences).toEqual([]);
    expect(r.unsettled).toEqual([key(1)]);
  });
});
