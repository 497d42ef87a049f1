// `ctrelay status`: where the source, the batch log and the standby stand, and the lag between
// them, read from the systems themselves (no agent needs to be running).
import { SingleObjectControlCodec } from '../avro/control.ts';
import { readLastBatch } from '../kafka/batch-log.ts';
import type { Config } from '../config/schema.ts';
import type { KafkaPort } from '../kafka/port.ts';
import { createSource } from '../sources/factory.ts';
import { createDialect } from '../standby/create-dialect.ts';

export interface Status {
  source: { id: string; currentVersion: string | null; error?: string };
  capture: { seq: string; version: string; complete: boolean; capturedAt: string; tables: { table: string; cursor: string; snapshot: string }[] } | null;
  /** the batch log ends with ctrelay promote's fence: the pipeline has ended */
  fenced?: { standbyId: string; kind: string; at: string; version: string };
  standby: { id: string; kind: string; seq: string; version: string; appliedAt: string | null; lagVersions: string | null; lagBatches: string | null; error?: string } | null;
}

const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

export async function readStatus(config: Config, kafka: KafkaPort): Promise<Status> {
  const status: Status = { source: { id: config.source.id, currentVersion: null }, capture: null, standby: null };
  const source = createSource(config.source);
  try {
    await source.connect();
    const poll = await source.beginPoll();
    status.source.currentVersion = poll.currentVersion.toString();
    await poll.end();
  } catch (err) {
    status.source.error = message(err);
  } finally {
    await source.close().catch(() => undefined);
  }
  const last = await readLastBatch(kafka, config.kafka.topicPrefix, config.source.id, new SingleObjectControlCodec());
  if (last?.batch.fence) {
    const f = last.batch.fence;
    status.fenced = { standbyId: f.standbyId, kind: f.kind, at: new Date(f.atMs).toISOString(), version: f.version.toString() };
  }
  if (last) {
    const b = last.batch;
    status.capture = {
      seq: b.seq.toString(),
      version: (b.complete ? b.version : b.previousVersion).toString(),
      complete: b.complete,
      capturedAt: new Date(b.captureTsMs).toISOString(),
      tables: b.tables.map((t) => ({
        table: t.table,
        cursor: t.cursor.toString(),
        snapshot: !t.snapshot ? 'none' : t.snapshot.done ? `done (epoch ${t.snapshot.epoch})` : `in progress (epoch ${t.snapshot.epoch}, after key ${t.snapshot.lastKey ?? 'start'})`,
      })),
    };
  }
  if (config.standby) {
    const s = config.standby;
    const dialect = createDialect(s.kind, s.url);
    try {
      await dialect.connect();
      const state = await dialect.readState(config.source.id);
      const captured = status.capture ? BigInt(status.capture.version) : null;
      status.standby = {
        id: s.id, kind: s.kind,
        seq: state ? state.batchSeq.toString() : 'none', version: state ? state.version.toString() : 'none',
        appliedAt: state?.appliedAt ? state.appliedAt.toISOString() : null,
        lagVersions: state && status.source.currentVersion !== null ? (BigInt(status.source.currentVersion) - state.version).toString() : null,
        // the fence is not a batch to apply
        lagBatches: state && status.capture ? (BigInt(status.capture.seq) - (status.fenced ? 1n : 0n) - state.batchSeq).toString() : captured === null ? null : 'all',
      };
    } catch (err) {
      status.standby = { id: s.id, kind: s.kind, seq: '?', version: '?', appliedAt: null, lagVersions: null, lagBatches: null, error: message(err) };
    } finally {
      await dialect.close().catch(() => undefined);
    }
  }
  return status;
}

export function formatStatus(s: Status): string {
  const lines: string[] = [];
  lines.push(`source ${s.source.id}: ${s.source.error ? `unreachable: ${s.source.error}` : `current version ${s.source.currentVersion}`}`);
  if (s.fenced) lines.push(`pipeline ENDED: standby ${s.fenced.standbyId} was promoted (${s.fenced.kind}) at ${s.fenced.at} holding source version ${s.fenced.version}; capture and apply are fenced`);
  if (!s.capture) lines.push('capture: nothing in the batch log yet');
  else {
    lines.push(`capture: batch ${s.capture.seq}${s.capture.complete ? '' : ' (window incomplete)'}, version ${s.capture.version}, captured at ${s.capture.capturedAt}`);
    for (const t of s.capture.tables) lines.push(`  ${t.table}: cursor ${t.cursor}, snapshot ${t.snapshot}`);
  }
  if (s.standby) {
    const sb = s.standby;
    lines.push(sb.error
      ? `standby ${sb.id} (${sb.kind}): unreachable: ${sb.error}`
      : `standby ${sb.id} (${sb.kind}): batch ${sb.seq}, version ${sb.version}, applied at ${sb.appliedAt ?? 'never'}; behind by ${sb.lagVersions ?? '?'} versions, ${sb.lagBatches ?? '?'} batches`);
  }
  return lines.join('\n') + '\n';
}
