// Turning one page of a window into Kafka records: per table, a key and value per event and a
// tombstone after each delete, plus the per-table counts and the oldest commit time. Per-event work
// stays minimal (table lookups once per table, counters once per page): this is the capture hot path.
import type { Page } from './window.ts';
import type { TableEncoder } from '../core/codec.ts';
import { qualifiedName, type TableMeta } from '../core/model.ts';
import type { OutRecord } from '../kafka/port.ts';

export interface PageRecords {
  /** data records per topic, in event order */
  byTopic: Map<string, OutRecord[]>;
  /** events per table and op, for metrics */
  counts: { table: string; ops: Record<'c' | 'u' | 'd' | 'r', number> }[];
  /** the oldest source commit time in the page (ms), or null when no event has one */
  oldestCommitMs: number | null;
}

export function pageRecords(page: Page, encoderOf: (table: TableMeta) => TableEncoder, topicOf: (table: TableMeta) => string): PageRecords {
  const byTopic = new Map<string, OutRecord[]>();
  const tables = new Map<TableMeta, { encoder: TableEncoder; records: OutRecord[]; count: PageRecords['counts'][number] }>();
  // commit times share one ISO format, so the smallest string is the oldest
  let oldest: string | null = null;
  for (const { table, event } of page.events) {
    let t = tables.get(table);
    if (!t) {
      const topic = topicOf(table);
      let records = byTopic.get(topic);
      if (!records) byTopic.set(topic, (records = []));
      t = { encoder: encoderOf(table), records, count: { table: qualifiedName(table), ops: { c: 0, u: 0, d: 0, r: 0 } } };
      tables.set(table, t);
    }
    const key = t.encoder.encodeKey(event.key);
    t.records.push({ key, value: t.encoder.encodeEvent(event) });
    // a tombstone after each delete lets the topic be compacted
    if (event.op === 'd') t.records.push({ key, value: null });
    t.count.ops[event.op]++;
    const ts = event.source.commit_ts;
    if (ts !== null && (oldest === null || ts < oldest)) oldest = ts;
  }
  return { byTopic, counts: [...tables.values()].map((t) => t.count), oldestCommitMs: oldest === null ? null : Date.parse(oldest) };
}
