// SourceHarness for PostgreSQL with ctrelay's own change tracking (src/sources/postgres/): throwaway
// databases on the local PostgreSQL (test/support/db.ts), tracking through ctEnable / ctDisable,
// retention cleanup through ctCleanup, capture logins as throwaway roles.
import pg from 'pg';
import { randomBytes } from 'node:crypto';
import type { TableRef, Value } from '../../src/core/model.ts';
import { ctCleanup, ctDisable, ctEnable } from '../../src/sources/postgres/ct-admin.ts';
import { quoteIdent } from '../../src/drivers/postgres/quote.ts';
import { PostgresSource } from '../../src/sources/postgres/source.ts';
import { createPgDatabase, PG_ADMIN_URL } from './db.ts';
import { HARNESS_APPLICATION_NAME, harnessDatabase, quoteString, typeNameIn, type CaptureLogin, type HarnessConnection, type HarnessDatabase, type HarnessTable, type NeutralType, type SourceHarness, type SqlFlavour, type TypeNames } from './source-harness.ts';

const PG_TYPES: TypeNames = { int32: 'integer', int64: 'bigint', text: 'text', bytes: 'bytea', date: 'date',
  decimal: (p, s) => `numeric(${p},${s})`, varchar: (n) => `varchar(${n})`, char: (n) => `char(${n})`, timestamp: (p) => `timestamp(${p})` };
const typeName = (t: NeutralType) => typeNameIn(PG_TYPES, t);

const qualified = (r: TableRef) => `${quoteIdent(r.schema)}.${quoteIdent(r.table)}`;

export const postgresFlavour: SqlFlavour = {
  quoteIdent,
  qualified,
  typeName,
  literal(t: NeutralType, v: Value): string {
    if (v === null) return `NULL::${typeName(t)}`;
    if (Buffer.isBuffer(v)) return `'\\x${v.toString('hex')}'::bytea`;
    // standard_conforming_strings is on (the default since 9.1): a backslash is just a backslash
    return `${quoteString(String(v))}::${typeName(t)}`;
  },
  doubledColumn: (name, t, source) => `${quoteIdent(name)} ${typeName(t)} GENERATED ALWAYS AS (2 * ${quoteIdent(source)}) STORED`,
};

/** A connection of the harness's own (named, so that killSourceConnections spares it). */
async function harnessClient(url: string): Promise<pg.Client & HarnessConnection> {
  const c = new pg.Client({ connectionString: url, application_name: HARNESS_APPLICATION_NAME });
  c.on('error', () => undefined);
  await c.connect();
  return Object.assign(c, {
    async exec(statement: string) {
      await c.query(statement);
    },
    close: () => c.end(),
  });
}

/** The URL with another user and no password (the local server trusts 127.0.0.1). */
function asUser(url: string, user: string): string {
  const u = new URL(url);
  u.username = encodeURIComponent(user);
  u.password = '';
  return u.toString();
}

export function postgresHarness(): SourceHarness {
  return {
    kind: 'postgres',
    async createDatabase(prefix: string): Promise<HarnessDatabase> {
      const db = await createPgDatabase(prefix);
      const admin = await harnessClient(db.url);
      const roles: string[] = [];
      const refs = (tables: HarnessTable[]) => tables.map((t) => t.ref);
      return harnessDatabase({
        name: db.name,
        url: db.url,
        schema: 'public',
        flavour: postgresFlavour,
        transactionSql: {
          savepoint: (name) => `SAVEPOINT ${quoteIdent(name)}`,
          rollbackToSavepoint: (name) => `ROLLBACK TO SAVEPOINT ${quoteIdent(name)}`,
          commit: 'COMMIT',
          rollback: 'ROLLBACK',
        },
        exec: (statement) => admin.exec(statement),
        async beginOnNewConnection() {
          const c = await harnessClient(db.url);
          await c.exec('BEGIN');
          return c;
        },
        newSource: (url) => new PostgresSource(url),
        async enableTracking(tables) {
          await ctEnable(db.url, refs(tables));
        },
        disableTracking: (tables) => ctDisable(db.url, refs(tables)),
        // one tracking trigger off is enough for changes to pass untracked
        suspendTracking: (t) => admin.exec(`ALTER TABLE ${qualified(t.ref)} DISABLE TRIGGER ctrelay_ct_upd`),
        resumeTracking: (t) => admin.exec(`ALTER TABLE ${qualified(t.ref)} ENABLE ALWAYS TRIGGER ctrelay_ct_upd`),
        forceCleanup: () => ctCleanup(db.url, '0 seconds'),
        async killSourceConnections(): Promise<number> {
          // pg_terminate_backend(pid, timeout) waits until the backend is gone (PostgreSQL 14+)
          const r = await admin.query(
            `SELECT count(*) FILTER (WHERE pg_terminate_backend(pid, 5000))::int AS n
               FROM pg_stat_activity
              WHERE datname = $1 AND backend_type = 'client backend' AND pid <> pg_backend_pid() AND application_name <> $2`,
            [db.name, HARNESS_APPLICATION_NAME],
          );
          return r.rows[0].n;
        },
        async createCaptureLogin(tables: HarnessTable[]): Promise<CaptureLogin> {
          const name = `ctr_capture_${randomBytes(4).toString('hex')}`;
          const role = quoteIdent(name);
          roles.push(name);
          // what capture reads: the tables, and ctrelay's version and side tables (its functions
          // are SECURITY DEFINER and executable by PUBLIC)
          await admin.exec(`CREATE ROLE ${role} LOGIN; GRANT USAGE ON SCHEMA ctrelay TO ${role}; GRANT SELECT ON ALL TABLES IN SCHEMA ctrelay TO ${role}`);
          for (const t of tables) await admin.exec(`GRANT SELECT ON ${qualified(t.ref)} TO ${role}`);
          return {
            name,
            url: asUser(db.url, name),
            revokeSelect: (t) => admin.exec(`REVOKE SELECT ON ${qualified(t.ref)} FROM ${role}`),
          };
        },
        async dropDatabase(): Promise<void> {
          await admin.end().catch(() => undefined);
          await db.drop();
          if (roles.length === 0) return;
          // roles belong to the cluster: dropped once the database holding their grants is gone
          const c = await harnessClient(PG_ADMIN_URL);
          try {
            for (const r of roles) await c.exec(`DROP ROLE IF EXISTS ${quoteIdent(r)}`);
          } finally {
            await c.end();
          }
        },
      });
    },
    async close(): Promise<void> {},
  };
}
