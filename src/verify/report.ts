// What `ctrelay verify` prints and writes: one line per table on the terminal, every difference
// named by table, key and columns, a JSON report for machines and a Prometheus text file for the
// node exporter's textfile collector.
import type { TableResult } from './verify-table.ts';
import { keyText } from './side.ts';

export interface VerifyReport {
  source: string;
  standby: string;
  startedAt: string;
  ms: number;
  equal: boolean;
  tables: {
    table: string;
    rows: string;
    chunks: number;
    candidates: number;
    differences: number;
    missingOnStandby: boolean;
    unsettled: string[];
    notCompared: string[];
    examples: { key: string; kind: string; columns: string[]; source: (string | null)[] | null; standby: (string | null)[] | null }[];
    ms: number;
  }[];
}

/** differences printed per table on the terminal, and named per table in the JSON report */
const MAX_LINES = 20;
const MAX_EXAMPLES = 1000;

export function buildReport(source: string, standby: string, startedAt: Date, results: { result: TableResult; notCompared: string[] }[]): VerifyReport {
  const tables = results.map(({ result: r, notCompared }) => ({
    table: r.table,
    rows: r.rows.toString(),
    chunks: r.chunks,
    candidates: r.candidates,
    differences: r.differenceCount,
    missingOnStandby: r.missingOnStandby,
    unsettled: r.unsettled.map(keyText),
    notCompared,
    // the JSON names at most MAX_EXAMPLES differences per table; `differences` counts them all
    examples: r.differences.slice(0, MAX_EXAMPLES).map((d) => ({ key: keyText(d.key), kind: d.kind, columns: d.columns, source: d.source ? [...d.source] : null, standby: d.standby ? [...d.standby] : null })),
    ms: r.ms,
  }));
  return {
    source,
    standby,
    startedAt: startedAt.toISOString(),
    ms: Date.now() - startedAt.getTime(),
    equal: tables.every((t) => t.differences === 0 && t.unsettled.length === 0),
    tables,
  };
}


export function formatReport(r: VerifyReport): string {
  const lines: string[] = [];
  for (const t of r.tables) {
    const rate = t.ms > 0 ? Math.round((Number(t.rows) * 1000) / t.ms) : 0;
    if (t.missingOnStandby) {
      lines.push(`${t.table}: MISSING on the standby (${t.rows} source rows)`);
      continue;
    }
    const verdict = t.differences > 0 ? `${t.differences} DIFFERENT` : t.unsettled.length > 0 ? `NOT PROVEN: ${t.unsettled.length} row(s) kept changing` : 'equal';
    lines.push(`${t.table}: ${verdict} (${t.rows} rows, ${t.chunks} chunks, ${rate} rows/s${t.candidates > t.differences ? `, ${t.candidates - t.differences} in flight settled` : ''})`);
    for (const d of t.examples.slice(0, MAX_LINES)) {
      const what = d.kind === 'missing' ? 'missing on the standby' : d.kind === 'extra' ? 'extra on the standby' : `different in ${d.columns.join(', ')}`;
      lines.push(`  key ${d.key}: ${what}`);
    }
    if (t.examples.length > MAX_LINES) lines.push(`  … ${t.examples.length - MAX_LINES} more in the JSON report (--json)`);
    if (t.unsettled.length > 0) lines.push(`  kept changing faster than the standby applied them: ${t.unsettled.slice(0, 5).join(', ')}${t.unsettled.length > 5 ? ', …' : ''}`);
    if (t.notCompared.length > 0) lines.push(`  not compared (standby.tables options): ${t.notCompared.join(', ')}`);
  }
  const diff = r.tables.reduce((n, t) => n + t.differences, 0);
  lines.push(r.equal ? `verify: the standby ${r.standby} equals the source (${r.tables.length} tables, ${(r.ms / 1000).toFixed(1)} s)` : `verify: ${diff} difference(s) between the source and the standby ${r.standby}`);
  return lines.join('\n') + '\n';
}

/** Prometheus text exposition of the last verify, for node_exporter's textfile collector. */
export function formatMetrics(r: VerifyReport): string {
  const rows = r.tables.reduce((n, t) => n + Number(t.rows), 0);
  const diff = r.tables.reduce((n, t) => n + t.differences, 0);
  const label = `standby="${r.standby.replace(/["\\\n]/g, '_')}"`;
  return [
    '# HELP ctrelay_verify_rows_checked Source rows compared by the last verify.',
    '# TYPE ctrelay_verify_rows_checked gauge',
    `ctrelay_verify_rows_checked{${label}} ${rows}`,
    '# HELP ctrelay_verify_differences Rows that differ between source and standby in the last verify.',
    '# TYPE ctrelay_verify_differences gauge',
    `ctrelay_verify_differences{${label}} ${diff}`,
    '# HELP ctrelay_verify_duration_seconds Duration of the last verify.',
    '# TYPE ctrelay_verify_duration_seconds gauge',
    `ctrelay_verify_duration_seconds{${label}} ${(r.ms / 1000).toFixed(3)}`,
    '# HELP ctrelay_verify_last_run_timestamp_seconds When the last verify started.',
    '# TYPE ctrelay_verify_last_run_timestamp_seconds gauge',
    `ctrelay_verify_last_run_timestamp_seconds{${label}} ${Math.floor(Date.parse(r.startedAt) / 1000)}`,
    '',
  ].join('\n');
}
