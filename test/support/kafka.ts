// Kafka helpers for integration tests: the broker list chosen by global-setup.ts, unique topic
// names, and control of the local broker for fault tests (kill -9 and restart on the same data).
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, inject } from 'vitest';
import { createKafkajsPort } from '../../src/kafka/kafkajs/index.ts';
import type { KafkaPort } from '../../src/kafka/port.ts';

const run = promisify(execFile);
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const KAFKA_SH = join(ROOT, 'deploy', 'local', 'kafka.sh');
export const KAFKA_STATE = join(ROOT, 'deploy', 'local', '.kafka');

/** Bootstrap brokers for this test run (KAFKA_BROKERS, or the local broker global-setup started). */
export function kafkaBrokers(): string[] {
  const brokers = inject('kafkaBrokers');
  if (!brokers?.length) throw new Error('no Kafka brokers provided: is test/support/global-setup.ts the globalSetup?');
  return brokers;
}

/** Whether the broker is the local one that killBroker/startBroker control (not KAFKA_BROKERS). */
export function brokerIsLocal(): boolean {
  return inject('kafkaLocal') === true;
}

/** A topic name no other test (or earlier run) uses. */
export function uniqueTopic(prefix = 't'): string {
  return `${prefix}.${Date.now().toString(36)}.${randomBytes(3).toString('hex')}`;
}

/**
 * A kafkajs port on the test brokers for the calling test file: opened in beforeAll, closed in
 * afterAll. Returns its getter (the port exists only inside tests and hooks).
 */
export function useKafkaPort(clientId: string): () => KafkaPort {
  let port: KafkaPort | undefined;
  beforeAll(() => {
    port = createKafkajsPort({ brokers: kafkaBrokers(), clientId });
  });
  afterAll(async () => {
    await port?.close();
  });
  return () => {
    if (!port) throw new Error('useKafkaPort: the port is used outside a test');
    return port;
  };
}

/** Creates a topic no other test uses (`uniqueTopic(prefix)`) with `partitions` partitions. */
export async function createTopic(port: KafkaPort, prefix: string, partitions = 1): Promise<string> {
  const topic = uniqueTopic(prefix);
  const admin = await port.admin();
  try {
    await admin.ensureTopics([{ topic, partitions, replicationFactor: 1 }]);
  } finally {
    await admin.close();
  }
  return topic;
}

async function kafkaSh(cmd: 'start' | 'stop' | 'kill' | 'status'): Promise<string> {
  if (!brokerIsLocal()) throw new Error(`kafka.sh ${cmd}: the brokers come from KAFKA_BROKERS and are not controlled by tests`);
  try {
    const { stdout } = await run('bash', [KAFKA_SH, cmd], { maxBuffer: 1 << 22 });
    return stdout.trim();
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`kafka.sh ${cmd} failed: ${e.stderr || e.message}`);
  }
}

/** SIGKILL the local broker (no clean shutdown: the log has to be recovered on the next start). */
export async function killBroker(): Promise<void> {
  await kafkaSh('kill');
}

/** Start the local broker again (same data dir) and wait until it answers. */
export async function startBroker(): Promise<void> {
  await kafkaSh('start');
}

/** SIGTERM the local broker and wait for it to exit. */
export async function stopBroker(): Promise<void> {
  await kafkaSh('stop');
}
