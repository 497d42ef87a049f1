// Picks the ChangeSource for a configured source kind. Adding a source = a folder + one line here.
import type { ChangeSource } from '../core/change-source.ts';
import { PostgresSource } from './postgres/source.ts';
import { SqlServerSource, type SqlServerSourceOptions } from './sqlserver/source.ts';

/** What a source needs from config `source` (SQL Server's own options are absent for other kinds). */
export interface SourceSettings {
  kind: 'postgres' | 'sqlserver';
  url: string;
  allowNonSnapshot?: SqlServerSourceOptions['allowNonSnapshot'];
  commitTime?: SqlServerSourceOptions['commitTime'];
  pollTimeoutMs?: SqlServerSourceOptions['pollTimeoutMs'];
}

export function createSource(config: SourceSettings): ChangeSource {
  if (config.kind === 'sqlserver') return new SqlServerSource({ url: config.url, allowNonSnapshot: config.allowNonSnapshot, commitTime: config.commitTime, pollTimeoutMs: config.pollTimeoutMs });
  return new PostgresSource(config.url);
}
