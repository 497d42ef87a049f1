// The kafkajs reader after a group rejoin in the middle of a read. On every (re)join the reader
// seeks its partitions to where it stands; a batch that kafkajs fetched before that seek is then
// handed to eachBatch as stale, dropped, and fetched again. kafkajs still emits END_BATCH_PROCESS
// for the dropped batch: if the reader took that as progress, position() would claim records it
// never delivered and a control-topic read (readRanges, which ends when position() reaches the end)
// could end early. Here the rejoin's seek is made to land exactly on a batch in flight, on the real
// broker and the real kafkajs consumer.
import { Kafka, logLevel, type Consumer, type ConsumerRunConfig } from 'kafkajs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createKafkajsPort } from '../../src/kafka/kafkajs/index.ts';
import { KafkajsReader } from '../../src/kafka/kafkajs/reader.ts';
import type { InRecord, KafkaPort } from '../../src/kafka/port.ts';
import { kafkaBrokers, uniqueTopic } from '../support/kafka.ts';

let port: KafkaPort;
beforeAll(() => {
  port = createKafkajsPort({ brokers: kafkaBrokers(), clientId: 'rejoin-test' });
});
afterAll(async () => port?.close());

it('a batch dropped as stale after a rejoin does not move the reader position; every record arrives once', async () => {
  const topic = uniqueTopic('rejoin');
  const admin = await port.admin();
  await admin.ensureTopics([{ topic, partitions: 1, replicationFactor: 1 }]);

  // a kafkajs client whose consumer seeks to the batch's own first offset just before the reader
  // sees its first non-empty batch: exactly what onJoin does when a rejoin happens at that moment
  const kafka = new Kafka({ brokers: kafkaBrokers(), clientId: 'rejoin-test', logLevel: logLevel.NOTHING });
  let consumer!: Consumer;
  let armed = false;
  const stale: { firstOffset: string; lastOffset: string }[] = [];
  const proxy = new Proxy(kafka, {
    get(target, prop) {
      if (prop !== 'consumer') return Reflect.get(target, prop);
      return (config: Parameters<Kafka['consumer']>[0]) => {
        consumer = target.consumer(config);
        const run = consumer.run.bind(consumer);
        consumer.run = (cfg?: ConsumerRunConfig) => run({
          ...cfg,
          eachBatch: async (payload) => {
            if (armed && payload.batch.messages.length > 0) {
              armed = false;
              stale.push({ firstOffset: payload.batch.firstOffset()!, lastOffset: payload.batch.lastOffset() });
              consumer.seek({ topic, partition: 0, offset: payload.batch.firstOffset()! });
            }
            await cfg!.eachBatch!(payload);
          },
        });
        return consumer;
      };
    },
  });
  const reader = await KafkajsReader.open(
    { kafka: proxy, brokers: kafkaBrokers(), clientId: 'rejoin-test', operationTimeoutMs: 20_000, retries: 5, bufferRecords: 100_000, maxPollRecords: 20_000, fetchWaitMs: 200 },
    [{ topic, partition: 0, from: 0n }],
  );
  // where the reader stood right after kafkajs reported the end of the stale batch (listeners run
  // in registration order: the reader's own handler has run by then)
  const positionAfterStale: bigint[] = [];
  consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
    if (stale.length > 0 && positionAfterStale.length === 0 && payload.lastOffset === stale[0].lastOffset) positionAfterStale.push(reader.position(topic, 0));
  });

  try {
    armed = true;
    const producer = port.producer(`rejoin-${topic}`);
    await producer.init();
    const tx = await producer.begin();
    await tx.send(topic, Array.from({ length: 1000 }, (_, i) => ({ key: null, value: Buffer.from(`r${i}`), partition: 0 })));
    await tx.commit();
    await producer.close();
    // the commit markers are written after commit() returns: wait until all 1000 records are stable
    let [p0] = await admin.offsets(topic);
    while (p0.stable < 1001n) [p0] = await admin.offsets(topic);

    // read to the end the way readRanges does: done when the position reaches the stable offset
    const seen: InRecord[] = [];
    const deadline = Date.now() + 30_000;
    for (;;) {
      const done = reader.position(topic, 0) >= p0.stable;
      const records = await reader.poll(topic, 0, done ? 0 : 200);
      seen.push(...records);
      if (done && records.length === 0) break;
      if (Date.now() > deadline) throw new Error(`not at the end after 30 s: position ${reader.position(topic, 0)} of ${p0.stable}`);
    }
    expect(stale).toHaveLength(1);
    expect(positionAfterStale).toHaveLength(1);
    // the dropped batch is not progress: the reader still stands at the batch's first record
    expect(positionAfterStale[0]).toBeLessThanOrEqual(BigInt(stale[0].firstOffset));
    expect(seen.map((r) => r.value!.toString())).toEqual(Array.from({ length: 1000 }, (_, i) => `r${i}`));
    expect(seen.map((r) => r.offset)).toEqual(Array.from({ length: 1000 }, (_, i) => BigInt(i)));
  } finally {
    await reader.close();
    await admin.close();
  }
});
