// The batch log's last COMMITTED record of a source: capture's checkpoint, and where status and
// the applier's lag metrics see the newest captured batch.
// For capture, its producer must be initialised (fencing and aborting any earlier instance's open
// transaction) before this runs, so that the stable offset cannot move under it.
import type { BatchRecord } from '../core/batch.ts';
import type { ControlCodec } from '../core/codec.ts';
import { batchesTopic } from '../core/topics.ts';
import type { KafkaPort } from './port.ts';
import { readLast } from './read-to-end.ts';

export interface LoggedBatch {
  batch: BatchRecord;
  offset: bigint;
}

/** The last batch record of `sourceId` in `<prefix>.batches`, or null when it has none (or no log exists). */
export async function readLastBatch(kafka: KafkaPort, prefix: string, sourceId: string, control: ControlCodec): Promise<LoggedBatch | null> {
  const topic = batchesTopic(prefix);
  const last = await readLast(kafka, topic, (r) => {
    if (r.value === null) return undefined;
    const batch = control.decodeBatch(r.value, `${topic}[0]@${r.offset}`);
    return batch.sourceId === sourceId ? batch : undefined;
  });
  return last && { batch: last.value, offset: last.offset };
}
