// StandbyHarness for MariaDB: throwaway databases on the local MariaDB (test/support/db.ts); a
// MariaDB "schema" is a database, so the suite's tables go in the throwaway database itself. The
// dialect's sessions are the ones whose current database is it (the harness's own connections
// name no database); KILL ends them.
import mysql from 'mysql2/promise';
import { MariaDbDialect } from '../../src/standby/mariadb/mariadb-dialect.ts';
import { quoteIdent, stringLiteral } from '../../src/standby/mariadb/mariadb-types.ts';
import type { TableRef } from '../../src/core/model.ts';
import { createMariaDatabase, MYSQL_ADMIN_URL } from './db.ts';
import { waitUntilGone, withLogin, type StandbyDatabase, type StandbyHarness } from './standby-harness.ts';

async function withAdmin<T>(fn: (c: mysql.Connection) => Promise<T>): Promise<T> {
  const c = await mysql.createConnection(MYSQL_ADMIN_URL);
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

const qualified = (t: TableRef) => `${quoteIdent(t.schema)}.${quoteIdent(t.table)}`;

export function mariaDbStandbyHarness(): StandbyHarness {
  return {
    kind: 'mariadb',
    limits: { subnormalFloats: true, trailingSpaceKeys: true, namesRefusedKey: true },
    unreachableUrl: (password) => `mysql://ctr:${encodeURIComponent(password)}@127.0.0.1:1/x`,
    async close() {},
    async createDatabase(prefix: string): Promise<StandbyDatabase> {
      const db = await createMariaDatabase(prefix);
      const user = `${stringLiteral(`${db.name}_ro`)}@'%'`;
      let userCreated = false;
      const sessionIds = (c: mysql.Connection) =>
        c
          .query('SELECT id FROM information_schema.processlist WHERE db = ? AND id <> CONNECTION_ID()', [db.name])
          .then(([rows]) => (rows as { id: number }[]).map((r) => Number(r.id)));
      return {
        name: db.name,
        url: db.url,
        schema: db.name,
        hostileSchema: db.name,
        createDialect: (url = db.url) => new MariaDbDialect(url),
        exec: (statement) => withAdmin((c) => c.query(statement)).then(() => undefined),
        narrowColumnSql: (t, column, length) => `ALTER TABLE ${qualified(t)} MODIFY ${quoteIdent(column)} VARCHAR(${length})`,
        killDialectSessions: () =>
          withAdmin(async (c) => {
            const ids = await sessionIds(c);
            // a session may end on its own between the listing and the KILL
            for (const id of ids) await c.query(`KILL ${id}`).catch(() => undefined);
            await waitUntilGone(async () => (await sessionIds(c)).length, 'dialect sessions');
            return ids.length;
          }),
        async readOnlyUrl() {
          const password = `ro-${db.name}`;
          await withAdmin(async (c) => {
            await c.query(`CREATE USER ${user} IDENTIFIED BY ${stringLiteral(password)}`);
            userCreated = true;
            await c.query(`GRANT SELECT ON ${quoteIdent(db.name)}.* TO ${user}`);
          });
          return withLogin(db.url, { user: `${db.name}_ro`, password });
        },
        refusedLoginUrl: (password) => withLogin(db.url, { password }),
        async drop() {
          await db.drop();
          if (userCreated) await withAdmin((c) => c.query(`DROP USER IF EXISTS ${user}`));
        },
      };
    },
  };
}
