// What `ctrelay promote` asks of the old primary in a planned switchover, per source engine.
// A forced promotion never touches the source.
import type { SourceSettings } from '../sources/factory.ts';
import { ConfigError } from '../core/errors.ts';
import type { TableRef } from '../core/model.ts';
import { cutState, demoteSource, lostChanges, sequenceValues, sourceVersion, undemoteSource, type CutState, type Demotion, type LostChange, type SequenceValue } from '../sources/postgres/failover.ts';

export interface SourceFailover {
  /** Makes the source refuse writes from now on (see the engine's file for what it does). */
  demote(): Promise<Demotion>;
  undemote(): Promise<void>;
  /** The source's change-tracking version now: what the standby must reach. */
  version(): Promise<bigint>;
  /** The last value each sequence feeding a column of `tables` handed out (source names). */
  sequenceValues(tables: TableRef[]): Promise<SequenceValue[]>;
  /** The version, clock and changes after `since` at this moment, in one snapshot (a drill's cut). */
  cutState(tables: TableRef[], since: bigint): Promise<CutState>;
  /** Every key changed after `since`, with its row as the source holds it now. */
  lostChanges(tables: TableRef[], since: bigint): Promise<LostChange[]>;
}

export function sourceFailover(source: SourceSettings): SourceFailover {
  if (source.kind === 'postgres') {
    const url = source.url;
    return {
      demote: () => demoteSource(url),
      undemote: () => undemoteSource(url),
      version: () => sourceVersion(url),
      sequenceValues: (tables) => sequenceValues(url, tables),
      cutState: (tables, since) => cutState(url, tables, since),
      lostChanges: (tables, since) => lostChanges(url, tables, since),
    };
  }
  throw new ConfigError(`a planned switchover or a drill from a ${source.kind} source is not supported yet; with the source gone, use promote --force`);
}
