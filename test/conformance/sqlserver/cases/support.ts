// What the SQL Server-only conformance cases (./*.ts, run by ../conformance-sqlserver.mssql-test.ts)
// share: a harness database per case group, tables declared in raw T-SQL (types the neutral
// TableSpec cannot name), queries whose results the cases compare with, and paging helpers.
// NOT RUN YET against a SQL Server (none was reachable where this was written).
import sql from 'mssql';
import { afterAll, beforeAll } from 'vitest';
import type { ChangeRow, ChangeSource, PollSession } from '../../../../src/core/change-source.ts';
import type { TableMeta } from '../../../../src/core/model.ts';
import { parseSqlServerUrl } from '../../../../src/drivers/sqlserver/url.ts';
import { HARNESS_APPLICATION_NAME, type HarnessDatabase, type HarnessTable, type SourceHarness } from '../../../support/source-harness.ts';

/** What every case group gets from the runner (available inside hooks and tests, not at collection). */
export interface SqlServerCaseContext {
  /** the server URL (a login that may CREATE DATABASE, CREATE LOGIN, BACKUP, RESTORE, KILL: sa) */
  readonly url: string;
  readonly harness: SourceHarness;
}

/** A table created with raw DDL, as the harness functions that only need its name take it. */
export async function rawTable(db: HarnessDatabase, name: string, columnsDdl: string): Promise<HarnessTable> {
  await db.exec(`CREATE TABLE [${db.schema}].[${name}] (${columnsDdl})`);
  return { ref: { schema: db.schema, table: name }, spec: { name, columns: [], key: [] } };
}

/** A case group's database: its tables (by name), tracked, and a connected source that described them. */
export interface CaseDatabase {
  db: HarnessDatabase;
  source: ChangeSource;
  t: Record<string, HarnessTable>;
  m: Record<string, TableMeta>;
}

/**
 * Registers the hooks of a case group: a throwaway database (name prefix `prefix`) with `tables`
 * (name -> column DDL), change tracking on them, and a source that described those named in
 * `described` (default all). The fields are filled when the group's tests run.
 */
export function useCaseDatabase(ctx: () => SqlServerCaseContext, prefix: string, tables: Record<string, string>, described = Object.keys(tables)): CaseDatabase {
  const c = { t: {}, m: {} } as CaseDatabase;
  beforeAll(async () => {
    c.db = await ctx().harness.createDatabase(prefix);
    for (const [name, ddl] of Object.entries(tables)) c.t[name] = await rawTable(c.db, name, ddl);
    await c.db.enableTracking(Object.values(c.t));
    c.source = await c.db.createSource();
    if (described.length > 0) for (const meta of await c.source.describe(described.map((n) => c.t[n].ref))) c.m[meta.table] = meta;
  });
  afterAll(async () => {
    await c.source?.close().catch(() => undefined);
    await c.db?.drop();
  });
  return c;
}

/** Runs a batch on `url` (its database) on a connection of the harness's own, and returns its rows. */
export async function query<T = Record<string, unknown>>(url: string, batch: string): Promise<T[]> {
  const config = parseSqlServerUrl(url).config;
  const pool = await new sql.ConnectionPool({ ...config, options: { ...config.options, appName: HARNESS_APPLICATION_NAME }, pool: { min: 0, max: 1 } }).connect();
  try {
    return ((await pool.request().batch(batch)).recordset ?? []) as T[];
  } finally {
    await pool.close();
  }
}

/** Every change of the window (since, V] of one poll, page by page, each page strictly after the last row of the one before. */
export async function pages(s: PollSession, meta: TableMeta, since: bigint, size: number): Promise<ChangeRow[][]> {
  const out: ChangeRow[][] = [];
  for (let after: ChangeRow | null = null; ;) {
    const page = await s.changes(meta, since, after && { version: after.version, key: after.key }, size);
    if (page.length === 0) return out;
    out.push(page);
    after = page[page.length - 1];
  }
}

/** Runs `fn` in one poll of `source`, ending the poll whatever happens. */
export async function inPoll<T>(source: ChangeSource, fn: (s: PollSession) => Promise<T>): Promise<T> {
  const s = await source.beginPoll();
  try {
    return await fn(s);
  } finally {
    await s.end().catch(() => undefined);
  }
}

/** The error a promise rejects with, or null when it resolves. */
export async function settle(p: Promise<unknown>): Promise<Error | null> {
  return p.then(() => null, (err: unknown) => err as Error);
}
