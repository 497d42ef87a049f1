// kafkajs errors -> the classified errors of src/core/errors.ts. kafkajs wraps the real cause in
// retry and aggregate errors and knows nothing of ctrelay's context, so the message here names the
// operation and the broker list, and the original error stays reachable as `cause`.
//   fenced                      -> ProducerFencedError (stop: a newer instance owns the id)
//   refusals retrying cannot heal (authorization, authentication, too large, invalid topic or
//   config)                     -> KafkaError (stop, exit 4); too large: RecordTooLargeError, so
//                                  that capture can name the table, key and column it was sending
//   everything else             -> KafkaUnavailableError (wait and resume from the checkpoint)
import { KafkaError, KafkaUnavailableError, ProducerFencedError } from '../../core/errors.ts';
import { RecordTooLargeError } from '../port.ts';

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
const FENCED_TYPES = new Set(['INVALID_PRODUCER_EPOCH', 'PRODUCER_FENCED']);

/** Broker answers that mean the request itself is refused, whatever the retry (Kafka's non-retriable errors that ctrelay can meet). */
const PERMANENT_TYPES = new Set([
  'TOPIC_AUTHORIZATION_FAILED', 'GROUP_AUTHORIZATION_FAILED', 'CLUSTER_AUTHORIZATION_FAILED',
  'TRANSACTIONAL_ID_AUTHORIZATION_FAILED', 'SASL_AUTHENTICATION_FAILED', 'UNSUPPORTED_SASL_MECHANISM',
  'ILLEGAL_SASL_STATE', 'MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE', 'INVALID_TOPIC_EXCEPTION',
  'INVALID_CONFIG', 'INVALID_REPLICATION_FACTOR', 'INVALID_PARTITIONS', 'POLICY_VIOLATION',
  'UNSUPPORTED_VERSION', 'INVALID_RECORD', 'UNSUPPORTED_FOR_MESSAGE_FORMAT',
]);
const PERMANENT_NAMES = new Set(['KafkaJSSASLAuthenticationError', 'KafkaJSServerDoesNotSupportApiKey']);

/** Whether any error in kafkajs's wrapper chain satisfies `test`. */
function anyInChain(err: unknown, test: (e: KafkajsLikeError) => boolean): boolean {
  for (let e = err as KafkajsLikeError | undefined, i = 0; e && typeof e === 'object' && i < 10; i++) {
    if (test(e)) return true;
    e = (e.originalError ?? e.cause ?? (Array.isArray(e.errors) ? e.errors[0] : undefined)) as KafkajsLikeError | undefined;
  }
  return false;
}

export function isFenced(err: unknown): boolean {
  return anyInChain(err, (e) => (e.type !== undefined && FENCED_TYPES.has(e.type)) || /error code 90\b/.test(e.message ?? ''));
}

const TOO_LARGE_TYPES = new Set(['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE']);

/** The broker refused records as larger than the topic takes. */
export function isTooLarge(err: unknown): boolean {
  return anyInChain(err, (e) => e.type !== undefined && TOO_LARGE_TYPES.has(e.type));
}

/** A refusal that retrying cannot heal (see PERMANENT_TYPES). */
export function isPermanentRefusal(err: unknown): boolean {
  return anyInChain(err, (e) => (e.type !== undefined && PERMANENT_TYPES.has(e.type)) || (e.name !== undefined && PERMANENT_NAMES.has(e.name)));
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
  if (isTooLarge(err)) return new RecordTooLargeError(`${what} failed (${where}): ${describe(err)}`, { cause: err });
  if (isPermanentRefusal(err)) return new KafkaError(`${what} failed (${where}): ${describe(err)}`, { cause: err });
  if (isConnectionProblem(err)) {
    return new KafkaUnavailableError(`${what} failed: Kafka is unreachable at ${where}: ${describe(err)}`, { cause: err });
  }
  return new KafkaUnavailableError(`${what} failed (${where}): ${describe(err)}`, { cause: err });
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
      reject(new KafkaUnavailableError(`${what} failed: no answer from Kafka at brokers ${brokers.join(',')} within ${ms} ms`));
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
