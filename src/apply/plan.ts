// Planning one standby transaction from one or more complete windows (pure: no database, no
// Kafka). The net effect per key is the last event of that key across the merged windows; a window
// that (re)starts a table's snapshot empties that table first, so it always opens a transaction.
import { keyId } from '../core/batch.ts';
import type { DecodedEvent } from '../core/codec.ts';
import { qualifiedName, type Row, type TableMeta } from '../core/model.ts';
import type { CompleteWindow } from './window-reader.ts';

export interface TablePlan {
  /** the table as the newest event of the plan describes it */
  source: TableMeta;
  /** the same, under its standby name */
  target: TableMeta;
  /** net upserts by key id, in first-seen order */
  upserts: Map<string, Row>;
  /** net deletes by key id */
  deletes: Map<string, Row>;
}

export interface ApplyPlan {
  tables: Map<string, TablePlan>;
  /** tables to empty before anything else (their snapshot starts in the first window) */
  emptied: TableMeta[];
  /** events read, for metrics */
  events: number;
}

export type TargetNamer = (source: TableMeta) => { schema: string; table: string };

/** Tables ("schema.table") whose (re-)snapshot begins with this window. */
export function snapshotStarts(w: CompleteWindow): string[] {
  const complete = w.batches[w.batches.length - 1];
  return complete.tables.filter((t) => t.snapshot && t.snapshot.startedSeq === complete.windowSeq).map((t) => t.table);
}

function addEvent(plans: Map<string, TablePlan>, d: DecodedEvent, target: TargetNamer): void {
  const name = qualifiedName(d.table);
  let p = plans.get(name);
  if (!p) {
    p = { source: d.table, target: { ...d.table, ...target(d.table) }, upserts: new Map(), deletes: new Map() };
    plans.set(name, p);
  } else if (d.table.columns.length > p.target.columns.length) {
    // the source added a column mid-stream: the newer schema describes the table
    p.source = d.table;
    p.target = { ...d.table, ...target(d.table) };
  }
  const id = keyId(d.event.key, d.table.key);
  if (d.event.op === 'd') {
    p.upserts.delete(id);
    p.deletes.set(id, d.event.key);
  } else {
    p.deletes.delete(id);
    p.upserts.set(id, d.event.after!);
  }
}

/**
 * Plans the windows as ONE transaction. `known` gives the newest definition of a table that has no
 * event in the windows (a re-snapshot of a table that is now empty still empties it); a table never
 * seen cannot have rows on the standby and is skipped.
 */
export function planWindows(windows: CompleteWindow[], target: TargetNamer, known: (table: string) => TableMeta | null): ApplyPlan {
  const tables = new Map<string, TablePlan>();
  let events = 0;
  for (const w of windows) {
    for (const e of w.events) {
      addEvent(tables, e, target);
      events++;
    }
  }
  const emptied: TableMeta[] = [];
  for (const name of snapshotStarts(windows[0])) {
    const source = tables.get(name)?.source ?? known(name);
    if (source) emptied.push({ ...source, ...target(source) });
  }
  return { tables, emptied, events };
}
