// The Kafka half of fencing a pipeline at promotion: one more batch record carrying a FenceMark,
// written in a transaction of capture's own transactional id. init() of that id fences a capture
// that is still running (its next commit fails and it stops, naming the promotion); a capture that
// starts later finds the fence as the last record and refuses to publish; appliers apply every
// batch before it and stop at it. Idempotent: a log that already ends with a fence keeps it.
import type { BatchRecord, FenceMark } from '../core/batch.ts';
import type { ControlCodec } from '../core/codec.ts';
import { CtrelayError } from '../core/errors.ts';
import { batchesTopic, captureTransactionalId } from '../core/topics.ts';
import { readLastBatch } from '../kafka/batch-log.ts';
import type { KafkaPort } from '../kafka/port.ts';
import { readLast } from '../kafka/read-to-end.ts';

export interface FencedLog {
  /** the fence record (written now, or found) */
  fence: BatchRecord;
  /** the last complete batch before it (null: the log held none), what a drained standby holds */
  lastComplete: { seq: bigint; version: bigint; commitTsMs: number | null } | null;
}

export async function fenceBatchLog(kafka: KafkaPort, prefix: string, sourceId: string, control: ControlCodec, mark: Omit<FenceMark, 'version'>): Promise<FencedLog> {
  const producer = kafka.producer(captureTransactionalId(prefix, sourceId));
  try {
    await producer.init();
    const last = (await readLastBatch(kafka, prefix, sourceId, control))?.batch;
    if (last?.fence) return { fence: last, lastComplete: summary(await lastCompleteBefore(kafka, prefix, sourceId, control, last)) };
    if (!last) throw new CtrelayError(`promote: the batch log ${batchesTopic(prefix)} holds no batch of source ${sourceId}: nothing was ever replicated to promote`);
    // after an incomplete window (capture stopped mid-window) the standby holds the window before
    // it: the fence carries that window's version and table states (what a re-snapshot waits on)
    const complete = last.complete ? last : await lastCompleteBefore(kafka, prefix, sourceId, control, last);
    const version = last.complete ? last.version : last.previousVersion;
    const seq = last.seq + 1n;
    const fence: BatchRecord = {
      sourceId, seq, windowSeq: seq, version, previousVersion: version, complete: true, ranges: [],
      tables: (complete ?? last).tables.map((t) => ({ ...t, rows: 0 })),
      captureTsMs: Date.now(), commitTsMs: null, mode: last.mode,
      fence: { ...mark, version },
    };
    const tx = await producer.begin();
    await tx.send(batchesTopic(prefix), [{ key: Buffer.from(sourceId), value: control.encodeBatch(fence), partition: 0 }]);
    await tx.commit();
    return { fence, lastComplete: summary(complete) };
  } finally {
    await producer.close().catch(() => undefined);
  }
}

/** The newest complete batch before `b` (a fence or an incomplete window's page), read back from the end. */
async function lastCompleteBefore(kafka: KafkaPort, prefix: string, sourceId: string, control: ControlCodec, b: BatchRecord): Promise<BatchRecord | null> {
  const topic = batchesTopic(prefix);
  const found = await readLast(kafka, topic, (r) => {
    if (r.value === null) return undefined;
    const x = control.decodeBatch(r.value, `${topic}[0]@${r.offset}`);
    return x.sourceId === sourceId && x.seq < b.seq && x.complete && !x.fence ? x : undefined;
  });
  return found?.value ?? null;
}

function summary(b: BatchRecord | null): FencedLog['lastComplete'] {
  return b && { seq: b.seq, version: b.version, commitTsMs: b.commitTsMs };
}
