import { describe, expect, it } from 'vitest';
import type { Ack } from '../core/ack.ts';
import type { BatchRecord } from '../core/batch.ts';
import { DecodeError } from '../core/errors.ts';
import { ACK_SCHEMA, BATCH_LOG_SCHEMA, LEGACY_BATCH_LOG_SCHEMAS, SingleObjectControlCodec, toWireBatch } from './control.ts';
import { AvroValueError } from './errors.ts';
import { SingleObjectCodec } from './single-object.ts';
import { fingerprintHex } from './index.ts';

const batch: BatchRecord = {
  sourceId: 'erp',
  seq: 2n ** 62n,
  windowSeq: 2n ** 62n - 3n,
  version: 9_007_199_254_740_993n,
  previousVersion: -1n,
  complete: false,
  ranges: [{ topic: 'erp.dbo.orders', partition: 3, first: 0n, last: 2n ** 53n + 5n, count: 3 }],
  tables: [
    { table: 'dbo.orders', topic: 'erp.dbo.orders', cursor: 17n, snapshot: { epoch: 2, lastKey: '{"id":"12"}', done: false, startedSeq: 5n }, rows: 2 },
    { table: 'dbo.idle', topic: 'erp.dbo.idle', cursor: 17n, snapshot: null, rows: 0 },
  ],
  captureTsMs: 1_700_000_000_123,
  commitTsMs: null,
  mode: 'sync',
};

const codec = new SingleObjectControlCodec();

describe('batch log and ack records', () => {
  it('batch log round-trips exactly (longs beyond 2^53 included)', () => {
    expect(codec.decodeBatch(codec.encodeBatch(batch))).toEqual(batch);
    const complete = { ...batch, commitTsMs: 1_699_999_999_000, complete: true };
    expect(codec.decodeBatch(codec.encodeBatch(complete))).toEqual(complete);
  });

  it('the wire record counts the data events of the batch (tombstones are not events)', () => {
    // ranges count 3 records: 2 events of dbo.orders, one of them a delete followed by its tombstone
    expect(toWireBatch(batch).events).toBe(2n);
    const decoded = new SingleObjectCodec(BATCH_LOG_SCHEMA).decode(codec.encodeBatch(batch));
    expect(decoded.events).toBe(2n);
    expect(decoded.tables[0].snapshot).toEqual({ epoch: 2, last_key: '{"id":"12"}', done: false, started_seq: 5n });
  });

  it('a fence record round-trips; records written before fences existed decode without one', () => {
    const fenced: BatchRecord = { ...batch, complete: true, fence: { standbyId: 'dr-site', atMs: 1_700_000_001_000, version: 9_007_199_254_740_993n, kind: 'forced' } };
    expect(codec.decodeBatch(codec.encodeBatch(fenced))).toEqual(fenced);
    // the schemas ctrelay shipped: before TableState.definition, and before fence
    expect(LEGACY_BATCH_LOG_SCHEMAS.map((x) => fingerprintHex(new SingleObjectCodec(x).fingerprint))).toEqual(['c21830c9c4acc856', '6f533c09b1647525']);
    const { fence: _f, ...wire } = toWireBatch(batch);
    const older = new SingleObjectCodec(LEGACY_BATCH_LOG_SCHEMAS[1]).encode(wire);
    const decoded = codec.decodeBatch(older);
    expect(decoded).toEqual(batch);
    expect('fence' in decoded).toBe(false);
  });

  it('ack round-trips', () => {
    const ack: Ack = { sourceId: 'erp', standbyId: 'dr-site', seq: 12n, version: 99n, appliedAtMs: 1_700_000_000_999, rows: 123_456n };
    expect(codec.decodeAck(codec.encodeAck(ack))).toEqual(ack);
  });

  it('keeps the agreed field names, in order', () => {
    expect((BATCH_LOG_SCHEMA.fields as { name: string }[]).map((f) => f.name)).toEqual([
      'source_id', 'seq', 'window_seq', 'version', 'previous_version', 'complete', 'ranges', 'tables', 'events', 'capture_ts_ms', 'commit_ts_ms', 'mode', 'fence',
    ]);
    expect((ACK_SCHEMA.fields as { name: string }[]).map((f) => f.name)).toEqual(['source_id', 'standby_id', 'seq', 'version', 'applied_at_ms', 'rows']);
  });

  it('an invalid record is an error naming the bad field', () => {
    expect(() => codec.encodeBatch({ ...batch, mode: undefined as never })).toThrow(AvroValueError);
    expect(() => codec.encodeBatch({ ...batch, mode: undefined as never })).toThrow(/mode/);
  });

  it('bytes that are not a batch record are a DecodeError naming where they were read', () => {
    expect(() => codec.decodeBatch(Buffer.from('junk'), 'p.batches[0]@42')).toThrow(DecodeError);
    expect(() => codec.decodeBatch(Buffer.from('junk'), 'p.batches[0]@42')).toThrow(/p\.batches\[0\]@42/);
    expect(() => codec.decodeBatch(codec.encodeAck({ sourceId: 's', standbyId: 'x', seq: 1n, version: 1n, appliedAtMs: 0, rows: 0n }))).toThrow(DecodeError);
  });

  it('publishes the schemas of both record kinds under their fingerprints', () => {
    const fps = codec.schemas.map((s) => s.fingerprint);
    expect(fps).toHaveLength(2);
    expect(fps[0]).toBe(codec.encodeBatch(batch).readBigUInt64LE(2).toString(16).padStart(16, '0'));
    expect(JSON.parse(codec.schemas[1].json).name).toBe('Ack');
  });
});
