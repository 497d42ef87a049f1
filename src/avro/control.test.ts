import { describe, expect, it } from 'vitest';
import { ACK_SCHEMA, BATCH_LOG_SCHEMA, decodeAck, decodeBatchLog, encodeAck, encodeBatchLog, type Ack, type BatchLog } from './control.ts';
import { AvroValueError } from './errors.ts';
import { SingleObjectCodec } from './single-object.ts';

const batch: BatchLog = {
  source_id: 'erp',
  seq: 2n ** 62n,
  window_seq: 2n ** 62n - 3n,
  version: 9_007_199_254_740_993n,
  previous_version: -1n,
  complete: false,
  ranges: [{ topic: 'erp.dbo.orders', partition: 3, first: 0n, last: 2n ** 53n + 5n, count: 2 }],
  tables: [
    { table: 'dbo.orders', topic: 'erp.dbo.orders', cursor: 17n, snapshot: { epoch: 2, last_key: '{"id":"12"}', done: false, started_seq: 5n }, rows: 2 },
    { table: 'dbo.idle', topic: 'erp.dbo.idle', cursor: 17n, snapshot: null, rows: 0 },
  ],
  capture_ts_ms: 1_700_000_000_123,
  commit_ts_ms: null,
  mode: 'sync',
};

describe('batch log and ack records', () => {
  it('batch log round-trips, filling events from the ranges', () => {
    expect(decodeBatchLog(encodeBatchLog(batch))).toEqual({ ...batch, events: 2n });
    const withTs = { ...batch, commit_ts_ms: 1_699_999_999_000, events: 9n, complete: true };
    expect(decodeBatchLog(encodeBatchLog(withTs))).toEqual(withTs);
  });

  it('ack round-trips', () => {
    const ack: Ack = { source_id: 'erp', standby_id: 'dr-site', seq: 12n, version: 99n, applied_at_ms: 1_700_000_000_999, rows: 123_456n };
    expect(decodeAck(encodeAck(ack))).toEqual(ack);
  });

  it('keeps the agreed field names, in order', () => {
    expect((BATCH_LOG_SCHEMA.fields as { name: string }[]).map((f) => f.name)).toEqual([
      'source_id', 'seq', 'window_seq', 'version', 'previous_version', 'complete', 'ranges', 'tables', 'events', 'capture_ts_ms', 'commit_ts_ms', 'mode',
    ]);
    expect((ACK_SCHEMA.fields as { name: string }[]).map((f) => f.name)).toEqual(['source_id', 'standby_id', 'seq', 'version', 'applied_at_ms', 'rows']);
  });

  it('an invalid record is an error naming the bad field', () => {
    expect(() => encodeBatchLog({ ...batch, mode: undefined as never })).toThrow(AvroValueError);
    expect(() => encodeBatchLog({ ...batch, mode: undefined as never })).toThrow(/mode/);
  });

  it('frames as single-object messages', () => {
    const codec = new SingleObjectCodec<BatchLog>(BATCH_LOG_SCHEMA);
    expect(codec.decode(codec.encode({ ...batch, events: 2n }))).toEqual({ ...batch, events: 2n });
  });
});
