// The drill's report as Markdown (for the run book) and its one-line summary.
import type { DrillReport } from './drill.ts';

const secs = (s: number) => `${s.toFixed(3)} s`;
const verdict = (met: boolean | null) => (met === null ? 'no objective' : met ? 'met' : '**MISSED**');

export function drillSummary(r: DrillReport): string {
  return `drill ${r.kind} (${r.mode}): RPO ${r.rpo.changes} change(s), ${secs(r.rpo.seconds)}; RTO ${secs(r.rto.seconds)}; ` +
    `${r.rpo.acknowledgedLost ? 'an ACKNOWLEDGED write was lost; ' : ''}objectives ${r.met ? 'met' : 'MISSED'}\n`;
}

export function drillMarkdown(r: DrillReport): string {
  const p = r.promote;
  const rows = Object.entries(r.rpo.perTable).map(([t, n]) => `| ${t} | ${n} |`);
  return [
    `# Failover drill: ${r.kind}, ${r.mode} mode`,
    '',
    `Source \`${r.sourceId}\` → standby \`${r.standbyId}\`; cut at ${r.cut.at} (source clock), source version ${r.cut.version}.`,
    '',
    '| | measured | objective | |',
    '|---|---|---|---|',
    `| RPO | ${r.rpo.changes} change(s), ${secs(r.rpo.seconds)} | ${r.objectives.rpoSeconds === null ? '—' : secs(r.objectives.rpoSeconds)} | ${verdict(r.objectives.rpoMet)} |`,
    `| RTO | ${secs(r.rto.seconds)} | ${r.objectives.rtoSeconds === null ? '—' : secs(r.objectives.rtoSeconds)} | ${verdict(r.objectives.rtoMet)} |`,
    '',
    `The promoted standby holds source version ${p.promotedVersion} (batch ${p.promotedBatch}${p.promotedCommitAt ? `, committed ${p.promotedCommitAt}` : ''}).`,
    r.rpo.acknowledgedVersion === null
      ? 'No standby acknowledgement was on the acks topic.'
      : `Newest acknowledged version: ${r.rpo.acknowledgedVersion}: ${r.rpo.acknowledgedLost ? '**an acknowledged write is missing on the promoted standby**' : 'every acknowledged write is on the promoted standby'}.`,
    '',
    ...(rows.length ? ['Changes lost (committed by the cut, not on the promoted standby), counted from the source\'s change tracking:', '', '| table | changed keys |', '|---|---|', ...rows, ''] : ['Nothing committed by the cut is missing on the promoted standby.', '']),
    '## Timeline',
    '',
    ...r.timeline.map((t) => `- ${t.at} ${t.event}`),
    '',
    '## Promotion steps',
    '',
    ...p.steps.map((s) => `- ${s.ms} ms: ${s.step}`),
    '',
    `Result: ${r.met ? 'objectives met' : '**objectives missed**'}.`,
    '',
  ].join('\n');
}
