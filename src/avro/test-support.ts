// Helpers shared by the src/avro unit tests (not used by production code).
import type { ColumnMeta, ColumnType, Row, TableMeta, Value } from '../core/model.ts';
import { TableCodec, type Envelope } from './envelope.ts';

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

/** Encodes `value` in a column of `type` (plus an int32 key) and returns what decoding gives back. */
export function roundTrip(type: ColumnType, value: Value, nullable = value === null): Value {
  const codec = new TableCodec(table([{ name: 'id', type: { kind: 'int32' } }, { name: 'v', type, nullable }]), 'test');
  const env = envelope({ id: 1, v: value }, { id: 1 });
  const back = codec.decodeValue(codec.encodeValue(env));
  return back.after!.v;
}
