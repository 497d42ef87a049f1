// Folding batches into table contents: what any consumer that wants the source's state must do,
// written once. The applier follows the same rules against a database; tests and the demo use this
// in memory to check that the stream equals the source.
import { keyId, type BatchRecord, type ChangeEvent } from './batch.ts';
import type { Row } from './model.ts';

export interface FoldTable {
  key: string[];
  rows: Map<string, Row>;
}

export class Fold {
  readonly tables = new Map<string, FoldTable>();
  private pending: { batch: BatchRecord; events: ChangeEvent[] }[] = [];
  /** per table: keys seen since a re-snapshot began; rows not seen are gone when it completes */
  private seen = new Map<string, Set<string>>();
  /** windows discarded because the agent died before completing them */
  discardedWindows = 0;
  lastApplied: BatchRecord | null = null;

  constructor(private readonly keyColumns: (table: string) => string[]) {}

  private table(name: string): FoldTable {
    let t = this.tables.get(name);
    if (!t) {
      t = { key: this.keyColumns(name), rows: new Map() };
      this.tables.set(name, t);
    }
    return t;
  }

  /** Feeds batches in seq order; a window takes effect when its complete batch arrives. */
  add(batch: BatchRecord, events: ChangeEvent[]): void {
    if (this.pending.length > 0 && this.pending[0].batch.windowSeq !== batch.windowSeq) {
      this.pending = [];
      this.discardedWindows++;
    }
    this.pending.push({ batch, events });
    if (!batch.complete) return;
    for (const t of batch.tables) {
      if (t.snapshot && t.snapshot.startedSeq === batch.windowSeq) this.seen.set(t.table, new Set());
    }
    for (const p of this.pending) for (const e of p.events) this.applyEvent(e);
    for (const t of batch.tables) {
      const seen = this.seen.get(t.table);
      if (seen && t.snapshot?.done) {
        const ft = this.table(t.table);
        for (const id of ft.rows.keys()) if (!seen.has(id)) ft.rows.delete(id);
        this.seen.delete(t.table);
      }
    }
    this.pending = [];
    this.lastApplied = batch;
  }

  private applyEvent(e: ChangeEvent): void {
    const name = `${e.source.schema}.${e.source.table}`;
    const t = this.table(name);
    const id = keyId(e.key, t.key);
    this.seen.get(name)?.add(id);
    if (e.op === 'd') t.rows.delete(id);
    else t.rows.set(id, e.after!);
  }
}
