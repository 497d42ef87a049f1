import { defineConfig } from 'vitest/config';

// The SQL Server run: `npx vitest run -c vitest.mssql.config.ts`. Separate from vitest.config.ts so
// that the default run never needs a SQL Server; its files end in .mssql-test.ts, which the default
// projects' *.test.ts patterns do not match. The global setup uses MSSQL_URL, else a testcontainers
// SQL Server when a Docker engine answers, else every test skips with a printed notice (exit 0).
export default defineConfig({
  test: {
    name: 'mssql',
    include: ['test/conformance/sqlserver/**/*.mssql-test.ts'],
    globalSetup: ['test/conformance/sqlserver/global-setup.ts'],
    fileParallelism: false,
    // the cleanup case (MSSQL_CT_CLEANUP_TEST=1) waits ~75 s; the first image pull takes minutes
    testTimeout: 300_000,
    hookTimeout: 600_000,
  },
});
