// Finding the rows that differ between two sides without shipping equal rows: the table is cut into
// key-ordered chunks (boundaries taken from the source), each chunk's count and checksum are
// computed inside both databases, and a chunk that differs is halved (bisection) until a range is
// small enough to list its row hashes, whose comparison names the differing keys.
import { keyText, type ChunkSum, type Key, type KeyRange, type SideSnapshot, type VerifyTable } from './side.ts';

export type DiffKind = 'missing' | 'extra' | 'different';

/** A key whose row differs between the snapshots it was found in (not yet settled: see settle.ts). */
export interface Candidate {
  key: Key;
  kind: DiffKind;
}

export interface BisectOptions {
  /** ranges with at most this many rows on each side are listed row by row */
  leafRows: number;
  /** counts every checksum query, for progress and tests */
  onQuery?: () => void;
}

function sameSum(a: ChunkSum, b: ChunkSum): boolean {
  return a.count === b.count && a.sum === b.sum;
}

/** The keys of `range` whose rows differ between `a` (the source) and `b` ([] when equal), and a's row count. */
export async function differingKeys(t: VerifyTable, a: SideSnapshot, b: SideSnapshot, range: KeyRange, opts: BisectOptions): Promise<{ found: Candidate[]; count: bigint }> {
  opts.onQuery?.();
  const [sa, sb] = await Promise.all([a.checksum(t, range), b.checksum(t, range)]);
  if (sameSum(sa, sb)) return { found: [], count: sa.count };
  return { found: await bisect(t, a, b, range, sa, sb, opts), count: sa.count };
}

async function bisect(t: VerifyTable, a: SideSnapshot, b: SideSnapshot, range: KeyRange, sa: ChunkSum, sb: ChunkSum, opts: BisectOptions): Promise<Candidate[]> {
  const larger = sa.count >= sb.count ? { side: a, count: sa.count } : { side: b, count: sb.count };
  if (larger.count <= BigInt(opts.leafRows)) return listDiff(t, a, b, range);
  // the middle key of the side holding more rows: both halves then hold fewer rows on that side
  const mid = await larger.side.keyAt(t, range.lo, Number(larger.count / 2n));
  if (mid === null) return listDiff(t, a, b, range);
  const halves: KeyRange[] = [
    { lo: range.lo, hi: mid },
    { lo: mid, hi: range.hi },
  ];
  const out: Candidate[] = [];
  for (const half of halves) {
    opts.onQuery?.();
    const [ha, hb] = await Promise.all([a.checksum(t, half), b.checksum(t, half)]);
    if (!sameSum(ha, hb)) out.push(...(await bisect(t, a, b, half, ha, hb, opts)));
  }
  return out;
}

async function listDiff(t: VerifyTable, a: SideSnapshot, b: SideSnapshot, range: KeyRange): Promise<Candidate[]> {
  const [ra, rb] = await Promise.all([a.rowHashes(t, range), b.rowHashes(t, range)]);
  const inB = new Map(rb.map((r) => [keyText(r.key), r]));
  const out: Candidate[] = [];
  for (const r of ra) {
    const id = keyText(r.key);
    const other = inB.get(id);
    if (!other) out.push({ key: r.key, kind: 'missing' });
    else if (other.hash !== r.hash) out.push({ key: r.key, kind: 'different' });
    inB.delete(id);
  }
  for (const r of inB.values()) out.push({ key: r.key, kind: 'extra' });
  return out;
}
