// Finding the capture checkpoint: the last COMMITTED record of this source in the batch log.
// The producer must be initialised (fencing and aborting any earlier instance's open transaction)
// before this runs, so that the stable offset cannot move under us.
import type { BatchRecord } from '../core/batch.ts';
import type { KafkaPort } from '../kafka/port.ts';

export interface LoggedBatch {
  batch: BatchRecord;
  offset: bigint;
}

export async function readLastBatch(
  kafka: KafkaPort,
  topic: string,
  sourceId: string,
  decode: (buf: Buffer, offset: bigint) => BatchRecord,
): Promise<LoggedBatch | null> {
  const admin = await kafka.admin();
  let low: bigint;
  let stable: bigint;
  try {
    const p0 = (await admin.offsets(topic)).find((p) => p.partition === 0);
    if (!p0 || p0.stable <= p0.low) return null;
    low = p0.low;
    stable = p0.stable;
  } finally {
    await admin.close();
  }
  // Each transaction leaves a commit or abort marker after its records, and aborted transactions
  // leave records nobody sees, so read back a window and widen it until a record turns up.
  for (let span = 64n; ; span *= 8n) {
    const from = stable - span > low ? stable - span : low;
    const reader = await kafka.reader([{ topic, partition: 0, from }]);
    let last: LoggedBatch | null = null;
    try {
      for (;;) {
        const records = await reader.poll(topic, 0, 1500);
        if (records.length === 0) break;
        let reachedEnd = false;
        for (const r of records) {
          if (r.offset >= stable) {
            reachedEnd = true;
            break;
          }
          if (r.value === null) continue;
          const batch = decode(r.value, r.offset);
          if (batch.sourceId === sourceId) last = { batch, offset: r.offset };
          if (r.offset >= stable - 2n) reachedEnd = true;
        }
        if (reachedEnd) break;
      }
    } finally {
      await reader.close();
    }
    if (last || from === low) return last;
  }
}
