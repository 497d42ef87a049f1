// Planning one standby transaction from one or more complete windows (pure: no database, no
// Kafka). The net effect per key is the last event of that key across the merged windows; a window
// that (re)starts a table's snapshot empties that table first, so it always opens a transaction.
//
// Which definition of a table the standby writes with comes from each event's own writer schema
// (DecodedEvent.table), never from a column count: the applier opens a new transaction where a
// window describes a table differently than the windows merged before it (definitionChanges), so a
// rename or a drop + add never writes one definition's rows with another's columns. Should one
// window itself carry two definitions of a table, the plan keeps one TablePlan per definition,
// each key in exactly one of them.
//
// This standby's column options (config standby.tables) apply here: excluded columns are left out
// of the standby table, text columns become unbounded strings holding each value's canonical text.
import { keyId } from '../core/batch.ts';
import type { DecodedEvent } from '../core/codec.ts';
import { ConfigError } from '../core/errors.ts';
import { qualifiedName, type ColumnMeta, type Row, type TableMeta, type TableRef } from '../core/model.ts';
import { canonicalText } from '../standby/canonical-text.ts';
import type { CompleteWindow } from './window-reader.ts';

/** Where a standby holds a source table (only its name matters). */
export type TargetNamer = (source: TableRef) => TableRef;

/** This standby's column options for one source table (config standby.tables[]). */
export interface ColumnOptions {
  /** columns this standby never creates or writes */
  exclude: readonly string[];
  /** columns this standby creates as text, holding the exact canonical string of each value */
  text: readonly string[];
}

/** A source table definition as this standby holds it. */
export interface TableTarget {
  /** the standby table: its name there, excluded columns left out, text columns as unbounded strings */
  meta: TableMeta;
  /** a source row as the standby writes it (the row itself when no column is kept as text) */
  row: (row: Row) => Row;
}

const definitions = new WeakMap<TableMeta, string>();

/**
 * What identifies a table definition: key and columns (name, ColumnType, nullability) in order.
 * Two events describe a table alike exactly when these are equal.
 */
export function definitionOf(meta: TableMeta): string {
  let d = definitions.get(meta);
  if (d === undefined) {
    d = JSON.stringify([meta.key, meta.columns.map((c) => [c.name, c.type, c.nullable])]);
    definitions.set(meta, d);
  }
  return d;
}

/**
 * Source tables as this standby holds them: target names (TargetNamer) and the column options of
 * config standby.tables, checked against each table's definition the first time it is seen.
 */
export class StandbyTables {
  private readonly targets = new WeakMap<TableMeta, TableTarget>();
  private readonly checked = new Set<string>();

  /** @param options column options by source table "schema.table" */
  constructor(
    private readonly namer: TargetNamer,
    private readonly options: ReadonlyMap<string, ColumnOptions> = new Map(),
  ) {}

  /**
   * Checks this standby's options for `source`'s table against its definition, once per table: a
   * column they name that the table does not have, a key column, or a column in both lists is a
   * ConfigError naming it.
   */
  validate(source: TableMeta): void {
    const name = qualifiedName(source);
    if (this.checked.has(name)) return;
    const o = this.options.get(name);
    if (o) {
      const have = new Set(source.columns.map((c) => c.name));
      const problems: string[] = [];
      for (const [list, cols] of [['excludeColumns', o.exclude], ['textColumns', o.text]] as const) {
        for (const c of cols) {
          if (!have.has(c)) problems.push(`${list} names column "${c}", which the table does not have`);
          else if (source.key.includes(c)) problems.push(`${list} names "${c}", a primary key column, which every standby must hold as it is`);
        }
      }
      for (const c of o.exclude) if (o.text.includes(c)) problems.push(`column "${c}" is in both excludeColumns and textColumns`);
      if (problems.length > 0) {
        throw new ConfigError(
          `standby.tables entry ${name}: ${problems.join('; ')} (the table's columns: ${source.columns.map((c) => c.name).join(', ')})`,
        );
      }
    }
    this.checked.add(name);
  }

  /** `source` as this standby holds it (validated on first sight; cached per definition object). */
  target(source: TableMeta): TableTarget {
    let t = this.targets.get(source);
    if (t) return t;
    this.validate(source);
    const o = this.options.get(qualifiedName(source));
    const exclude = new Set(o?.exclude ?? []);
    const text = new Set(o?.text ?? []);
    const asText: ColumnMeta[] = [];
    const columns = source.columns
      .filter((c) => !exclude.has(c.name))
      .map((c) => {
        if (!text.has(c.name)) return c;
        asText.push(c);
        return { ...c, type: { kind: 'string' as const } };
      });
    const meta: TableMeta = { ...source, ...this.namer(source), columns };
    const row =
      asText.length === 0
        ? (r: Row) => r
        : (r: Row) => {
            const out: Row = { ...r };
            for (const c of asText) out[c.name] = canonicalText(c.type, r[c.name]);
            return out;
          };
    t = { meta, row };
    this.targets.set(source, t);
    return t;
  }
}

export interface TablePlan {
  /** the source table, "schema.table" */
  name: string;
  /** the table as these events describe it (their writer schema) */
  source: TableMeta;
  /** the same, as this standby holds it */
  target: TableMeta;
  /** net upserts by key id, in first-seen order, as the standby writes them */
  upserts: Map<string, Row>;
  /** net deletes by key id */
  deletes: Map<string, Row>;
}

export interface ApplyPlan {
  /** one per table and definition, in first-seen order; a key is in at most one of them */
  tables: TablePlan[];
  /** tables to empty before anything else (their snapshot starts in the first window) */
  emptied: { name: string; target: TableMeta; hasEvents: boolean }[];
  /**
   * Every standby table definition the transaction writes with, in first-seen order: the standby
   * tables must hold each (ensureTable) before the rows go in.
   */
  ensure: TableMeta[];
  /** events read, for metrics */
  events: number;
}

/** Tables ("schema.table") whose (re-)snapshot begins with this window. */
export function snapshotStarts(w: CompleteWindow): string[] {
  const complete = w.batches[w.batches.length - 1];
  return complete.tables.filter((t) => t.snapshot && t.snapshot.startedSeq === complete.windowSeq).map((t) => t.table);
}

/** The definitions (definitionOf) each table's events in `w` carry, by "schema.table". */
export function tableDefinitions(w: CompleteWindow): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  let last: TableMeta | null = null;
  for (const e of w.events) {
    if (e.table === last) continue; // events of one table come in runs: skip the lookups
    last = e.table;
    const name = qualifiedName(e.table);
    let s = out.get(name);
    if (!s) out.set(name, (s = new Set()));
    s.add(definitionOf(e.table));
  }
  return out;
}

/**
 * Whether `next` describes a table differently than `seen` (the definitions of the windows merged
 * so far): then it must open a transaction of its own, so that the standby table changes between
 * the two (src/apply/applier.ts).
 */
export function definitionChanges(seen: ReadonlyMap<string, ReadonlySet<string>>, next: ReadonlyMap<string, ReadonlySet<string>>): boolean {
  for (const [name, defs] of next) {
    const before = seen.get(name);
    if (!before) continue;
    for (const d of defs) if (!before.has(d)) return true;
    if (before.size !== defs.size) return true;
  }
  return false;
}

/** Adds `next`'s definitions to `seen`. */
export function mergeDefinitions(seen: Map<string, Set<string>>, next: ReadonlyMap<string, ReadonlySet<string>>): void {
  for (const [name, defs] of next) {
    let s = seen.get(name);
    if (!s) seen.set(name, (s = new Set()));
    for (const d of defs) s.add(d);
  }
}

/**
 * Plans the windows as ONE transaction. `known` gives the newest definition of a table that has no
 * event in the windows (a re-snapshot of a table that is now empty still empties it); a table never
 * seen cannot have rows on the standby and is skipped.
 */
export function planWindows(windows: CompleteWindow[], tables: StandbyTables, known: (table: string) => TableMeta | null): ApplyPlan {
  const byDefinition = new Map<string, TablePlan>();
  const byTable = new Map<string, TablePlan[]>();
  const order: TablePlan[] = [];
  let events = 0;
  let lastMeta: TableMeta | null = null;
  let p: TablePlan | null = null;
  let row: (r: Row) => Row = (r) => r;
  for (const w of windows) {
    for (const d of w.events) {
      events++;
      if (d.table !== lastMeta) {
        lastMeta = d.table;
        const name = qualifiedName(d.table);
        const id = `${name}\u0000${definitionOf(d.table)}`;
        p = byDefinition.get(id) ?? null;
        const t = tables.target(d.table);
        row = t.row;
        if (!p) {
          p = { name, source: d.table, target: t.meta, upserts: new Map(), deletes: new Map() };
          byDefinition.set(id, p);
          order.push(p);
          const same = byTable.get(name);
          if (same) same.push(p);
          else byTable.set(name, [p]);
        }
      }
      addEvent(p!, d, row, byTable.get(p!.name)!);
    }
  }
  const ensure = order.map((t) => t.target);
  const emptied: ApplyPlan['emptied'] = [];
  for (const name of snapshotStarts(windows[0])) {
    const first = byTable.get(name)?.[0];
    if (first) {
      emptied.push({ name, target: first.target, hasEvents: true });
      continue;
    }
    const source = known(name);
    if (source) emptied.push({ name, target: tables.target(source).meta, hasEvents: false });
  }
  return { tables: order, emptied, ensure, events };
}

function addEvent(p: TablePlan, d: DecodedEvent, row: (r: Row) => Row, siblings: TablePlan[]): void {
  const id = keyId(d.event.key, d.table.key);
  if (siblings.length > 1) {
    // the table changed definition inside the windows: this event supersedes the key's earlier ones
    for (const s of siblings) {
      if (s === p) continue;
      s.upserts.delete(id);
      s.deletes.delete(id);
    }
  }
  if (d.event.op === 'd') {
    p.upserts.delete(id);
    p.deletes.set(id, d.event.key);
  } else {
    p.deletes.delete(id);
    p.upserts.set(id, row(d.event.after!));
  }
}
