// Picks verify's side for each configured database. Adding an engine: one file here with its
// EngineSql and side classes, and one line in each factory below.
import type { SourceSettings } from '../../sources/factory.ts';
import { ConfigError } from '../../core/errors.ts';
import type { TableMeta, TableRef } from '../../core/model.ts';
import { standbyKind } from '../../standby/create-dialect.ts';
import type { SourceSide, VerifySide } from '../side.ts';
import { MariaDbStandbySide } from './mariadb.ts';
import { PgSourceSide, PgStandbySide } from './postgres.ts';
import { SqlServerSourceSide, SqlServerStandbySide } from './sqlserver.ts';

export function createSourceSide(source: SourceSettings): SourceSide {
  if (source.kind === 'postgres') return new PgSourceSide(source.url);
  if (source.kind === 'sqlserver') return new SqlServerSourceSide(source.url);
  throw new ConfigError(`verify: a ${source.kind} source is not supported yet (PostgreSQL and SQL Server sources)`);
}

/** `namer`: where the standby holds a source table (the applier's target names). */
export function createStandbySide(kind: string, url: string, namer: (t: TableMeta) => TableRef, sourceId: string, name: string): VerifySide {
  const k = standbyKind(kind);
  if (k === 'postgres') return new PgStandbySide(url, name, (t) => namer(t.source), sourceId);
  if (k === 'mariadb') return new MariaDbStandbySide(url, name, (t) => namer(t.source), sourceId);
  if (k === 'sqlserver') return new SqlServerStandbySide(url, name, (t) => namer(t.source), sourceId);
  throw new ConfigError(`verify: a ${kind} standby is not supported yet (PostgreSQL, MariaDB and SQL Server standbys)`);
}
