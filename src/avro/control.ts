// The control records: the batch log (<prefix>.batches) and standby acks (<prefix>.acks), typed,
// with their schemas from schemas/batch-log.avsc and schemas/ack.avsc. Avro longs are bigints
// (sequence numbers, versions and offsets must not lose precision); *_ms timestamps are numbers.
import type avro from 'avsc';
import { AvroValueError } from './errors.ts';
import { parseType } from './logical-types.ts';
import { decodeBody } from './single-object.ts';
import { loadSchemaFile, type JsonObject } from './schema-files.ts';

export interface OffsetRange {
  topic: string;
  partition: number;
  first: bigint;
  last: bigint;
  /** events of this batch in [first, last] */
  count: number;
}

export interface SnapshotState {
  epoch: number;
  /** JSON of the last key loaded; null before the first chunk */
  last_key: string | null;
  done: boolean;
  started_seq: bigint;
}

export interface TableState {
  /** "schema.table" */
  table: string;
  topic: string;
  /** version this table's changes are captured up to */
  cursor: bigint;
  snapshot: SnapshotState | null;
  /** events of this table in this batch */
  rows: number;
}

export interface BatchLog {
  source_id: string;
  seq: bigint;
  /** seq of the first batch of this version window */
  window_seq: bigint;
  /** V, the source version the window reads at */
  version: bigint;
  /** cursor the window started from (max of table cursors); -1n when none */
  previous_version: bigint;
  /** last batch of its window */
  complete: boolean;
  ranges: OffsetRange[];
  /** the state to resume from: after this batch when complete, else before its window */
  tables: TableState[];
  /** data events in the batch (sum of the ranges' counts); 0 when omitted on encode */
  events?: bigint;
  capture_ts_ms: number;
  commit_ts_ms: number | null;
  mode: 'async' | 'sync';
}

export interface Ack {
  source_id: string;
  standby_id: string;
  seq: bigint;
  version: bigint;
  applied_at_ms: number;
  rows: bigint;
}

export const BATCH_LOG_SCHEMA: JsonObject = loadSchemaFile('batch-log.avsc');
export const ACK_SCHEMA: JsonObject = loadSchemaFile('ack.avsc');
export const batchLogType: avro.Type = parseType(BATCH_LOG_SCHEMA);
export const ackType: avro.Type = parseType(ACK_SCHEMA);

function encode(type: avro.Type, what: string, value: unknown): Buffer {
  try {
    return type.toBuffer(value);
  } catch (err) {
    const problems: string[] = [];
    type.isValid(value, { errorHook: (path: string[]) => problems.push(path.join('.') || '(root)') });
    throw new AvroValueError(`cannot encode ${what}${problems.length ? ` (invalid: ${problems.join(', ')})` : ''}: ${(err as Error).message}`, 1, { cause: err });
  }
}

/** Avro binary body (frame it with encodeSingleObject / SingleObjectCodec for Kafka). */
export function encodeBatchLog(b: BatchLog): Buffer {
  return encode(batchLogType, `batch log record ${b.seq}`, b.events === undefined ? { ...b, events: b.ranges.reduce((n, r) => n + BigInt(r.count), 0n) } : b);
}

export function decodeBatchLog(buf: Buffer): BatchLog {
  return decodeBody(batchLogType, buf, 0, undefined, 'batch log record');
}

export function encodeAck(a: Ack): Buffer {
  return encode(ackType, `ack of batch ${a.seq}`, a);
}

export function decodeAck(buf: Buffer): Ack {
  return decodeBody(ackType, buf, 0, undefined, 'ack');
}
