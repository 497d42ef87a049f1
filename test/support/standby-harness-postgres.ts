// StandbyHarness for PostgreSQL: throwaway databases on the local PostgreSQL (test/support/db.ts),
// tables in the schema `standby` of each, a throwaway role for the permission case, and
// pg_terminate_backend for the dialect's sessions (application_name 'ctrelay-applier').
import pg from 'pg';
import { PostgresDialect } from '../../src/standby/postgres/postgres-dialect.ts';
import { quoteIdent } from '../../src/drivers/postgres/quote.ts';
import type { TableRef } from '../../src/core/model.ts';
import { createPgDatabase } from './db.ts';
import { waitUntilGone, withLogin, type StandbyDatabase, type StandbyHarness } from './standby-harness.ts';

const SCHEMA = 'standby';

async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

const qualified = (t: TableRef) => `${quoteIdent(t.schema)}.${quoteIdent(t.table)}`;

export function postgresStandbyHarness(): StandbyHarness {
  return {
    kind: 'postgres',
    limits: { subnormalFloats: true, trailingSpaceKeys: true, namesRefusedKey: true },
    unreachableUrl: (password) => `postgres://ctr:${encodeURIComponent(password)}@127.0.0.1:1/x`,
    async close() {},
    async createDatabase(prefix: string): Promise<StandbyDatabase> {
      const db = await createPgDatabase(prefix);
      const role = `${db.name}_ro`;
      let roleCreated = false;
      const exec = (statement: string) => withClient(db.url, (c) => c.query(statement)).then(() => undefined);
      const sessions = (kill: boolean) =>
        withClient(db.url, async (c) => {
          const r = await c.query<{ n: string }>(
            `SELECT count(${kill ? 'pg_terminate_backend(pid)' : '*'})::text AS n FROM pg_stat_activity
              WHERE datname = $1 AND application_name = 'ctrelay-applier' AND pid <> pg_backend_pid()`,
            [db.name],
          );
          return Number(r.rows[0].n);
        });
      return {
        name: db.name,
        url: db.url,
        schema: SCHEMA,
        hostileSchema: 'my "schema"; drop',
        createDialect: (url = db.url) => new PostgresDialect(url),
        exec,
        narrowColumnSql: (t, column, length) => `ALTER TABLE ${qualified(t)} ALTER COLUMN ${quoteIdent(column)} TYPE varchar(${length})`,
        async killDialectSessions() {
          const killed = await sessions(true);
          await waitUntilGone(() => sessions(false), 'dialect sessions');
          return killed;
        },
        async readOnlyUrl() {
          // trust authentication here: the role needs no password
          await exec(`CREATE ROLE ${quoteIdent(role)} LOGIN`);
          roleCreated = true;
          await exec(`GRANT USAGE ON SCHEMA ${quoteIdent(SCHEMA)} TO ${quoteIdent(role)}`);
          await exec(`GRANT SELECT ON ALL TABLES IN SCHEMA ${quoteIdent(SCHEMA)} TO ${quoteIdent(role)}`);
          return withLogin(db.url, { user: role, password: '' });
        },
        // the local server trusts every password: a role that does not exist is what it refuses
        refusedLoginUrl: (password) => withLogin(db.url, { user: `${db.name}_absent`, password }),
        async drop() {
          await db.drop();
          // after the database: its grants went with it, so the role owns and holds nothing
          if (roleCreated) await withClient(withLogin(db.url, { database: 'postgres' }), (c) => c.query(`DROP ROLE IF EXISTS ${quoteIdent(role)}`));
        },
      };
    },
  };
}
