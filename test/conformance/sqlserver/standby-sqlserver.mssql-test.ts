// The standby-dialect conformance suite (test/conformance/standby-dialect.conformance.ts) against
// SQL Server, through src/standby/sqlserver/. Runs only under vitest.mssql.config.ts
// (`npm run test:mssql`), whose global setup supplies MSSQL_URL or a testcontainers SQL Server, or
// skips with a printed notice.
import { inject } from 'vitest';
import { standbyDialectConformance } from '../standby-dialect.conformance.ts';
import { sqlServerStandbyHarness } from '../../support/standby-harness-sqlserver.ts';

const url = inject('mssqlUrl');
if (!url) console.warn(inject('mssqlSkipReason'));

standbyDialectConformance({
  kind: 'sqlserver',
  harness: url ? () => sqlServerStandbyHarness(url) : null,
  skipReason: inject('mssqlSkipReason'),
});
