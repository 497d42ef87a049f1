// The database-level rules of SqlServerSource.connect, as a pure function of the record of
// DATABASE_PREREQUISITES_SQL, so that every outcome and message is unit-tested: change tracking
// and snapshot isolation (refused when off), and what the login's grants mean for commit times and
// for telling a restore (warned at start, capture runs on).
import { SourceError } from '../../core/errors.ts';
import type { CommitTimeMode } from './sql.ts';

export interface DatabaseChecks {
  /** poll in SNAPSHOT isolation (else the READ COMMITTED fallback) */
  snapshot: boolean;
  /** how commit times are read: the configured mode, or 'off' when the login cannot read them at all */
  commitTime: CommitTimeMode;
  /** what the operator should know (capture logs each as a warning at start) */
  warnings: string[];
}

function truthy(v: unknown): boolean {
  return v === true || v === 1;
}

export function checkDatabase(
  rec: Record<string, unknown> | undefined, label: string, options: { allowNonSnapshot?: boolean; commitTime?: CommitTimeMode },
): DatabaseChecks {
  if (!rec || !truthy(rec.change_tracking_on)) {
    throw new SourceError(
      `change tracking is not enabled on database ${label}: ALTER DATABASE ... SET CHANGE_TRACKING = ON (CHANGE_RETENTION = 7 DAYS, AUTO_CLEANUP = ON), or run \`ctrelay ct enable\``,
    );
  }
  const snapshot = rec.snapshot_isolation_state === 1;
  if (!snapshot && !options.allowNonSnapshot) {
    throw new SourceError(
      `snapshot isolation is ${String(rec.snapshot_isolation_state_desc ?? 'OFF')} on database ${label}: ALTER DATABASE ... SET ALLOW_SNAPSHOT_ISOLATION ON ` +
        `(or set source.allowNonSnapshot: true to accept polls that are not one consistent snapshot)`,
    );
  }
  const warnings: string[] = [];
  let commitTime = options.commitTime ?? 'utc';
  if (commitTime !== 'off') {
    // sys.dm_tran_commit_table is a database-scoped DMV: without VIEW DATABASE STATE reading it
    // fails, which would fail every change read; capture runs on without commit times instead
    if (!truthy(rec.can_view_database_state)) {
      commitTime = 'off';
      warnings.push(
        `SQL Server source ${label}: the login lacks VIEW DATABASE STATE, so events carry no commit_ts and lag in seconds is not measured ` +
          '(GRANT VIEW DATABASE STATE TO <agent user> in the source database, or run `ctrelay ct enable --agent-user`)',
      );
    } else if (!truthy(rec.can_view_server_state)) {
      warnings.push(
        `SQL Server source ${label}: the login lacks VIEW SERVER STATE, so sys.dm_tran_commit_table shows it only commits older than the database's last CHECKPOINT: ` +
          'recent events carry commit_ts null and lag in seconds reads low (GRANT VIEW SERVER STATE TO <agent login>, in master; not available on Azure SQL Database)',
      );
    }
  }
  if (!truthy(rec.can_see_recovery_fork)) {
    warnings.push(
      `SQL Server source ${label}: the login cannot see this database in sys.database_recovery_status, so capture cannot tell a restore of the database ` +
        'from its version numbers (a restore followed by more writes than were lost would go unnoticed): GRANT VIEW ANY DATABASE TO <agent login> ' +
        '(public has it unless it was revoked)',
    );
  }
  return { snapshot, commitTime, warnings };
}
