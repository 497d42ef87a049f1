// The small Kafka surface ctrelay needs. Capture, apply, tail and tests depend on this port only;
// src/kafka/kafkajs/ adapts it to kafkajs. Offsets are bigint throughout (Kafka offsets are int64).
// The port moves records as they are: events larger than a topic takes are split into chunk
// records by capture and put back together by consumers (src/kafka/chunks.ts: the contract).
import { KafkaError } from '../core/errors.ts';

/**
 * The broker refused a record, or a batch of records, as larger than the topic takes
 * (MESSAGE_TOO_LARGE, RECORD_LIST_TOO_LARGE). Permanent: the same records are refused again.
 */
export class RecordTooLargeError extends KafkaError {}

export interface OutRecord {
  key: Buffer | null;
  /** null = tombstone */
  value: Buffer | null;
  /** explicit partition; when absent the adapter picks one by hashing the key (murmur2, like Java) */
  partition?: number;
  headers?: Record<string, string>;
}

export interface InRecord {
  topic: string;
  partition: number;
  offset: bigint;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, string>;
  timestamp: number;
}

/** Offsets a transaction wrote to one partition: [first, last] inclusive, `count` records. */
export interface WrittenRange {
  topic: string;
  partition: number;
  first: bigint;
  last: bigint;
  count: number;
}

/**
 * A transactional producer (idempotent, one in flight). init() fences any earlier producer with
 * the same transactional id and aborts its open transaction, so after init() the log holds only
 * committed or aborted data of earlier instances.
 */
export interface TransactionalProducer {
  init(): Promise<void>;
  /**
   * Opens a transaction. Records sent through it are invisible to read-committed readers until
   * commit(); abort() or a crash discards them. Throws KafkaError when fenced.
   */
  begin(): Promise<ProducerTransaction>;
  close(): Promise<void>;
}

export interface SendOptions {
  /**
   * Most bytes of records (key + value + headers) per produce request, so that a partition's batch
   * stays within the topic's max.message.bytes (the adapter's own limit applies too; a single
   * record larger than either goes alone).
   */
  maxRequestBytes?: number;
}

export interface ProducerTransaction {
  /**
   * Sends records (many per call: batching matters for throughput); returns the offsets written.
   * Records of one partition are written in the order given. A record the broker refuses as too
   * large rejects with RecordTooLargeError.
   */
  send(topic: string, records: OutRecord[], options?: SendOptions): Promise<WrittenRange[]>;
  commit(): Promise<void>;
  abort(): Promise<void>;
}

export interface TopicSpec {
  topic: string;
  partitions: number;
  replicationFactor: number;
  /** extra topic configs, e.g. { 'cleanup.policy': 'compact' } */
  config?: Record<string, string>;
}

export interface PartitionOffsets {
  partition: number;
  /** log start offset */
  low: bigint;
  /** last stable offset for read-committed readers (no record at or after it is committed yet) */
  stable: bigint;
}

export interface Admin {
  /** Creates the topics that are absent; existing topics are left as they are. */
  ensureTopics(specs: TopicSpec[]): Promise<void>;
  /** Partition count of a topic, or null when the topic does not exist. */
  partitionCount(topic: string): Promise<number | null>;
  /**
   * The effective max.message.bytes of each topic (its own setting, else the broker's
   * message.max.bytes); null for a topic that does not exist.
   */
  maxMessageBytes(topics: string[]): Promise<Map<string, number | null>>;
  /** read-committed offsets of every partition of the topic */
  offsets(topic: string): Promise<PartitionOffsets[]>;
  close(): Promise<void>;
}

export interface Assignment {
  topic: string;
  partition: number;
  /** first offset to read */
  from: bigint;
}

/**
 * A read-committed reader of explicitly assigned partitions (no consumer-group offsets are used or
 * committed: ctrelay keeps its positions in the batch log and the standby). Records of aborted
 * transactions and control records are never returned. Within a partition records come in offset
 * order.
 */
export interface Reader {
  /**
   * Returns the next records of the partition, waiting up to `waitMs` for at least one; an empty
   * array means none arrived in time. Records come as written: chunk records are not reassembled
   * here (ChunkAssembler in chunks.ts does that). The reader buffers a bounded number of records
   * and bytes per partition.
   */
  poll(topic: string, partition: number, waitMs: number): Promise<InRecord[]>;
  /**
   * The offset the reader has fetched the partition up to: every offset below it was either
   * returned (or is buffered for poll) or is invisible to read-committed readers (an aborted
   * record, a transaction marker). `position >= stable offset` proves a read reached the end.
   */
  position(topic: string, partition: number): bigint;
  close(): Promise<void>;
}

export interface KafkaPort {
  producer(transactionalId: string): TransactionalProducer;
  admin(): Promise<Admin>;
  /** Opens a reader positioned at the given assignments. */
  reader(assignments: Assignment[]): Promise<Reader>;
  close(): Promise<void>;
}
