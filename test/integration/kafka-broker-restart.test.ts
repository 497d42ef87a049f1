// kill -9 of the local broker: committed data survives, an open transaction is aborted by the
// restarted coordinator, and a reader opened before the crash carries on after the restart.
import { describe, expect, it } from 'vitest';
import type { InRecord } from '../../src/kafka/port.ts';
import { brokerIsLocal, createTopic, killBroker, startBroker, uniqueTopic, useKafkaPort } from '../support/kafka.ts';

const kafka = useKafkaPort('kafka-restart-test');

const rec = (v: string) => ({ key: null, value: Buffer.from(v), partition: 0 });

describe.skipIf(!brokerIsLocal())('local broker kill -9', () => {
  it('keeps committed records, drops the open transaction, and the reader resumes', async () => {
    const t = await createTopic(kafka(), 'restart');

    const id = uniqueTopic('tx');
    const producer = kafka().producer(id);
    await producer.init();
    const tx = await producer.begin();
    await tx.send(t, [rec('before-1'), rec('before-2')]);
    await tx.commit();
    const open = await producer.begin();
    await open.send(t, [rec('in-flight')]);

    const reader = await kafka().reader([{ topic: t, partition: 0, from: 0n }]);
    const got: InRecord[] = [];
    while (got.length < 2) got.push(...(await reader.poll(t, 0, 500)));

    await killBroker();
    await producer.close();
    await startBroker();

    // A new instance fences the old one; the coordinator aborts the transaction left open.
    const again = kafka().producer(id);
    await again.init();
    const tx2 = await again.begin();
    await tx2.send(t, [rec('after-1')]);
    await tx2.commit();
    await again.close();

    const deadline = Date.now() + 90_000;
    while (got.length < 3 && Date.now() < deadline) got.push(...(await reader.poll(t, 0, 1_000)));
    got.push(...(await reader.poll(t, 0, 1_000)));
    await reader.close();
    expect(got.map((r) => r.value!.toString())).toEqual(['before-1', 'before-2', 'after-1']);
  });
});
