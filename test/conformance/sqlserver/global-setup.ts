// globalSetup of vitest.mssql.config.ts: finds a SQL Server for the SQL Server conformance run.
//   1. MSSQL_URL (mssql://user:pass@host:port/db?encrypt=false&trustServerCertificate=true): used as
//      is; it must answer, and its login must be allowed to CREATE DATABASE.
//   2. else, when a Docker engine answers (testcontainers' runtime detection: DOCKER_HOST, the
//      docker socket, ~/.testcontainers.properties, ...): a throwaway
//      mcr.microsoft.com/mssql/server:2022-latest container, stopped at teardown.
//   3. else nothing: every test skips and this prints SKIP_NOTICE. The run still exits 0.
import type { TestProject } from 'vitest/node';
import { randomBytes } from 'node:crypto';
import sql from 'mssql';
import { GenericContainer, getContainerRuntimeClient, Wait, type StartedTestContainer } from 'testcontainers';
import { redactUrl, scrubSecret } from '../../../src/core/redact.ts';
import { parseSqlServerUrl } from '../../../src/drivers/sqlserver/url.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** the SQL Server to test against; '' = none (skip) */
    mssqlUrl: string;
    /** why there is none */
    mssqlSkipReason: string;
  }
}

export const SKIP_NOTICE = 'SQL Server conformance skipped: set MSSQL_URL or run a Docker engine';
const IMAGE = process.env.MSSQL_IMAGE ?? 'mcr.microsoft.com/mssql/server:2022-latest';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function answers(url: string): Promise<string | null> {
  try {
    const pool = await new sql.ConnectionPool({ ...parseSqlServerUrl(url).config, connectionTimeout: 5_000 }).connect();
    try {
      await pool.request().batch('SELECT 1');
    } finally {
      await pool.close();
    }
    return null;
  } catch (err) {
    return scrubSecret((err as Error).message, parseSqlServerUrl(url).config.password);
  }
}

async function waitUntilAnswers(url: string, ms: number): Promise<void> {
  const end = Date.now() + ms;
  let last: string | null = 'not tried';
  while (Date.now() < end) {
    last = await answers(url);
    if (last === null) return;
    await sleep(1_000);
  }
  throw new Error(`SQL Server at ${redactUrl(url)} still does not answer after ${ms / 1000} s: ${last}`);
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const fromEnv = process.env.MSSQL_URL?.trim();
  if (fromEnv) {
    const why = await answers(fromEnv);
    if (why !== null) throw new Error(`MSSQL_URL ${redactUrl(fromEnv)} does not answer: ${why}`);
    console.log(`[mssql] using MSSQL_URL ${redactUrl(fromEnv)}`);
    project.provide('mssqlUrl', fromEnv);
    project.provide('mssqlSkipReason', '');
    return async () => {};
  }

  try {
    await getContainerRuntimeClient();
  } catch (err) {
    console.log(`\n${SKIP_NOTICE}\n  (no MSSQL_URL; testcontainers: ${(err as Error).message})\n`);
    project.provide('mssqlUrl', '');
    project.provide('mssqlSkipReason', SKIP_NOTICE);
    return async () => {};
  }

  // SQL Server's password policy: 8+ characters from at least three of upper, lower, digits, symbols
  const password = `Ctr-${randomBytes(9).toString('base64url')}-a1A`;
  console.log(`[mssql] starting ${IMAGE} through testcontainers (the first pull takes minutes)`);
  const container: StartedTestContainer = await new GenericContainer(IMAGE)
    .withEnvironment({ ACCEPT_EULA: 'Y', MSSQL_SA_PASSWORD: password, MSSQL_PID: 'Developer' })
    .withExposedPorts(1433)
    .withWaitStrategy(Wait.forLogMessage(/SQL Server is now ready for client connections/))
    .withStartupTimeout(300_000)
    .start();
  const url = `mssql://sa:${encodeURIComponent(password)}@${container.getHost()}:${container.getMappedPort(1433)}/master?encrypt=false&trustServerCertificate=true`;
  try {
    // the log line can come before the server accepts logins: wait for a real query
    await waitUntilAnswers(url, 120_000);
  } catch (err) {
    await container.stop().catch(() => undefined);
    throw err;
  }
  console.log(`[mssql] SQL Server container ready at ${redactUrl(url)}`);
  project.provide('mssqlUrl', url);
  project.provide('mssqlSkipReason', '');
  return async () => {
    await container.stop().catch((err: Error) => console.warn(`[mssql] stopping the container: ${err.message}`));
  };
}
