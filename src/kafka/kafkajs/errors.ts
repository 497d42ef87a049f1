// kafkajs errors -> KafkaError. kafkajs wraps the real cause in retry and aggregate errors and knows
// nothing of ctrelay's context, so the message here names the operation and the broker list, and
// the original error stays reachable as `cause`.
import { KafkaError } from '../../core/errors.ts';

/** The producer lost its transactional id to a newer instance: it must stop, not retry. */
export class ProducerFencedError extends KafkaError {}

interface KafkajsLikeError {
  name?: string;
  message?: string;
  type?: string;
  code?: number | string;
  originalError?: unknown;
  cause?: unknown;
  errors?: unknown[];
}

/** The innermost error of kafkajs's retry / aggregate wrappers. */
export function rootCause(err: unknown): unknown {
  let e = err as KafkajsLikeError | undefined;
  for (let i = 0; i < 10 && e && typeof e === 'object'; i++) {
    const next = e.originalError ?? e.cause ?? (Array.isArray(e.errors) ? e.errors[0] : undefined);
    if (!next || next === e) break;
    e = next as KafkajsLikeError;
  }
  return e;
}

// Kafka answers INVALID_PRODUCER_EPOCH (47) to the old request versions kafkajs speaks;
// PRODUCER_FENCED (90) is unknown to kafkajs and surfaces as "Unknown error code 90".
const FENCED_TYPES = new Set(['INVALID_PRODUCER_EPOCH', 'PRODUCER_FENCED', 'TRANSACTIONAL_ID_AUTHORIZATION_FAILED']);

export function isFenced(err: unknown): boolean {
  for (let e = err as KafkajsLikeError | undefined, i = 0; e && typeof e === 'object' && i < 10; i++) {
    if ((e.type && FENCED_TYPES.has(e.type)) || /error code 90\b/.test(e.message ?? '')) return true;
    e = (e.originalError ?? e.cause ?? (Array.isArray(e.errors) ? e.errors[0] : undefined)) as KafkajsLikeError | undefined;
  }
  return false;
}

const CONNECTION_NAMES = new Set([
  'KafkaJSConnectionError',
  'KafkaJSConnectionClosedError',
  'KafkaJSRequestTimeoutError',
  'KafkaJSBrokerNotFound',
  'KafkaJSNoBrokerAvailableError',
  'KafkaJSMetadataNotLoaded',
  'KafkaJSGroupCoordinatorNotFound',
]);

export function isConnectionProblem(err: unknown): boolean {
  const root = rootCause(err) as KafkajsLikeError | undefined;
  if (!root || typeof root !== 'object') return false;
  if (root.name && CONNECTION_NAMES.has(root.name)) return true;
  return /ECONNREFUSED|ETIMEDOUT|EHOSTUNREACH|ENOTFOUND|Connection (timeout|error)|Closed connection/i.test(
    root.message ?? '',
  );
}

function describe(err: unknown): string {
  const root = rootCause(err) as KafkajsLikeError | undefined;
  if (!root || typeof root !== 'object') return String(err);
  const type = root.type && !String(root.message).includes(root.type) ? ` (${root.type})` : '';
  return `${root.message ?? String(root)}${type}`;
}

/** Wraps any error of a kafkajs call; `what` names the operation, e.g. `commit of transaction "t1"`. */
export function toKafkaError(err: unknown, what: string, brokers: readonly string[]): KafkaError {
  if (err instanceof KafkaError) return err;
  const where = `brokers ${brokers.join(',')}`;
  if (isFenced(err)) {
    return new ProducerFencedError(
      `${what} failed: the producer was fenced by a newer instance with the same transactional id (${where})`,
      { cause: err },
    );
  }
  if (isConnectionProblem(err)) {
    return new KafkaError(`${what} failed: Kafka is unreachable at ${where}: ${describe(err)}`, { cause: err });
  }
  return new KafkaError(`${what} failed (${where}): ${describe(err)}`, { cause: err });
}

/**
 * Bounds a kafkajs call: some of its retry loops nest (cluster x broker x request) and can run for
 * minutes against a dead broker. On timeout `onTimeout` runs (to disconnect the client, which stops
 * the loops) and the KafkaError names the broker list.
 */
export async function withDeadline<T>(
  op: Promise<T>,
  ms: number,
  what: string,
  brokers: readonly string[],
  onTimeout?: () => unknown,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      try {
        void Promise.resolve(onTimeout?.()).catch(() => {});
      } catch {
        // best effort: the timeout error below is what matters
      }
      reject(new KafkaError(`${what} failed: no answer from Kafka at brokers ${brokers.join(',')} within ${ms} ms`));
    }, ms);
  });
  try {
    return await Promise.race([op, deadline]);
  } catch (err) {
    throw toKafkaError(err, what, brokers);
  } finally {
    clearTimeout(timer);
  }
}
