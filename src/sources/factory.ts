// Picks the ChangeSource for a configured source kind. Adding a source = a folder + one line here.
import type { ChangeSource } from '../core/change-source.ts';
import { PostgresSource } from './postgres/source.ts';
import { SqlServerSource } from './sqlserver/source.ts';

export function createSource(config: { kind: 'postgres' | 'sqlserver'; url: string }): ChangeSource {
  return config.kind === 'sqlserver' ? new SqlServerSource({ url: config.url }) : new PostgresSource(config.url);
}
