// The change-source conformance suite against SQL Server's native change tracking. Runs only under
// vitest.mssql.config.ts (`npx vitest run -c vitest.mssql.config.ts`), whose global setup supplies
// MSSQL_URL or a testcontainers SQL Server, or skips with a printed notice. The error-contract cases
// need a login that may CREATE DATABASE, CREATE LOGIN, see other sessions (VIEW SERVER STATE) and
// KILL them (ALTER ANY CONNECTION): sa, as on a test container.
import { inject } from 'vitest';
import { changeSourceConformance } from '../change-source.conformance.ts';
import { sqlServerHarness } from '../../support/source-harness-sqlserver.ts';

const url = inject('mssqlUrl');
if (!url) console.warn(inject('mssqlSkipReason'));

changeSourceConformance({
  kind: 'sqlserver',
  harness: url ? () => sqlServerHarness(url) : null,
  skipReason: inject('mssqlSkipReason'),
});
