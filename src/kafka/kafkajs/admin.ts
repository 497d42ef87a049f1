// Admin over kafkajs. Offsets come from ListOffsets v2+, which kafkajs sends with isolation level
// READ_COMMITTED when none is given (admin clients never set one), so `high` there is the last
// stable offset, not the high watermark; the integration test checks this with an open transaction.
import type { Admin as KjsAdmin, ConfigResourceTypes, Kafka } from 'kafkajs';
import type { Admin, PartitionOffsets, TopicSpec } from '../port.ts';
import { rootCause, withDeadline } from './errors.ts';

/** ConfigResourceTypes.TOPIC (kafkajs's enum is not an ES module export: its value, as Kafka defines it) */
const TOPIC_RESOURCE = 2 as ConfigResourceTypes;

export class KafkajsAdmin implements Admin {
  private constructor(
    private readonly admin: KjsAdmin,
    private readonly brokers: readonly string[],
    private readonly timeoutMs: number,
  ) {}

  static async connect(kafka: Kafka, brokers: readonly string[], timeoutMs: number, retries: number): Promise<KafkajsAdmin> {
    const admin = kafka.admin({ retry: { retries } });
    await withDeadline(admin.connect(), timeoutMs, 'connect of Kafka admin', brokers, () => admin.disconnect());
    return new KafkajsAdmin(admin, brokers, timeoutMs);
  }

  private run<T>(what: string, op: () => Promise<T>): Promise<T> {
    return withDeadline(op(), this.timeoutMs, what, this.brokers);
  }

  /** Topic name -> partition count, from one metadata request for all topics. */
  private async topics(): Promise<Map<string, number>> {
    const { topics } = await this.admin.fetchTopicMetadata();
    return new Map(topics.map((t) => [t.name, t.partitions.length]));
  }

  async ensureTopics(specs: TopicSpec[]): Promise<void> {
    const names = specs.map((s) => s.topic).join(',');
    await this.run(`creating Kafka topics ${names}`, async () => {
      const existing = await this.topics();
      const missing = specs.filter((s) => !existing.has(s.topic));
      if (missing.length === 0) return;
      try {
        await this.admin.createTopics({
          waitForLeaders: true,
          topics: missing.map((s) => ({
            topic: s.topic,
            numPartitions: s.partitions,
            replicationFactor: s.replicationFactor,
            configEntries: Object.entries(s.config ?? {}).map(([name, value]) => ({ name, value })),
          })),
        });
      } catch (err) {
        // Another process may create the same topics at the same moment; that is success, as long
        // as every topic now exists.
        const root = rootCause(err) as { type?: string } | undefined;
        if (root?.type !== 'TOPIC_ALREADY_EXISTS') throw err;
        const now = await this.topics();
        const still = missing.filter((s) => !now.has(s.topic));
        if (still.length > 0) throw err;
      }
    });
  }

  async partitionCount(topic: string): Promise<number | null> {
    return this.run(`reading metadata of Kafka topic ${topic}`, async () => (await this.topics()).get(topic) ?? null);
  }

  async maxMessageBytes(topics: string[]): Promise<Map<string, number | null>> {
    const out = new Map<string, number | null>();
    if (topics.length === 0) return out;
    return this.run(`reading max.message.bytes of Kafka topics ${topics.join(',')}`, async () => {
      const existing = await this.topics();
      const present = topics.filter((t) => existing.has(t));
      for (const t of topics) out.set(t, null);
      if (present.length === 0) return out;
      const { resources } = await this.admin.describeConfigs({
        includeSynonyms: false,
        resources: present.map((name) => ({ type: TOPIC_RESOURCE, name, configNames: ['max.message.bytes'] })),
      });
      for (const r of resources) {
        const entry = r.configEntries.find((e) => e.configName === 'max.message.bytes');
        const n = entry ? Number(entry.configValue) : NaN;
        if (Number.isSafeInteger(n) && n > 0) out.set(r.resourceName, n);
      }
      return out;
    });
  }

  async offsets(topic: string): Promise<PartitionOffsets[]> {
    return this.run(`reading offsets of Kafka topic ${topic}`, async () => {
      const rows = await this.admin.fetchTopicOffsets(topic);
      return rows
        .map((r) => ({ partition: r.partition, low: BigInt(r.low), stable: BigInt(r.high) }))
        .sort((a, b) => a.partition - b.partition);
    });
  }

  async close(): Promise<void> {
    try {
      await this.admin.disconnect();
    } catch {
      // nothing useful to do with a failed disconnect
    }
  }
}
