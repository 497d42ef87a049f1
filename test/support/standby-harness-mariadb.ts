// StandbyHarness for MariaDB: throwaway databases on the local MariaDB (test/support/db.ts); a
// MariaDB "schema" is a database, so the suite's tables go in the throwaway database itself. The
// dialect's sessions are the ones whose current database is it (the harness's own connections
// name no database); KILL ends them.
import mysql from 'mysql2/promise';
import { MariaDbDialect } from '../../src/standby/mariadb/mariadb-dialect.ts';
import { quoteIdent, stringLiteral } from '../../src/standby/mariadb/mariadb-types.ts';
import type { TableRef } from '../../src/core/model.ts';
import { createMariaDatabase, MYSQL_ADMIN_URL } from './db.ts';
import { waitUntilGone, withLogin, type PrecreatedTables, type StandbyDatabase, type StandbyHarness } from './standby-harness.ts';

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
    limits: {
      subnormalFloats: true, trailingSpaceKeys: true, namesRefusedKey: true,
      refusesTriggers: true, refusesForeignKeys: false, updatesIdentity: true, replicaModeGrant: false,
    },
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
        precreated: () => precreatedTables(db.name),
        async drop() {
          await db.drop();
          if (userCreated) await withAdmin((c) => c.query(`DROP USER IF EXISTS ${user}`));
        },
      };
    },
  };
}

/** standby-harness.ts PrecreatedTables, hand-written as an operator would (the database's default utf8mb4). */
function precreatedTables(database: string): PrecreatedTables {
  const d = quoteIdent(database);
  return {
    create: [
      `CREATE TABLE ${d}.pc_items (
         total DECIMAL(20,2) AS (qty * price) STORED,
         site VARCHAR(20) NOT NULL DEFAULT 'standby',
         price DECIMAL(10,2) NOT NULL,
         id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
         qty INT NOT NULL CHECK (qty > 0),
         name VARCHAR(50) NULL,
         KEY pc_items_name (name)) ENGINE=InnoDB`,
      `CREATE TABLE ${d}.pc_seq (id INT NOT NULL PRIMARY KEY, seq BIGINT NOT NULL AUTO_INCREMENT, v VARCHAR(20) NULL, UNIQUE KEY pc_seq_seq (seq)) ENGINE=InnoDB`,
      `CREATE TABLE ${d}.pc_parent (id INT NOT NULL PRIMARY KEY, name VARCHAR(20) NULL) ENGINE=InnoDB`,
      `CREATE TABLE ${d}.pc_child (id INT NOT NULL PRIMARY KEY, parent_id INT NOT NULL, v VARCHAR(20) NULL,
         CONSTRAINT pc_child_parent FOREIGN KEY (parent_id) REFERENCES ${d}.pc_parent (id) ON DELETE CASCADE) ENGINE=InnoDB`,
      `CREATE TABLE ${d}.pc_audit (n BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY, what VARCHAR(100) NULL) ENGINE=InnoDB`,
      `CREATE TABLE ${d}.pc_trig (id INT NOT NULL PRIMARY KEY, v VARCHAR(20) NULL) ENGINE=InnoDB`,
      `CREATE TRIGGER ${d}.pc_trig_audit AFTER INSERT ON ${d}.pc_trig FOR EACH ROW INSERT INTO ${d}.pc_audit (what) VALUES ('INSERT pc_trig')`,
      `CREATE TRIGGER ${d}.pc_trig_audit_d AFTER DELETE ON ${d}.pc_trig FOR EACH ROW INSERT INTO ${d}.pc_audit (what) VALUES ('DELETE pc_trig')`,
    ],
    disableTrigger: [`DROP TRIGGER ${d}.pc_trig_audit`, `DROP TRIGGER ${d}.pc_trig_audit_d`],
    disableForeignKey: [`ALTER TABLE ${d}.pc_child DROP FOREIGN KEY pc_child_parent`],
  };
}
