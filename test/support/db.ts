// Throwaway databases on the local PostgreSQL and MariaDB, one per test file: create in beforeAll,
// drop in afterAll. Connection URLs come from PG_URL / MYSQL_URL when set (defaults: the local
// trust-auth PostgreSQL and password-less MariaDB root).
import pg from 'pg';
import mysql from 'mysql2/promise';
import { randomBytes } from 'node:crypto';

export const PG_ADMIN_URL = process.env.PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const MYSQL_ADMIN_URL = process.env.MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/';

function throwawayName(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
}

function withDatabase(url: string, db: string): string {
  const u = new URL(url);
  u.pathname = `/${db}`;
  return u.toString();
}

export interface ThrowawayDb {
  name: string;
  url: string;
  drop(): Promise<void>;
}

export async function createPgDatabase(prefix = 'ctr'): Promise<ThrowawayDb> {
  const name = throwawayName(prefix);
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
  return {
    name,
    url: withDatabase(PG_ADMIN_URL, name),
    async drop() {
      const c = new pg.Client({ connectionString: PG_ADMIN_URL });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}

export async function createMariaDatabase(prefix = 'ctr'): Promise<ThrowawayDb> {
  const name = throwawayName(prefix);
  const admin = await mysql.createConnection(MYSQL_ADMIN_URL);
  try {
    await admin.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
  } finally {
    await admin.end();
  }
  return {
    name,
    url: withDatabase(MYSQL_ADMIN_URL, name),
    async drop() {
      const c = await mysql.createConnection(MYSQL_ADMIN_URL);
      try {
        await c.query(`DROP DATABASE IF EXISTS \`${name}\``);
      } finally {
        await c.end();
      }
    },
  };
}
