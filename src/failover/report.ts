// The lines `ctrelay promote` prints: what the promoted standby holds, what may be lost, and how long it took.
import type { PromoteReport } from './promote.ts';

export function formatPromoteReport(r: PromoteReport): string {
  const lines = [
    `promoted: standby ${r.standbyId} is the primary now (${r.kind}, ${r.ms} ms)`,
    `  holds source ${r.sourceId} up to version ${r.promotedVersion} (batch ${r.promotedBatch}${r.promotedCommitAt ? `, committed at the source ${r.promotedCommitAt}` : ''})`,
  ];
  if (r.kind === 'planned') {
    const after = r.sourceVersionAfter === null ? null : BigInt(r.sourceVersionAfter);
    const moved = after !== null && r.cutVersion !== null && after > BigInt(r.cutVersion);
    lines.push(moved
      ? `  LOST: the source moved on to version ${after} after the cut at ${r.cutVersion}; those changes are not on the promoted standby`
      : `  nothing lost: the source was at version ${r.cutVersion} when the standby reached it${r.verified ? ', and verify found them equal' : ''}`);
  } else {
    lines.push('  changes the source committed after that version are not on the promoted standby');
  }
  if (r.demoted) lines.push(`  source database ${r.demoted.database} demoted: new sessions read-only, ${r.demoted.terminated} application session(s) ended`);
  for (const s of r.sequences) lines.push(`  ${s.table}.${s.column}: ${s.sequence} next value ${s.next}${s.before !== null ? ` (was ${s.before})` : ''}`);
  lines.push('  capture and the applier of this pipeline are fenced: they stop and refuse to start again');
  for (const s of r.steps) lines.push(`  ${String(s.ms).padStart(7)} ms  ${s.step}`);
  return lines.join('\n') + '\n';
}
