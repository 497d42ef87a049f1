// readRanges proves it reached the end by the reader's position, also when the log ends in an
// aborted transaction (records nobody may see, then a marker): no waiting for an empty poll.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createKafkajsPort } from '../../src/kafka/kafkajs/index.ts';
import type { KafkaPort } from '../../src/kafka/port.ts';
import { readRanges } from '../../src/kafka/read-to-end.ts';
import { kafkaBrokers, uniqueTopic } from '../support/kafka.ts';

let kafka: KafkaPort;
beforeAll(() => {
  kafka = createKafkajsPort({ brokers: kafkaBrokers(), clientId: 'read-range-test' });
});
afterAll(async () => kafka?.close());

it('reads committed records up to the stable offset and stops at an aborted tail', async () => {
  const topic = uniqueTopic('rr');
  const admin = await kafka.admin();
  await admin.ensureTopics([{ topic, partitions: 1, replicationFactor: 1 }]);
  const producer = kafka.producer(`rr-${topic}`);
  await producer.init();
  let tx = await producer.begin();
  await tx.send(topic, [1, 2, 3].map((i) => ({ key: null, value: Buffer.from(`c${i}`), partition: 0 })));
  await tx.commit();
  tx = await producer.begin();
  await tx.send(topic, [4, 5].map((i) => ({ key: null, value: Buffer.from(`a${i}`), partition: 0 })));
  await tx.abort();
  const [p0] = await admin.offsets(topic);
  await admin.close();
  await producer.close();
  expect(p0.stable).toBe(7n); // 3 committed + marker + 2 aborted + marker
  const seen: string[] = [];
  // readRanges throws when its reader cannot prove it reached p0.stable: returning here proves the
  // position counted the aborted records and the markers
  await readRanges(kafka, topic, [{ partition: 0, from: p0.low, until: p0.stable }], (r) => seen.push(r.value!.toString()));
  expect(seen).toEqual(['c1', 'c2', 'c3']);
});
