// The change-source conformance suite against SQL Server's native change tracking, and the cases
// only SQL Server has (./cases/: its types, column masks, a 100,000-row window, restores, least-
// privilege logins, TLS). Runs only under vitest.mssql.config.ts (`npm run test:mssql`), whose
// global setup supplies MSSQL_URL or a testcontainers SQL Server, or skips with a printed notice.
// The error-contract, restore and login cases need a login that may CREATE DATABASE, CREATE LOGIN,
// BACKUP and RESTORE, grant server permissions, see other sessions (VIEW SERVER STATE) and KILL
// them (ALTER ANY CONNECTION): sa, as on a test container.
// NOT RUN YET against a SQL Server: none was reachable where these cases were written.
import { afterAll, beforeAll, describe, inject } from 'vitest';
import { changeSourceConformance } from '../change-source.conformance.ts';
import { sqlServerHarness } from '../../support/source-harness-sqlserver.ts';
import type { SourceHarness } from '../../support/source-harness.ts';
import { captureCases } from './cases/capture.ts';
import { loginCases } from './cases/logins.ts';
import { restoreCases } from './cases/restore.ts';
import type { SqlServerCaseContext } from './cases/support.ts';
import { typeCases } from './cases/types.ts';

const url = inject('mssqlUrl');
const skipReason = inject('mssqlSkipReason');
if (!url) console.warn(skipReason);

changeSourceConformance({
  kind: 'sqlserver',
  harness: url ? () => sqlServerHarness(url) : null,
  skipReason,
});

const suite = url ? describe : describe.skip;

suite(url ? 'SQL Server only' : `SQL Server only (skipped: ${skipReason})`, () => {
  let harness: SourceHarness | null = null;
  const ctx = (): SqlServerCaseContext => {
    if (!harness) throw new Error('the SQL Server harness is not set up');
    return { url, harness };
  };

  beforeAll(() => {
    harness = sqlServerHarness(url);
  });

  afterAll(async () => {
    await harness?.close();
  });

  typeCases(ctx);
  captureCases(ctx);
  restoreCases(ctx);
  loginCases(ctx);
});
