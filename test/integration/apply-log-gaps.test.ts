// The applier when the events a batch lists are not there: it must say what is true. Records
// deleted from a data topic (retention, deleteRecords) cannot come back: the applier stops (exit 4)
// naming the topic, partition and offsets and what to do, instead of calling them "not readable
// (deleted by retention, or the broker is behind)" and retrying for ever.
import { Kafka, logLevel } from 'kafkajs';
import { expect, it } from 'vitest';
import { dataTopic } from '../../src/core/topics.ts';
import { kafkaBrokers } from '../support/kafka.ts';
import { usePipeline } from '../support/pipeline-fixture.ts';
import { uniquePrefix } from '../support/pipeline.ts';

const fx = usePipeline({
  name: 'gaps',
  schema: `CREATE TABLE items (id int PRIMARY KEY, name text); INSERT INTO items SELECT g, 'n' || g FROM generate_series(1, 2000) g`,
  tables: ['public.items'],
});

it('events deleted from a data topic stop the applier with exit 4, naming the partition, the offsets and the way out', async () => {
  const prefix = uniquePrefix('gaps');
  const standby = await fx.standby('postgres', 'gapsby');
  const file = fx.config(prefix, { standby: { id: 'gapsby', url: standby.url }, kafka: { partitions: 1 } });
  const cap = fx.capture(file);
  await cap.waitFor('capture running');
  await fx.waitCaptured(prefix);
  await cap.kill('SIGTERM');

  // what retention would do to a standby that fell too far behind: the snapshot's events are gone
  const admin = new Kafka({ brokers: kafkaBrokers(), clientId: 'gaps-test', logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  const topic = dataTopic(prefix, { schema: 'public', table: 'items' });
  try {
    await admin.fetchTopicMetadata({ topics: [topic] }); // kafkajs needs the leaders first
    await admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: '-1' }] });
  } finally {
    await admin.disconnect();
  }

  const r = await fx.run(['apply', '-c', file], 120_000);
  expect(r.code, r.stderr.slice(-3000)).toBe(4);
  const error = r.stderr.split('\n').find((l) => l.startsWith('error: '));
  expect(error).toMatch(new RegExp(`${topic.replace(/\./g, '\\.')}\\[0\\]`));
  expect(error).toMatch(/were deleted: the log now starts at \d+/);
  expect(error).toMatch(/re-initialise it/);
  // nothing of the window was applied
  expect(await standby.appliedVersion()).toBeNull();
});
