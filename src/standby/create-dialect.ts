// Picks the standby dialect for a configured kind. The URL may carry credentials; dialects only
// ever show it through redactUrl.
import { StandbyError } from '../core/errors.ts';
import type { DialectLogger, StandbyDialect } from './dialect.ts';
import { PostgresDialect } from './postgres/postgres-dialect.ts';
import { MariaDbDialect } from './mariadb/mariadb-dialect.ts';
import { redactUrl } from '../core/redact.ts';

export type StandbyKind = 'postgres' | 'mariadb';

export const STANDBY_KINDS: readonly StandbyKind[] = ['postgres', 'mariadb'];

const ALIASES: Record<string, StandbyKind> = {
  postgres: 'postgres',
  postgresql: 'postgres',
  pg: 'postgres',
  mariadb: 'mariadb',
  mysql: 'mariadb',
};

export function createDialect(kind: string, url: string, logger?: DialectLogger): StandbyDialect {
  const k = ALIASES[kind.toLowerCase()];
  if (k === 'postgres') return new PostgresDialect(url, { logger });
  if (k === 'mariadb') return new MariaDbDialect(url, { logger });
  throw new StandbyError(
    `unknown standby kind "${kind}" for ${redactUrl(url)}; expected one of: ${Object.keys(ALIASES).join(', ')}`,
  );
}

/** The kind a URL's scheme implies (postgres://, postgresql://, mysql://, mariadb://), if any. */
export function kindFromUrl(url: string): StandbyKind | undefined {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url)?.[1]?.toLowerCase();
  return scheme ? ALIASES[scheme] : undefined;
}
