// Topic names (DESIGN section 3). Kafka allows [a-zA-Z0-9._-] up to 249 characters; other
// characters of schema and table names become '_', and two tables that would share a topic are a
// startup error (see assertDistinctTopics) rather than a silent merge.
import { CtrelayError } from './errors.ts';
import { qualifiedName, type TableRef } from './model.ts';

const INVALID = /[^a-zA-Z0-9_-]/g;

export function dataTopic(prefix: string, t: TableRef): string {
  return `${prefix}.${t.schema.replace(INVALID, '_')}.${t.table.replace(INVALID, '_')}`.slice(0, 249);
}

export const batchesTopic = (prefix: string) => `${prefix}.batches`;
export const acksTopic = (prefix: string) => `${prefix}.acks`;
export const schemasTopic = (prefix: string) => `${prefix}.schemas`;

export function assertDistinctTopics(prefix: string, tables: TableRef[]): void {
  const seen = new Map<string, string>();
  for (const t of tables) {
    const topic = dataTopic(prefix, t);
    const other = seen.get(topic);
    if (other) throw new CtrelayError(`source.tables: ${other} and ${qualifiedName(t)} would share topic ${topic}; rename one or use separate topic prefixes`, 2);
    seen.set(topic, qualifiedName(t));
  }
}

/**
 * Transactional ids. One capture agent per (topic prefix, source) and one applier per (topic prefix,
 * standby): a second instance with the same id fences the first. The prefix is part of the id, so
 * two pipelines on one cluster that share a source or standby id (production and a drill, say)
 * never fence each other.
 */
export const captureTransactionalId = (prefix: string, sourceId: string) => `ctrelay-capture.${prefix}.${sourceId}`;
export const applyTransactionalId = (prefix: string, standbyId: string) => `ctrelay-apply.${prefix}.${standbyId}`;
