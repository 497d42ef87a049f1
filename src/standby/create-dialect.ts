// Picks the standby dialect for a configured kind. The URL may carry credentials; dialects only
// ever show it through redactUrl. Creating a dialect connects to nothing (connect() does).
import { StandbyError } from '../core/errors.ts';
import type { DialectLogger, StandbyDialect } from './dialect.ts';
import { PostgresDialect } from './postgres/postgres-dialect.ts';
import { MariaDbDialect } from './mariadb/mariadb-dialect.ts';
import { SqlServerDialect } from './sqlserver/sqlserver-dialect.ts';
import { redactUrl } from '../core/redact.ts';

export type StandbyKind = 'postgres' | 'mariadb' | 'sqlserver';

export const STANDBY_KINDS: readonly StandbyKind[] = ['postgres', 'mariadb', 'sqlserver'];

/** Kind names and URL schemes (the same words as config's standby.kind and src/config/connection-url.ts). */
const ALIASES: Record<string, StandbyKind> = {
  postgres: 'postgres',
  postgresql: 'postgres',
  pg: 'postgres',
  mariadb: 'mariadb',
  mysql: 'mariadb',
  sqlserver: 'sqlserver',
  mssql: 'sqlserver',
};

/** The standby kind a configured kind name or alias stands for, if any. */
export function standbyKind(kind: string): StandbyKind | undefined {
  return ALIASES[kind.toLowerCase()];
}

export function createDialect(kind: string, url: string, logger?: DialectLogger): StandbyDialect {
  const k = standbyKind(kind);
  if (k === 'postgres') return new PostgresDialect(url, { logger });
  if (k === 'mariadb') return new MariaDbDialect(url, { logger });
  if (k === 'sqlserver') return new SqlServerDialect({ url, logger });
  throw new StandbyError(
    `unknown standby kind "${kind}" for ${redactUrl(url)}; expected one of: ${Object.keys(ALIASES).join(', ')}`,
  );
}

/** The kind a URL's scheme implies (postgres://, postgresql://, mysql://, mariadb://, mssql://, sqlserver://), if any. */
export function kindFromUrl(url: string): StandbyKind | undefined {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url)?.[1]?.toLowerCase();
  return scheme ? standbyKind(scheme) : undefined;
}
