// KafkaPort over kafkajs 2.2.4 (see port.ts for the contract). One kafkajs client per port; every
// producer, admin and reader made from it shares the broker list, timeouts and logging.
import { Kafka, logLevel } from 'kafkajs';
import { KafkaError } from '../../core/errors.ts';
import type { Admin, Assignment, KafkaPort, Reader, TransactionalProducer } from '../port.ts';
import { KafkajsAdmin } from './admin.ts';
import { kafkajsLogCreator, type PinoLike } from './log.ts';
import { KafkajsProducer } from './producer.ts';
import { KafkajsReader } from './reader.ts';

export type { PinoLike } from './log.ts';

export interface KafkajsPortOptions {
  brokers: string[];
  clientId?: string;
  /** kafkajs's own log lines go here (warn/debug); without a logger they are dropped */
  logger?: PinoLike;
  /** TCP connect timeout per attempt (default 3000) */
  connectionTimeoutMs?: number;
  /** one request's timeout (default 30000) */
  requestTimeoutMs?: number;
  /** kafkajs retries per operation (default 5: an unreachable broker fails in ~10 s) */
  retries?: number;
  /** upper bound for connecting and for admin calls (default 20000) */
  operationTimeoutMs?: number;
  /** broker-side timeout of an open transaction (default 60000) */
  transactionTimeoutMs?: number;
  /**
   * bytes per produce request (default 900 KB); must stay under the topics' max.message.bytes, and
   * a send may lower it per topic (SendOptions). A single record larger than it (a chunk of a large
   * event, src/kafka/chunks.ts) goes alone in its request.
   */
  maxSendBytes?: number;
  /**
   * largest single record the producer sends at all (default 100 MiB - 64 KiB): the broker closes
   * the connection on a request beyond its socket.request.max.bytes (default 100 MiB), which would
   * look like an outage; such a record is refused with RecordTooLargeError instead
   */
  maxRecordBytes?: number;
  /**
   * records per produce request (default 2000): kafkajs groups a request's messages by partition
   * with an O(n^2) array copy, so a few thousand records per request is the sweet spot
   */
  maxSendRecords?: number;
  /** reader: records buffered per partition before it is paused (default 100000) */
  readerBufferRecords?: number;
  /**
   * reader: bytes (keys + values) buffered per partition before it is paused (default 32 MiB): with
   * chunk records of ~1 MB, a record count alone would let a buffer grow to gigabytes
   */
  readerBufferBytes?: number;
  /** reader: most records one poll returns (default 20000) */
  readerMaxPollRecords?: number;
  /** reader: longest broker-side fetch wait (default 200 ms) */
  readerFetchWaitMs?: number;
}

export function createKafkajsPort(opts: KafkajsPortOptions): KafkaPort {
  if (opts.brokers.length === 0) throw new KafkaError('no Kafka brokers configured');
  const brokers = [...opts.brokers];
  const clientId = opts.clientId ?? 'ctrelay';
  const retries = opts.retries ?? 5;
  const operationTimeoutMs = opts.operationTimeoutMs ?? 20_000;
  const kafka = new Kafka({
    brokers,
    clientId,
    connectionTimeout: opts.connectionTimeoutMs ?? 3_000,
    requestTimeout: opts.requestTimeoutMs ?? 30_000,
    retry: { initialRetryTime: 250, maxRetryTime: 4_000, retries },
    logLevel: opts.logger ? logLevel.INFO : logLevel.NOTHING,
    logCreator: kafkajsLogCreator(opts.logger),
  });

  const open = new Set<{ close(): Promise<void> }>();
  const track = <T extends { close(): Promise<void> }>(x: T): T => {
    open.add(x);
    const close = x.close.bind(x);
    x.close = async () => {
      open.delete(x);
      await close();
    };
    return x;
  };

  // Partition counts for keyed sends; a topic's partition count only grows, and rarely.
  let metaAdmin: Promise<KafkajsAdmin> | null = null;
  const counts = new Map<string, { n: number; at: number }>();
  async function partitionCount(topic: string): Promise<number> {
    const hit = counts.get(topic);
    if (hit && Date.now() - hit.at < 60_000) return hit.n;
    metaAdmin ??= KafkajsAdmin.connect(kafka, brokers, operationTimeoutMs, retries).catch((err) => {
      metaAdmin = null;
      throw err;
    });
    const n = await (await metaAdmin).partitionCount(topic);
    if (n === null) throw new KafkaError(`Kafka topic ${topic} does not exist (brokers ${brokers.join(',')})`);
    counts.set(topic, { n, at: Date.now() });
    return n;
  }

  return {
    producer(transactionalId: string): TransactionalProducer {
      return track(
        new KafkajsProducer(
          {
            kafka,
            brokers,
            operationTimeoutMs,
            transactionTimeoutMs: opts.transactionTimeoutMs ?? 60_000,
            retries,
            maxSendBytes: opts.maxSendBytes ?? 900_000,
            maxSendRecords: opts.maxSendRecords ?? 2_000,
            maxRecordBytes: opts.maxRecordBytes ?? (100 << 20) - (64 << 10),
            partitionCount,
          },
          transactionalId,
        ),
      );
    },
    async admin(): Promise<Admin> {
      return track(await KafkajsAdmin.connect(kafka, brokers, operationTimeoutMs, retries));
    },
    async reader(assignments: Assignment[]): Promise<Reader> {
      if (assignments.length === 0) throw new KafkaError('a Kafka reader needs at least one assignment');
      return track(
        await KafkajsReader.open(
          {
            kafka,
            brokers,
            clientId,
            operationTimeoutMs,
            retries,
            bufferRecords: opts.readerBufferRecords ?? 100_000,
            bufferBytes: opts.readerBufferBytes ?? 32 << 20,
            maxPollRecords: opts.readerMaxPollRecords ?? 20_000,
            fetchWaitMs: opts.readerFetchWaitMs ?? 200,
          },
          assignments,
        ),
      );
    },
    async close(): Promise<void> {
      const all = [...open];
      if (metaAdmin) all.push(await metaAdmin.catch(() => ({ close: async () => {} })));
      metaAdmin = null;
      await Promise.all(all.map((x) => x.close()));
    },
  };
}
