// Helpers shared by the src/avro unit tests (not used by production code).
import type { ColumnMeta, ColumnType, Row, TableMeta, Value } from '../core/model.ts';
import type { Envelope } from './envelope.ts';
import { SingleObjectEventDecoder } from './event-decoder.ts';
import { SingleObjectTableEncoder } from './table-encoder.ts';

export function table(columns: (Partial<ColumnMeta> & { name: string; type: ColumnType })[], key = [columns[0].name], name = 'things'): TableMeta {
  return {
    schema: 'dbo',
    table: name,
    key,
    columns: columns.map((c) => ({ nullable: false, sourceType: c.type.kind, ...c })),
  };
}

export function envelope(after: Row | null, key: Row, op: Envelope['op'] = 'c'): Envelope {
  return {
    op,
    after,
    key,
    source: { db: 'shop', schema: 'dbo', table: 'things', version: 42n, commit_ts: null, batch: 7n, snapshot: false },
    changed_columns: null,
    ts_ms: 1_700_000_000_123,
  };
}

/** Encodes with the table's encoder and decodes with a decoder that learnt only its published schemas. */
export function eventRoundTrip(meta: TableMeta, env: Envelope, prefix = 'test'): Envelope {
  const encoder = new SingleObjectTableEncoder(meta, prefix);
  const decoder = new SingleObjectEventDecoder();
  decoder.learn(encoder.schemas);
  return decoder.decodeEvent(encoder.encodeEvent(env), 'test')!.event;
}

export function keyRoundTrip(meta: TableMeta, key: Row, prefix = 'test'): Row {
  const encoder = new SingleObjectTableEncoder(meta, prefix);
  const decoder = new SingleObjectEventDecoder();
  decoder.learn(encoder.schemas);
  return decoder.decodeKey(encoder.encodeKey(key), 'test')!;
}

/** Encodes `value` in a column of `type` (plus an int32 key) and returns what decoding gives back. */
export function roundTrip(type: ColumnType, value: Value, nullable = value === null): Value {
  const meta = table([{ name: 'id', type: { kind: 'int32' } }, { name: 'v', type, nullable }]);
  return eventRoundTrip(meta, envelope({ id: 1, v: value }, { id: 1 })).after!.v;
}
