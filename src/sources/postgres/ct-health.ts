// The health of ctrelay's PostgreSQL change tracking that both `ct enable|status` and the source
// check: its event triggers (ct-sql.ts) and what an operator must know when they are missing.
import type pg from 'pg';
import { EVENT_TRIGGER_PROBLEMS_SQL } from './ct-sql.ts';

/**
 * What an operator must know when ctrelay's event triggers are missing: `missing` lists them with
 * their state (missing, or D/O/R: disabled, or not enabled ALWAYS).
 */
export function eventTriggerWarning(missing: string[]): string {
  return `ctrelay's event triggers are not in place (${missing.join(', ')}): installing them needs a superuser (or rds_superuser). ` +
    `Table tracking works, but a tracking trigger disabled and enabled again between two polls, and DDL that rewrites rows ` +
    `without DML (ALTER COLUMN ... TYPE ... USING, a column added with a volatile default) cannot be detected: changes made ` +
    `meanwhile would be missed by the standby. Run \`ctrelay ct enable\` as a superuser to install them`;
}

/** The ctrelay event triggers that are missing or not enabled ALWAYS, as "name: state". */
export async function eventTriggerProblems(c: pg.Client | pg.Pool | pg.PoolClient): Promise<string[]> {
  const r = await c.query(EVENT_TRIGGER_PROBLEMS_SQL);
  const states: Record<string, string> = { missing: 'missing', D: 'disabled', O: 'not ENABLE ALWAYS', R: 'enabled for replicas only' };
  return r.rows.map((x) => `${x.name}: ${states[x.state] ?? x.state}`);
}

