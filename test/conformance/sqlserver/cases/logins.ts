// Who may capture, and how: a login with exactly the grants `ctrelay ct enable --agent-user` prints
// (commit times need VIEW SERVER STATE: without it sys.dm_tran_commit_table shows only commits
// before the last CHECKPOINT), what it sees with less, what ct enable leaves alone on a database
// already tracked, and connections with encrypt=true. NOT RUN YET against a SQL Server.
import { beforeAll, describe, expect, it } from 'vitest';
import { hasSourceIdentity, hasStartupWarnings, type ChangeSource } from '../../../../src/core/change-source.ts';
import { isTransient, SourceError } from '../../../../src/core/errors.ts';
import type { TableMeta } from '../../../../src/core/model.ts';
import { nLiteral, quoteIdent } from '../../../../src/drivers/sqlserver/quote.ts';
import type { CaptureLogin } from '../../../support/source-harness.ts';
import { currentVersion, pollTable } from '../../../support/source-harness.ts';
import { inPoll, query, settle, useCaseDatabase, type SqlServerCaseContext } from './support.ts';

const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

const warningsOf = async (s: ChangeSource) => (hasStartupWarnings(s) ? s.startupWarnings() : []);

/** The URL with its query options replaced by `options`. */
function withOptions(url: string, options: Record<string, string>): string {
  const u = new URL(url);
  for (const [k, v] of Object.entries(options)) u.searchParams.set(k, v);
  return u.toString();
}

export function loginCases(ctx: () => SqlServerCaseContext): void {
  describe('SQL Server logins and connections', () => {
    // no table described by the case database's own source: each case connects as the login under test
    const cx = useCaseDatabase(ctx, 'ctr_login', { granted: 'id int NOT NULL PRIMARY KEY, v nvarchar(10) NULL' }, []);
    let login: CaptureLogin;

    beforeAll(async () => {
      login = await cx.db.createCaptureLogin([cx.t.granted]);
    });

    /** A write and one poll of it through a new source of `url`: its warnings and the change read. */
    async function captureAs(url: string, id: number) {
      const source = await cx.db.createSource(url);
      try {
        const [meta]: TableMeta[] = await source.describe([cx.t.granted.ref]);
        const v = await currentVersion(source);
        await cx.db.exec(`INSERT INTO dbo.granted (id, v) VALUES (${id}, N'x')`);
        const { rows } = await pollTable(source, meta, v);
        return { warnings: await warningsOf(source), rows, identity: await inPoll(source, async (s) => (hasSourceIdentity(s) ? s.sourceIdentity : null)) };
      } finally {
        await source.close();
      }
    }

    it('with the grants of ct enable: captures without warnings, with live commit times and the source identity', async () => {
      const r = await captureAs(login.url, 1);
      expect(r.warnings).toEqual([]);
      expect(r.rows.map((x) => [x.op, x.key])).toEqual([['I', { id: 1 }]]);
      // committed a moment ago, long before any CHECKPOINT: visible only with VIEW SERVER STATE
      expect(r.rows[0].commitTs).toMatch(ISO_UTC);
      expect(r.identity).toMatch(/^sqlserver:/);
    });

    it('without VIEW SERVER STATE: a startup warning, and capture runs on', async () => {
      await cx.db.exec(`EXEC master.sys.sp_executesql ${nLiteral(`REVOKE VIEW SERVER STATE FROM ${quoteIdent(login.name)};`)}`);
      const r = await captureAs(login.url, 2);
      expect(r.warnings).toEqual([expect.stringMatching(/lacks VIEW SERVER STATE/)]);
      expect(r.rows.map((x) => x.key)).toEqual([{ id: 2 }]);
    });

    it('without VIEW DATABASE STATE either: commit times off with a warning, never a failed change read', async () => {
      await cx.db.exec(`REVOKE VIEW DATABASE STATE FROM ${quoteIdent(login.name)}`);
      const r = await captureAs(login.url, 3);
      expect(r.warnings).toEqual([expect.stringMatching(/lacks VIEW DATABASE STATE/)]);
      expect(r.rows.map((x) => [x.key, x.commitTs])).toEqual([[{ id: 3 }, null]]);
    });

    it('ct enable on a database already tracked never shortens its retention nor switches its auto cleanup; a shorter retention is raised', async () => {
      const settings = async () => (await query<{ minutes: number; cleanup: boolean }>(cx.db.url, `SELECT retention_period * CASE retention_period_units WHEN 1 THEN 1 WHEN 2 THEN 60 ELSE 1440 END AS minutes,
        is_auto_cleanup_on AS cleanup FROM sys.change_tracking_databases WHERE database_id = DB_ID()`))[0];
      // the harness runs ct enable's batches with 1 day and AUTO_CLEANUP = ON
      await cx.db.exec(`ALTER DATABASE ${quoteIdent(cx.db.name)} SET CHANGE_TRACKING (CHANGE_RETENTION = 14 DAYS, AUTO_CLEANUP = OFF)`);
      await cx.db.enableTracking([cx.t.granted]);
      expect(await settings()).toEqual({ minutes: 14 * 1440, cleanup: false });
      await cx.db.exec(`ALTER DATABASE ${quoteIdent(cx.db.name)} SET CHANGE_TRACKING (CHANGE_RETENTION = 2 HOURS)`);
      await cx.db.enableTracking([cx.t.granted]);
      expect(await settings()).toEqual({ minutes: 1440, cleanup: false });
    });

    it('encrypt=true with trustServerCertificate=true: the connection is encrypted and captures', async () => {
      const url = withOptions(cx.db.url, { encrypt: 'true', trustServerCertificate: 'true' });
      const r = await captureAs(url, 4);
      expect(r.rows.map((x) => x.key)).toEqual([{ id: 4 }]);
      const [own] = await query<{ encrypt_option: string }>(url, 'SELECT encrypt_option FROM sys.dm_exec_connections WHERE session_id = @@SPID');
      expect(own.encrypt_option).toBe('TRUE');
    });

    it('encrypt=true without trusting the certificate: encrypted when this machine trusts it, else a permanent error naming the fix', async () => {
      const url = withOptions(cx.db.url, { encrypt: 'true', trustServerCertificate: 'false' });
      const err = await settle(cx.db.createSource(url).then((s) => s.close()));
      if (err === null) {
        const [own] = await query<{ encrypt_option: string }>(url, 'SELECT encrypt_option FROM sys.dm_exec_connections WHERE session_id = @@SPID');
        expect(own.encrypt_option).toBe('TRUE');
        return;
      }
      // a self-signed certificate (a test container's) must stop capture, not be retried for ever
      expect(err).toBeInstanceOf(SourceError);
      expect(isTransient(err), err.message).toBe(false);
      expect(err.message).toMatch(/TLS certificate was not accepted.*trustServerCertificate=true/);
    });
  });
}
