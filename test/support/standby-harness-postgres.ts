// StandbyHarness for PostgreSQL: throwaway databases on the local PostgreSQL (test/support/db.ts),
// tables in the schema `standby` of each, a throwaway role for the permission case, and
// pg_terminate_backend for the dialect's sessions (application_name 'ctrelay-applier').
import pg from 'pg';
import { PostgresDialect } from '../../src/standby/postgres/postgres-dialect.ts';
import { quoteIdent } from '../../src/drivers/postgres/quote.ts';
import type { TableRef } from '../../src/core/model.ts';
import { createPgDatabase } from './db.ts';
import { waitUntilGone, withLogin, type PrecreatedTables, type StandbyDatabase, type StandbyHarness } from './standby-harness.ts';

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
    limits: {
      subnormalFloats: true, trailingSpaceKeys: true, namesRefusedKey: true,
      refusesTriggers: false, refusesForeignKeys: false, updatesIdentity: false, replicaModeGrant: true,
    },
    unreachableUrl: (password) => `postgres://ctr:${encodeURIComponent(password)}@127.0.0.1:1/x`,
    async close() {},
    async createDatabase(prefix: string): Promise<StandbyDatabase> {
      const db = await createPgDatabase(prefix);
      const role = `${db.name}_ro`;
      let roleCreated = false;
      const noReplica = `${db.name}_norep`;
      let noReplicaCreated = false;
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
          // apply transactions run as a replica: without this the role would be refused at begin(),
          // before the write the permission case is about
          await exec(`GRANT SET ON PARAMETER session_replication_role TO ${quoteIdent(role)}`);
          return withLogin(db.url, { user: role, password: '' });
        },
        precreated: () => precreatedTables(),
        async noReplicaModeUrl() {
          await exec(`CREATE ROLE ${quoteIdent(noReplica)} LOGIN`);
          noReplicaCreated = true;
          await exec(`GRANT USAGE ON SCHEMA ${quoteIdent(SCHEMA)} TO ${quoteIdent(noReplica)}`);
          await exec(`GRANT ALL ON ALL TABLES IN SCHEMA ${quoteIdent(SCHEMA)} TO ${quoteIdent(noReplica)}`);
          return withLogin(db.url, { user: noReplica, password: '' });
        },
        // the local server trusts every password: a role that does not exist is what it refuses
        refusedLoginUrl: (password) => withLogin(db.url, { user: `${db.name}_absent`, password }),
        async drop() {
          await db.drop();
          // after the database: its grants went with it, so the role owns and holds nothing
          // a parameter grant is cluster-wide: it goes first, or the role could not be dropped
          if (roleCreated) {
            await withClient(withLogin(db.url, { database: 'postgres' }), async (c) => {
              await c.query(`REVOKE SET ON PARAMETER session_replication_role FROM ${quoteIdent(role)}`);
              await c.query(`DROP ROLE IF EXISTS ${quoteIdent(role)}`);
            });
          }
          if (noReplicaCreated) await withClient(withLogin(db.url, { database: 'postgres' }), (c) => c.query(`DROP ROLE IF EXISTS ${quoteIdent(noReplica)}`));
        },
      };
    },
  };
}

/** standby-harness.ts PrecreatedTables as pg_dump -s would restore them, plus the standby's own objects. */
function precreatedTables(): PrecreatedTables {
  const s = quoteIdent(SCHEMA);
  return {
    create: [
      `CREATE SCHEMA IF NOT EXISTS ${s}`,
      `CREATE TABLE ${s}.pc_items (
         total numeric(20,2) GENERATED ALWAYS AS (qty * price) STORED,
         site varchar(20) NOT NULL DEFAULT 'standby',
         price numeric(10,2) NOT NULL,
         id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
         qty integer NOT NULL CHECK (qty > 0),
         name varchar(50))`,
      `CREATE INDEX pc_items_name ON ${s}.pc_items (name)`,
      `CREATE TABLE ${s}.pc_seq (id integer PRIMARY KEY, seq bigint GENERATED ALWAYS AS IDENTITY, v varchar(20))`,
      `CREATE TABLE ${s}.pc_parent (id integer PRIMARY KEY, name varchar(20))`,
      `CREATE TABLE ${s}.pc_child (id integer PRIMARY KEY, parent_id integer NOT NULL, v varchar(20),
         CONSTRAINT pc_child_parent FOREIGN KEY (parent_id) REFERENCES ${s}.pc_parent (id) ON DELETE CASCADE)`,
      `CREATE TABLE ${s}.pc_audit (n bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, what varchar(100))`,
      `CREATE TABLE ${s}.pc_trig (id integer PRIMARY KEY, v varchar(20))`,
      `CREATE FUNCTION ${s}.pc_audit_row() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN INSERT INTO ${s}.pc_audit (what) VALUES (TG_OP || ' ' || TG_TABLE_NAME); RETURN NULL; END $$`,
      `CREATE TRIGGER pc_trig_audit AFTER INSERT OR UPDATE OR DELETE ON ${s}.pc_trig FOR EACH ROW EXECUTE FUNCTION ${s}.pc_audit_row()`,
    ],
    disableTrigger: [`DROP TRIGGER pc_trig_audit ON ${s}.pc_trig`],
    disableForeignKey: [`ALTER TABLE ${s}.pc_child DROP CONSTRAINT pc_child_parent`],
  };
}
