// The database-level rules of connect (database-checks.ts) over records shaped like
// DATABASE_PREREQUISITES_SQL's: what is refused, and what the login's grants mean for commit
// times and for telling a restore.
import { describe, expect, it } from 'vitest';
import { SourceError } from '../../core/errors.ts';
import { checkDatabase } from './database-checks.ts';
import { selectedNames } from './fixtures.test-util.ts';
import { DATABASE_PREREQUISITES_SQL } from './sql.ts';

const label = 'db1:1433/shop';
const ok = {
  change_tracking_on: true, snapshot_isolation_state: 1, snapshot_isolation_state_desc: 'ON',
  can_view_database_state: 1, can_view_server_state: 1, can_see_recovery_fork: true,
};

describe('checkDatabase', () => {
  it('reads what DATABASE_PREREQUISITES_SQL selects', () => {
    expect(selectedNames(DATABASE_PREREQUISITES_SQL)).toEqual(expect.arrayContaining(Object.keys(ok)));
    expect(DATABASE_PREREQUISITES_SQL).toContain("HAS_PERMS_BY_NAME(NULL, NULL, N'VIEW SERVER STATE') AS can_view_server_state");
    expect(DATABASE_PREREQUISITES_SQL).toContain("HAS_PERMS_BY_NAME(DB_NAME(), N'DATABASE', N'VIEW DATABASE STATE') AS can_view_database_state");
    expect(DATABASE_PREREQUISITES_SQL).toContain('LEFT JOIN sys.database_recovery_status AS drs ON drs.database_id = d.database_id');
  });

  it('a fully granted login: snapshot polls, commit times as configured, nothing to warn about', () => {
    expect(checkDatabase(ok, label, {})).toEqual({ snapshot: true, commitTime: 'utc', warnings: [] });
    expect(checkDatabase(ok, label, { commitTime: 'server-local' }).commitTime).toBe('server-local');
  });

  it('refuses a database without change tracking or snapshot isolation, naming it and the fix', () => {
    expect(() => checkDatabase({ ...ok, change_tracking_on: false }, label, {})).toThrow(SourceError);
    expect(() => checkDatabase(undefined, label, {})).toThrow(/change tracking is not enabled on database db1:1433\/shop/);
    expect(() => checkDatabase({ ...ok, snapshot_isolation_state: 0, snapshot_isolation_state_desc: 'OFF' }, label, {})).toThrow(/snapshot isolation is OFF on database db1:1433\/shop: ALTER DATABASE/);
    expect(checkDatabase({ ...ok, snapshot_isolation_state: 0 }, label, { allowNonSnapshot: true }).snapshot).toBe(false);
  });

  it('without VIEW SERVER STATE: commit times still read, with a warning that recent ones are null', () => {
    const c = checkDatabase({ ...ok, can_view_server_state: 0 }, label, {});
    expect(c.commitTime).toBe('utc');
    expect(c.warnings).toEqual([expect.stringMatching(/db1:1433\/shop: the login lacks VIEW SERVER STATE, .*last CHECKPOINT: recent events carry commit_ts null .*GRANT VIEW SERVER STATE/)]);
  });

  it('without VIEW DATABASE STATE: commit times off (the DMV read would fail every change read), with a warning', () => {
    const c = checkDatabase({ ...ok, can_view_database_state: 0, can_view_server_state: 0 }, label, {});
    expect(c.commitTime).toBe('off');
    expect(c.warnings).toEqual([expect.stringMatching(/lacks VIEW DATABASE STATE, so events carry no commit_ts .*GRANT VIEW DATABASE STATE/)]);
  });

  it('commitTime off needs neither grant and warns about neither', () => {
    expect(checkDatabase({ ...ok, can_view_database_state: 0, can_view_server_state: 0 }, label, { commitTime: 'off' }).warnings).toEqual([]);
  });

  it('warns when the login cannot see the recovery fork: a restore could not be told', () => {
    const c = checkDatabase({ ...ok, can_see_recovery_fork: false }, label, {});
    expect(c.warnings).toEqual([expect.stringMatching(/cannot see this database in sys\.database_recovery_status, so capture cannot tell a restore .*VIEW ANY DATABASE/)]);
  });
});
