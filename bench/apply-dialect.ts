// Apply throughput of the standby dialects: upserts N rows of a 10-column table in transactions of
// T rows (each with its state row, as the applier does) and prints rows/s, median of 3 runs.
//   node --import tsx bench/apply-dialect.ts [rows=200000] [txnRows=5000]
// Each run starts from an empty table (pure inserts), then a second pass over the same keys
// measures updates. Uses throwaway databases on the local servers (PG_URL / MYSQL_URL).
import type { ColumnMeta, ColumnType, Row, TableMeta } from '../src/core/model.ts';
import { createDialect, type StandbyKind } from '../src/standby/create-dialect.ts';
import { createMariaDatabase, createPgDatabase } from '../test/support/db.ts';

const TOTAL = Number(process.argv[2] ?? 200_000);
const TXN = Number(process.argv[3] ?? 5_000);
const RUNS = 3;

const c = (name: string, type: ColumnType, nullable = true): ColumnMeta => ({ name, type, nullable, sourceType: type.kind });

function table(schema: string, name: string): TableMeta {
  return {
    schema,
    table: name,
    key: ['id'],
    columns: [
      c('id', { kind: 'int64' }, false),
      c('customer', { kind: 'int32' }),
      c('name', { kind: 'string', maxLength: 100 }),
      c('email', { kind: 'string', maxLength: 200 }),
      c('amount', { kind: 'decimal', precision: 18, scale: 2 }),
      c('ratio', { kind: 'float64' }),
      c('active', { kind: 'boolean' }),
      c('created', { kind: 'timestamp', precision: 6 }),
      c('ref', { kind: 'uuid' }),
      c('note', { kind: 'string' }),
    ],
  };
}

function makeRows(n: number, pass: number): Row[] {
  const rows: Row[] = new Array(n);
  for (let i = 0; i < n; i++) {
    rows[i] = {
      id: BigInt(i + 1),
      customer: (i * 7919) % 100_000,
      name: `customer ${i} pass ${pass}`,
      email: `user${i}@example.com`,
      amount: `${(i % 100_000) + pass}.${String(i % 100).padStart(2, '0')}`,
      ratio: i / 7,
      active: i % 3 === 0,
      created: `2024-01-${String((i % 28) + 1).padStart(2, '0')}T12:34:56.${String(i % 1_000_000).padStart(6, '0')}`,
      ref: `00000000-0000-4000-8000-${(i + pass).toString(16).padStart(12, '0')}`,
      note: i % 5 === 0 ? null : `note ${'n'.repeat(i % 40)}`,
    };
  }
  return rows;
}

async function applyAll(kind: StandbyKind, url: string, t: TableMeta, rows: Row[]): Promise<number> {
  const d = createDialect(kind, url);
  await d.connect();
  try {
    await d.ensureStateTable();
    await d.ensureTable(t);
    const start = performance.now();
    for (let i = 0, seq = 1n; i < rows.length; i += TXN, seq++) {
      const tx = await d.begin();
      await tx.upsert(t, rows.slice(i, i + TXN));
      await tx.writeState({ sourceId: 'bench', batchSeq: seq, version: seq, batchOffset: seq });
      await tx.commit();
    }
    return rows.length / ((performance.now() - start) / 1000);
  } finally {
    await d.close();
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function benchKind(kind: StandbyKind): Promise<void> {
  const inserts = makeRows(TOTAL, 0);
  const updates = makeRows(TOTAL, 1);
  const ins: number[] = [];
  const upd: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    const db = kind === 'postgres' ? await createPgDatabase('ctr_bench') : await createMariaDatabase('ctr_bench');
    try {
      const t = table(kind === 'postgres' ? 'bench' : db.name, 'orders');
      ins.push(await applyAll(kind, db.url, t, inserts));
      upd.push(await applyAll(kind, db.url, t, updates));
    } finally {
      await db.drop();
    }
  }
  const fmt = (xs: number[]) => `${Math.round(median(xs)).toLocaleString('en')} rows/s (runs: ${xs.map((x) => Math.round(x)).join(', ')})`;
  console.log(`${kind.padEnd(8)} insert ${fmt(ins)}`);
  console.log(`${kind.padEnd(8)} update ${fmt(upd)}`);
}

console.log(`${TOTAL} rows, 10 columns, ${TXN} rows per transaction, median of ${RUNS}`);
for (const kind of ['postgres', 'mariadb'] as const) await benchKind(kind);
