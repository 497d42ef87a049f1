// SourceHarness for PostgreSQL with ctrelay's own change tracking (src/sources/postgres/): throwaway
// databases on the local PostgreSQL (test/support/db.ts), tracking through ctEnable, retention
// cleanup through ctCleanup.
import pg from 'pg';
import type { TableRef, Value } from '../../src/core/model.ts';
import { ctCleanup, ctEnable } from '../../src/sources/postgres/ct-admin.ts';
import { quoteIdent } from '../../src/sources/postgres/ct-sql.ts';
import { PostgresSource } from '../../src/sources/postgres/source.ts';
import { createPgDatabase } from './db.ts';
import {
  createTableSql,
  deleteSql,
  insertSql,
  quoteString,
  updateSql,
  type HarnessDatabase,
  type HarnessTable,
  type NeutralType,
  type OpenTransaction,
  type SourceHarness,
  type SqlFlavour,
  type TableSpec,
} from './source-harness.ts';

function typeName(t: NeutralType): string {
  switch (t.kind) {
    case 'int32':
      return 'integer';
    case 'int64':
      return 'bigint';
    case 'decimal':
      return `numeric(${t.precision},${t.scale})`;
    case 'text':
      return 'text';
    case 'varchar':
      return `varchar(${t.length})`;
    case 'bytes':
      return 'bytea';
    case 'date':
      return 'date';
    case 'timestamp':
      return `timestamp(${t.precision})`;
  }
}

export const postgresFlavour: SqlFlavour = {
  quoteIdent,
  qualified: (r: TableRef) => `${quoteIdent(r.schema)}.${quoteIdent(r.table)}`,
  typeName,
  literal(t: NeutralType, v: Value): string {
    if (v === null) return `NULL::${typeName(t)}`;
    if (Buffer.isBuffer(v)) return `'\\x${v.toString('hex')}'::bytea`;
    // standard_conforming_strings is on (the default since 9.1): a backslash is just a backslash
    return `${quoteString(String(v))}::${typeName(t)}`;
  },
};

class PgOpenTransaction implements OpenTransaction {
  constructor(private readonly client: pg.Client, private readonly done: () => void) {}
  async exec(statement: string): Promise<void> {
    await this.client.query(statement);
  }
  async savepoint(name: string): Promise<void> {
    await this.client.query(`SAVEPOINT ${quoteIdent(name)}`);
  }
  async rollbackToSavepoint(name: string): Promise<void> {
    await this.client.query(`ROLLBACK TO SAVEPOINT ${quoteIdent(name)}`);
  }
  private async finish(sql: string): Promise<void> {
    try {
      await this.client.query(sql);
    } finally {
      await this.client.end().catch(() => undefined);
      this.done();
    }
  }
  commit(): Promise<void> {
    return this.finish('COMMIT');
  }
  rollback(): Promise<void> {
    return this.finish('ROLLBACK');
  }
}

export function postgresHarness(): SourceHarness {
  return {
    kind: 'postgres',
    async createDatabase(prefix: string): Promise<HarnessDatabase> {
      const db = await createPgDatabase(prefix);
      const admin = new pg.Client({ connectionString: db.url });
      await admin.connect();
      const open = new Set<pg.Client>();
      const sources = new Set<PostgresSource>();
      const f = postgresFlavour;
      return {
        name: db.name,
        url: db.url,
        schema: 'public',
        async createTable(spec: TableSpec): Promise<HarnessTable> {
          const ref = { schema: 'public', table: spec.name };
          await admin.query(createTableSql(f, ref, spec));
          return { ref, spec };
        },
        async enableTracking(tables: HarnessTable[]): Promise<void> {
          await ctEnable(db.url, tables.map((t) => t.ref));
        },
        async exec(statement: string): Promise<void> {
          await admin.query(statement);
        },
        async begin(): Promise<OpenTransaction> {
          const c = new pg.Client({ connectionString: db.url });
          await c.connect();
          open.add(c);
          await c.query('BEGIN');
          return new PgOpenTransaction(c, () => open.delete(c));
        },
        async truncate(table: HarnessTable): Promise<void> {
          await admin.query(`TRUNCATE ${f.qualified(table.ref)}`);
        },
        async forceCleanup(): Promise<bigint | null> {
          return ctCleanup(db.url, '0 seconds');
        },
        async createSource() {
          const s = new PostgresSource(db.url);
          sources.add(s);
          await s.connect();
          return s;
        },
        insertSql: (t, rows) => insertSql(f, t, rows),
        updateSql: (t, set, where) => updateSql(f, t, set, where),
        deleteSql: (t, where) => deleteSql(f, t, where),
        async drop(): Promise<void> {
          for (const c of open) await c.end().catch(() => undefined);
          for (const s of sources) await s.close().catch(() => undefined);
          await admin.end().catch(() => undefined);
          await db.drop();
        },
      };
    },
    async close(): Promise<void> {},
  };
}
