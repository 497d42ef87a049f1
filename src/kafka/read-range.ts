// Reading a bounded range of one partition to its end, through the port: the end is proven by the
// reader's position (which counts aborted records and markers too), never guessed from an empty
// poll, so a slow consumer-group join cannot cut a read short.
import { KafkaError } from '../core/errors.ts';
import type { InRecord, KafkaPort } from './port.ts';

/** Hands every committed record of partition 0 in [from, until) to `each`, in offset order. */
export async function readRange(kafka: KafkaPort, topic: string, from: bigint, until: bigint, each: (r: InRecord) => void, timeoutMs = 60_000): Promise<void> {
  const reader = await kafka.reader([{ topic, partition: 0, from }]);
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      const done = reader.position(topic, 0) >= until;
      const records = await reader.poll(topic, 0, done ? 0 : 500);
      for (const r of records) if (r.offset < until) each(r);
      if (done && records.length === 0) return;
      if (!done && Date.now() > deadline) {
        throw new KafkaError(`${topic}: could not read up to offset ${until} within ${timeoutMs / 1000} s (at ${reader.position(topic, 0)})`);
      }
    }
  } finally {
    await reader.close();
  }
}
