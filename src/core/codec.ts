// The wire contract between capture and every consumer (apply, tail, status, verify, tests), as
// ports: what is encoded, what is decoded, and which schemas must be published for third parties.
// src/avro/ implements them (Avro single-object encoding, schemas on `<prefix>.schemas`); nothing
// here knows Avro or Kafka. An encoded event larger than its topic's chunk size travels as
// several chunk records that consumers put back together before decoding: that part of the wire
// contract lives with the Kafka code, in src/kafka/chunks.ts.
import type { Ack } from './ack.ts';
import type { BatchRecord, ChangeEvent } from './batch.ts';
import type { Row, TableMeta } from './model.ts';

/** A writer schema, as published on `<prefix>.schemas`: key = fingerprint hex, value = schema JSON. */
export interface SchemaRecord {
  fingerprint: string;
  json: string;
}

/**
 * Encodes the events of one table with the writer schemas fixed when it was made (one per
 * TableMeta: a changed table definition gets a new encoder and new schemas). Pure and
 * deterministic: the same input gives the same bytes. Throws AvroValueError (a permanent
 * CtrelayError) naming table and column for a value that does not fit its column; never rounds or
 * truncates.
 */
export interface TableEncoder {
  /** the key and value schemas, to publish before the first record written with them */
  readonly schemas: SchemaRecord[];
  /** the Kafka record key: the primary key columns */
  encodeKey(key: Row): Buffer;
  /** the Kafka record value: the change event envelope (DESIGN section 3) */
  encodeEvent(event: ChangeEvent): Buffer;
}

/** The control records: batch log (`<prefix>.batches`) and acks (`<prefix>.acks`). */
export interface ControlCodec {
  /** the schemas of both record kinds, published with the first batch */
  readonly schemas: SchemaRecord[];
  encodeBatch(batch: BatchRecord): Buffer;
  /** throws DecodeError naming `where` for bytes that are not a batch record */
  decodeBatch(buf: Buffer, where?: string): BatchRecord;
  encodeAck(ack: Ack): Buffer;
  /** throws DecodeError naming `where` for bytes that are not an ack */
  decodeAck(buf: Buffer, where?: string): Ack;
}

/** A data-topic event with the table definition it was written with (from its writer schema). */
export interface DecodedEvent {
  event: ChangeEvent;
  table: TableMeta;
}

/**
 * Decodes data-topic records with the writer schemas it has learnt (from `<prefix>.schemas`, see
 * src/kafka/schemas-topic.ts). Returns null when the writer schema is not known yet: the caller
 * reloads the schemas topic and tries once more. Throws DecodeError naming `where` (topic,
 * partition, offset) for bytes that cannot be a ctrelay record.
 */
export interface EventDecoder {
  /** Adds writer schemas (idempotent); throws DecodeError when a record's key and schema disagree. */
  learn(schemas: SchemaRecord[]): void;
  decodeEvent(value: Buffer, where: string): DecodedEvent | null;
  decodeKey(key: Buffer, where: string): Row | null;
  /** The newest known definition of source table "schema.table", from the schemas learnt. */
  tableMeta(table: string): TableMeta | null;
}

/** One wire format: encoders for capture, a decoder for consumers, one codec for control records. */
export interface WireFormat {
  readonly control: ControlCodec;
  tableEncoder(meta: TableMeta, topicPrefix: string): TableEncoder;
  /** a fresh decoder (each consumer keeps its own schema cache) */
  decoder(): EventDecoder;
}
