// Transactional producer over kafkajs. kafkajs initialises the producer id lazily on the first
// transaction; init() forces that (an empty transaction needs no EndTxn), which is what fences an
// older instance with the same transactional id and aborts its open transaction.
import type { Kafka, Message, Producer, Transaction } from 'kafkajs';
import { KafkaError, KafkaUnavailableError, ProducerFencedError } from '../../core/errors.ts';
import { RecordTooLargeError, type OutRecord, type ProducerTransaction, type SendOptions, type TransactionalProducer, type WrittenRange } from '../port.ts';
import { toKafkaError, withDeadline } from './errors.ts';
import { addRange, chunk, partitionForKey, recordSize, type Placed } from './partition.ts';

export interface ProducerContext {
  kafka: Kafka;
  brokers: readonly string[];
  operationTimeoutMs: number;
  transactionTimeoutMs: number;
  retries: number;
  maxSendBytes: number;
  maxSendRecords: number;
  /**
   * Largest single record sent at all: the broker closes the connection on a request larger than
   * its socket.request.max.bytes (default 100 MiB), which would look like an outage and be retried
   * for ever; such a record is refused here instead (RecordTooLargeError)
   */
  maxRecordBytes: number;
  partitionCount(topic: string): Promise<number>;
}

export class KafkajsProducer implements TransactionalProducer {
  private readonly producer: Producer;
  private initialised = false;
  private fenced: KafkaError | null = null;
  private active: KafkajsTransaction | null = null;

  constructor(
    private readonly ctx: ProducerContext,
    readonly transactionalId: string,
  ) {
    this.producer = ctx.kafka.producer({
      transactionalId,
      idempotent: true,
      maxInFlightRequests: 1,
      transactionTimeout: ctx.transactionTimeoutMs,
      allowAutoTopicCreation: false,
      // kafkajs's idempotent default is "retry forever"; a transaction that fails is aborted and
      // redone by the caller, so a bounded retry loses nothing and keeps failures visible.
      retry: { retries: ctx.retries },
    });
  }

  private what(op: string): string {
    return `${op} of Kafka producer "${this.transactionalId}"`;
  }

  async init(): Promise<void> {
    await withDeadline(
      (async () => {
        await this.producer.connect();
        const t = await this.producer.transaction();
        await t.abort();
      })(),
      this.ctx.operationTimeoutMs,
      this.what('init'),
      this.ctx.brokers,
      () => this.producer.disconnect(),
    );
    this.initialised = true;
  }

  async begin(): Promise<ProducerTransaction> {
    if (this.fenced) throw this.fenced;
    if (!this.initialised) throw new KafkaError(`${this.what('begin')} failed: init() was not called`);
    if (this.active?.open) {
      throw new KafkaError(`${this.what('begin')} failed: the previous transaction is still open`);
    }
    let t: Transaction;
    try {
      t = await this.producer.transaction();
    } catch (err) {
      throw this.fail(err, 'begin');
    }
    this.active = new KafkajsTransaction(this, t);
    return this.active;
  }

  /** @internal maps an error and remembers fencing: a fenced producer never works again */
  fail(err: unknown, op: string): KafkaError {
    const e = toKafkaError(err, this.what(op), this.ctx.brokers);
    if (e instanceof ProducerFencedError) this.fenced = e;
    return e;
  }

  /** @internal */
  get context(): ProducerContext {
    return this.ctx;
  }

  async close(): Promise<void> {
    try {
      await this.producer.disconnect();
    } catch {
      // closing a broken producer must not mask the error that made the caller close it
    }
  }
}

class KafkajsTransaction implements ProducerTransaction {
  open = true;
  private roundRobin = 0;

  constructor(
    private readonly owner: KafkajsProducer,
    private readonly tx: Transaction,
  ) {}

  private async place(topic: string, records: OutRecord[]): Promise<Placed[]> {
    const needsCount = records.some((r) => r.partition === undefined);
    const count = needsCount ? await this.owner.context.partitionCount(topic) : 0;
    return records.map((record) => {
      if (record.partition !== undefined) return { partition: record.partition, record };
      // Keyless records without a partition: round robin (the Java client is "sticky", which only
      // matters for batching efficiency, not correctness).
      const partition = record.key ? partitionForKey(record.key, count) : this.roundRobin++ % count;
      return { partition, record };
    });
  }

  async send(topic: string, records: OutRecord[], options: SendOptions = {}): Promise<WrittenRange[]> {
    if (!this.open) throw new KafkaError(`send to ${topic} failed: the transaction has ended`);
    const ranges: WrittenRange[] = [];
    if (records.length === 0) return ranges;
    const { maxSendBytes, maxSendRecords, maxRecordBytes } = this.owner.context;
    // a request holds one batch per partition: bounded by the topic's limit as well as our own
    const maxBytes = Math.min(maxSendBytes, options.maxRequestBytes ?? Infinity);
    for (const r of records) {
      const size = recordSize(r);
      if (size > maxRecordBytes) {
        throw new RecordTooLargeError(
          `send to ${topic} refused: a record of ${size} bytes is larger than one produce request may be (${maxRecordBytes} bytes, below the broker's default socket.request.max.bytes)`,
        );
      }
    }
    try {
      const placed = await this.place(topic, records);
      for (const part of chunk(placed, maxBytes, maxSendRecords)) {
        const perPartition = new Map<number, number>();
        const messages: Message[] = part.map(({ partition, record }) => {
          perPartition.set(partition, (perPartition.get(partition) ?? 0) + 1);
          return { partition, key: record.key, value: record.value, headers: record.headers };
        });
        const meta = await this.tx.send({ topic, messages, acks: -1 });
        for (const m of meta) {
          const count = perPartition.get(m.partition);
          if (count === undefined) continue;
          if (m.errorCode !== 0 || m.baseOffset === undefined) {
            throw new KafkaUnavailableError(`send to ${topic}[${m.partition}] failed: error code ${m.errorCode}`);
          }
          const first = BigInt(m.baseOffset);
          addRange(ranges, { topic, partition: m.partition, first, last: first + BigInt(count - 1), count });
          perPartition.delete(m.partition);
        }
        if (perPartition.size > 0) {
          throw new KafkaUnavailableError(`send to ${topic} failed: no produce response for partitions ${[...perPartition.keys()].join(',')}`);
        }
      }
    } catch (err) {
      throw this.owner.fail(err, `send to ${topic}`);
    }
    return ranges;
  }

  async commit(): Promise<void> {
    if (!this.open) throw new KafkaError('commit failed: the transaction has ended');
    try {
      await this.tx.commit();
    } catch (err) {
      throw this.owner.fail(err, 'commit');
    } finally {
      this.open = false;
    }
  }

  async abort(): Promise<void> {
    if (!this.open) return;
    try {
      await this.tx.abort();
    } catch (err) {
      throw this.owner.fail(err, 'abort');
    } finally {
      this.open = false;
    }
  }
}
