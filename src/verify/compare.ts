// Row-for-row comparison of a source table (read in one snapshot through its ChangeSource) and
// its standby copy (read through the dialect), through the same canonical values, so it works
// across engines. In memory: meant for the demo and for tests of modest tables; the chunked,
// hash-bisecting `verify` of DESIGN section 5 is a separate tool.
import { keyId } from '../core/batch.ts';
import type { ChangeSource } from '../core/change-source.ts';
import type { Row, TableMeta } from '../core/model.ts';
import type { StandbyDialect } from '../standby/dialect.ts';

export interface TableComparison {
  table: string;
  sourceRows: number;
  standbyRows: number;
  missing: number;
  extra: number;
  different: number;
  /** up to 5 example keys of each kind of difference */
  examples: string[];
}

const CHUNK = 20_000;

function encode(row: Row): string {
  return JSON.stringify(row, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v && v.type === 'Buffer' ? `x${Buffer.from(v.data).toString('hex')}` : v));
}

async function sourceRows(source: ChangeSource, meta: TableMeta): Promise<{ rows: Map<string, string>; version: bigint }> {
  const s = await source.beginPoll();
  const rows = new Map<string, string>();
  try {
    let after: Row | null = null;
    for (;;) {
      const chunk = await s.snapshotChunk(meta, after, CHUNK);
      for (const r of chunk) rows.set(keyId(r, meta.key), encode(r));
      if (chunk.length < CHUNK) break;
      after = chunk[chunk.length - 1];
    }
    return { rows, version: s.currentVersion };
  } finally {
    await s.end();
  }
}

export async function compareTable(source: ChangeSource, meta: TableMeta, dialect: StandbyDialect, target: TableMeta): Promise<TableComparison> {
  const src = (await sourceRows(source, meta)).rows;
  const result: TableComparison = { table: `${meta.schema}.${meta.table}`, sourceRows: src.size, standbyRows: 0, missing: 0, extra: 0, different: 0, examples: [] };
  const seen = new Set<string>();
  let after: Row | null = null;
  for (;;) {
    const chunk = await dialect.scan(target, after, CHUNK);
    for (const r of chunk) {
      result.standbyRows++;
      const id = keyId(r, meta.key);
      seen.add(id);
      const expected = src.get(id);
      // compare only the source's columns: a standby may keep columns the source dropped
      const projected: Row = {};
      for (const c of meta.columns) projected[c.name] = r[c.name] ?? null;
      if (expected === undefined) {
        result.extra++;
        if (result.examples.length < 5) result.examples.push(`extra on standby: ${encode(keyOf(meta, r))}`);
      } else if (expected !== encode(projected)) {
        result.different++;
        if (result.examples.length < 5) result.examples.push(`differs: ${encode(keyOf(meta, r))}`);
      }
    }
    if (chunk.length < CHUNK) break;
    after = chunk[chunk.length - 1];
  }
  for (const id of src.keys()) {
    if (!seen.has(id)) {
      result.missing++;
      if (result.examples.length < 5) result.examples.push(`missing on standby: key ${JSON.stringify(id)}`);
    }
  }
  return result;
}

function keyOf(meta: TableMeta, row: Row): Row {
  const k: Row = {};
  for (const c of meta.key) k[c] = row[c];
  return k;
}

export function isConsistent(c: TableComparison): boolean {
  return c.missing === 0 && c.extra === 0 && c.different === 0;
}
