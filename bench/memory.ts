// Memory as the table grows: for each size in BENCH_MEMORY_ROWS, a fresh source table of that many
// rows (bench/support.ts's 10-column table) is snapshotted end to end by real `ctrelay capture` and
// `ctrelay apply` processes with default settings (bench/end-to-end.ts); prints the time and the
// peak RSS (VmHWM) of both processes. Aim: at most 256 MB each, flat as the table grows.
//
//   npm run bench:memory       BENCH_MEMORY_ROWS=1000000,10000000
import { createSource, ensureBroker, fmtRate, machineLine } from './support.ts';
import { snapshotEndToEnd } from './end-to-end.ts';

const SIZES = (process.env.BENCH_MEMORY_ROWS ?? '1000000,10000000').split(',').map(Number);

async function main(): Promise<void> {
  console.log(machineLine());
  console.log('memory: one snapshot end to end per size, default settings');
  await ensureBroker();
  console.log('\n| rows | time | rows/s | capture peak RSS | apply peak RSS |');
  console.log('|---|---|---|---|---|');
  for (const rows of SIZES) {
    const db = await createSource(rows);
    try {
      const r = await snapshotEndToEnd(db.url, rows);
      console.log(`| ${rows.toLocaleString('en')} | ${(r.ms / 1000).toFixed(1)} s | ${fmtRate(rows / (r.ms / 1000))} | ${r.captureRssMiB.toFixed(0)} MiB | ${r.applyRssMiB.toFixed(0)} MiB |`);
    } finally {
      await db.drop();
    }
  }
}

main().then(() => process.exit(0), (err) => {
  console.error(err);
  process.exit(1);
});
