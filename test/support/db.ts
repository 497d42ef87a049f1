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

/** Runs one statement as the PostgreSQL admin, on a connection of its own. */
async function asPgAdmin(sql: string): Promise<void> {
  const c = new pg.Client({ connectionString: PG_ADMIN_URL });
  await c.connect();
  await c.query(sql).finally(() => c.end());
}

/** Runs one statement as the MariaDB admin, on a connection of its own. */
async function asMariaAdmin(sql: string): Promise<void> {
  const c = await mysql.createConnection(MYSQL_ADMIN_URL);
  await c.query(sql).finally(() => c.end());
}

async function throwaway(prefix: string, adminUrl: string, exec: (sql: string) => Promise<void>, create: string, drop: string): Promise<ThrowawayDb> {
  const name = throwawayName(prefix);
  await exec(create.replace('$name', name));
  return { name, url: withDatabase(adminUrl, name), drop: () => exec(drop.replace('$name', name)) };
}

/** A new, empty PostgreSQL database named `<prefix>_<time>_<random>`; drop() forces sessions out. */
export function createPgDatabase(prefix = 'ctr'): Promise<ThrowawayDb> {
  return throwaway(prefix, PG_ADMIN_URL, asPgAdmin, 'CREATE DATABASE "$name"', 'DROP DATABASE IF EXISTS "$name" WITH (FORCE)');
}

/** A new, empty MariaDB database (utf8mb4, binary collation) named `<prefix>_<time>_<random>`. */
export function createMariaDatabase(prefix = 'ctr'): Promise<ThrowawayDb> {
  return throwaway(prefix, MYSQL_ADMIN_URL, asMariaAdmin, 'CREATE DATABASE `$name` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin', 'DROP DATABASE IF EXISTS `$name`');
}
