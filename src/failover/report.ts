// The lines `ctrelay promote` prints: what the promoted standby holds, what may be lost, and how long it took.
import type { PromoteReport } from './promote.ts';

export function formatPromoteReport(r: PromoteReport): string {
  const lines = [
    `promoted: standby ${r.standbyId} is the primary now (${r.kind}, ${r.ms} ms)`,
    `  holds source ${r.sourceId} up to version ${r.promotedVersion} (batch ${r.promotedBatch}${r.promotedCommitAt ? `, committed at the source ${r.promotedCommitAt}` : ''})`,
  ];
  const after = r.sourceVersionAfter === null ? null : BigInt(r.sourceVersionAfter);
  if (after !== null && after > BigInt(r.promotedVersion)) {
    lines.push(`  LOST: the source is at version ${after}, beyond the promoted ${r.promotedVersion}: those changes are not on the promoted standby (ctrelay lost-changes lists them)`);
  } else if (after !== null) {
    lines.push(`  nothing lost: the source is at version ${after}${r.verified ? ', and verify found the standby equal to it' : ''}`);
  } else {
    lines.push('  what the source committed after that version is not on the promoted standby (ctrelay lost-changes lists it once the source answers)');
  }
  if (r.kind === 'forced') lines.push('  the source was not asked for its sequences: counters were moved past the largest replicated values only');
  if (r.demoted) lines.push(`  source database ${r.demoted.database} demoted: new sessions read-only, ${r.demoted.terminated} application session(s) ended`);
  for (const s of r.sequences) lines.push(`  ${s.table}.${s.column}: ${s.sequence} next value ${s.next}${s.before !== null ? ` (was ${s.before})` : ''}`);
  lines.push('  capture and the applier of this pipeline are fenced: they stop and refuse to start again');
  for (const s of r.steps) lines.push(`  ${String(s.ms).padStart(7)} ms  ${s.step}`);
  return lines.join('\n') + '\n';
}
