// Finding the capture checkpoint: the last COMMITTED record of this source in the batch log.
// The producer must be initialised (fencing and aborting any earlier instance's open transaction)
// before this runs, so that the stable offset cannot move under us.
import type { BatchRecord } from '../core/batch.ts';
import type { KafkaPort } from '../kafka/port.ts';
import { readRange } from '../kafka/read-range.ts';

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
  // leave records nobody sees, so read back a span and widen it until a record turns up. A span
  // is read to the stable offset, proven by the reader's position, never to "a poll came back
  // empty": a slow (re)join would otherwise hand back an older checkpoint and reuse seqs.
  for (let span = 64n; ; span *= 8n) {
    const from = stable - span > low ? stable - span : low;
    let last: LoggedBatch | null = null;
    await readRange(kafka, topic, from, stable, (r) => {
      if (r.value === null) return;
      const batch = decode(r.value, r.offset);
      if (batch.sourceId === sourceId) last = { batch, offset: r.offset };
    });
    if (last || from === low) return last;
  }
}
