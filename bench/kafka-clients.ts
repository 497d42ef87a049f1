// Issue 15, choosing the Kafka client by measurement: kafkajs (ctrelay's adapter today, in
// maintenance since 2023) against @platformatic/kafka 1.x (pure JavaScript, maintained), the latter
// with its defaults and with a 20 ms retry on CONCURRENT_TRANSACTIONS (see quickRetry). All are
// used raw, not through src/kafka, against the same broker in the same run. Records are shaped like
// ctrelay's: 20-byte keys, 200-byte binary values, explicit partitions over 3, and a fresh topic per
// client and run.
//   (1) transactional produce: BENCH_RECORDS records in transactions of 5,000 (transactional id,
//       idempotent, acks=all, one request in flight), BENCH_SEND_RECORDS per send() call. Prints
//       records/s and the process CPU time (user + system) per record.
//   (2) read_committed consume of those records from the beginning, with a fresh consumer group
//       (neither client's streaming consumer reads without one). Prints records/s from consumer
//       creation (group join and first fetch included) and over the last 90 % of records (steady).
//   (3) start-up: client creation to the first committed transaction (of one record).
// It also checks exactly-once basics of @platformatic/kafka and prints PASS/FAIL lines (exit code 1
// on any FAIL): aborted transactions stay invisible to read_committed readers, and a second
// producer with the same transactional id fences the first. kafkajs's reader reads the same topics
// as a control, so a platformatic FAIL is the client's fault and not the check's.
//
//   npm run bench:kafka-clients      (node --import tsx bench/kafka-clients.ts)
//   BENCH_RECORDS=200000 BENCH_RUNS=3 BENCH_SEND_RECORDS=2500 KAFKA_BROKERS=host:port
// Prints medians of BENCH_RUNS runs; asserts nothing about timing.
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Consumer, FetchIsolationLevels, MessagesStreamModes, Producer, type ProducerOptions } from '@platformatic/kafka';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { BROKERS, ensureBroker, fmtRate, fmtRuns, machineLine, median, RUNS, uniquePrefix } from './support.ts';

const RECORDS = Number(process.env.BENCH_RECORDS ?? 200_000);
const TXN_RECORDS = 5_000;
// kafkajs groups one send's messages by partition with an O(n^2) copy, so ctrelay's adapter sends
// at most 2,000 per request. 2,500 splits a transaction evenly and is used for both clients.
const SEND_RECORDS = Number(process.env.BENCH_SEND_RECORDS ?? 2_500);
const PARTITIONS = 3;
// the fetch sizes of ctrelay's reader (src/kafka/kafkajs/reader.ts), for both consumers
interface Fetch { maxBytes: number; perPartition: number; waitMs: number }
const FETCH: Fetch = { maxBytes: 16 << 20, perPartition: 4 << 20, waitMs: 200 };
// The transaction timeout of ctrelay's adapter. @platformatic/kafka has no separate setting: its
// request timeout (`timeout`, default 5 s) is also the transaction timeout it gives the broker.
const TXN_TIMEOUT_MS = 60_000;
const version = (pkg: string): string =>
  JSON.parse(readFileSync(new URL(`../node_modules/${pkg}/package.json`, import.meta.url), 'utf8')).version;

interface Rec { key: Buffer; value: Buffer; partition: number }
const rec = (key: string, partition = 0): Rec => ({ key: Buffer.from(key), value: randomBytes(200), partition });
// One record set for every run and client. The values are random so nothing compresses by accident.
function makeRecords(n: number): Rec[] {
  const values = randomBytes(n * 200);
  return Array.from({ length: n }, (_, i) => ({
    key: Buffer.from(`order:${String(i).padStart(14, '0')}`),
    value: values.subarray(i * 200, (i + 1) * 200),
    partition: i % PARTITIONS,
  }));
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: timed out after ${ms} ms`)), ms)));
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

// Both clients go behind this small shape. The mapping from Rec to each client's message happens
// inside send() and is timed, because an adapter has to do the same work.
interface Txn { send(recs: Rec[]): Promise<unknown>; commit(): Promise<unknown>; abort(): Promise<unknown> }
interface TxnProducer { begin(): Promise<Txn>; close(): Promise<unknown> }
/** reads `topic` from the beginning, read_committed; onRecord returns true once it has seen enough */
type ReadFn = (topic: string, fetch: Fetch, onRecord: (key: Buffer | null | undefined) => boolean) => Promise<void>;

const kafkajs = (clientId: string) =>
  new Kafka({ brokers: BROKERS, clientId, logLevel: logLevel.NOTHING, retry: { retries: 5 } });

function kafkajsProducer(topic: string, transactionalId: string): TxnProducer {
  const producer = kafkajs('bench-kafkajs').producer({
    transactionalId, idempotent: true, maxInFlightRequests: 1, transactionTimeout: TXN_TIMEOUT_MS, allowAutoTopicCreation: false,
  });
  let connected: Promise<void> | null = null;
  return {
    async begin() {
      await (connected ??= producer.connect());
      const tx = await producer.transaction();
      const send = (recs: Rec[]) => tx.send({ topic, acks: -1, messages: recs.map((r) => ({ key: r.key, value: r.value, partition: r.partition })) });
      return { send, commit: () => tx.commit(), abort: () => tx.abort() };
    },
    close: () => producer.disconnect(),
  };
}

// After a commit, the coordinator answers the next transaction's AddPartitionsToTxn with
// CONCURRENT_TRANSACTIONS until it has written the commit markers. @platformatic/kafka then waits its
// retryDelay, 1 s by default; the Java client waits 20 ms in that case. One variant does the same.
const quickRetry = (_c: unknown, _op: string, _n: number, _r: number, e: Error): number => (hasApiError(e, 'CONCURRENT_TRANSACTIONS') ? 20 : 1_000);
const hasApiError = (e: unknown, id: string): boolean => !!(e as { findBy?: (p: string, v: unknown) => unknown })?.findBy?.('apiId', id);

type PlatformaticOptions = Partial<ProducerOptions<Buffer, Buffer, Buffer, Buffer>>;
const platformatic = (transactionalId: string, extra: PlatformaticOptions = {}) =>
  // idempotent: true makes it acks=all with one request in flight (its constructor forces both)
  new Producer({ clientId: 'bench-platformatic', bootstrapBrokers: BROKERS, transactionalId, idempotent: true, retries: 5, timeout: TXN_TIMEOUT_MS, ...extra });

function platformaticProducer(topic: string, transactionalId: string, extra: PlatformaticOptions = {}): TxnProducer {
  const producer = platformatic(transactionalId, extra);
  return {
    async begin() {
      const tx = await producer.beginTransaction();
      const send = (recs: Rec[]) => tx.send({ messages: recs.map((r) => ({ topic, key: r.key, value: r.value, partition: r.partition })) });
      return { send, commit: () => tx.commit(), abort: () => tx.abort() };
    },
    close: () => producer.close(),
  };
}

const readKafkajs: ReadFn = async (topic, fetch, onRecord) => {
  const consumer = kafkajs('bench-kafkajs').consumer({
    groupId: `bench-kafkajs.${randomUUID()}`, readUncommitted: false, allowAutoTopicCreation: false,
    maxBytes: fetch.maxBytes, maxBytesPerPartition: fetch.perPartition, maxWaitTimeInMs: fetch.waitMs, minBytes: 1,
  });
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await new Promise<void>((resolve) => {
      // eachBatch, as ctrelay's reader does: kafkajs has already dropped aborted and control records
      void consumer.run({ eachBatch: async ({ batch }) => { for (const m of batch.messages) if (onRecord(m.key)) resolve(); } });
    });
  } finally {
    await consumer.disconnect();
  }
};

const readPlatformatic: ReadFn = async (topic, fetch, onRecord) => {
  const consumer = new Consumer({
    clientId: 'bench-platformatic', bootstrapBrokers: BROKERS, groupId: `bench-platformatic.${randomUUID()}`,
    maxBytes: fetch.maxBytes, maxBytesPerPartition: fetch.perPartition, maxWaitTime: fetch.waitMs,
    isolationLevel: FetchIsolationLevels.READ_COMMITTED, autocommit: false,
  });
  try {
    // consume() always joins the group. Its raw consumer.fetch() needs none, but it leaves offset
    // tracking and control records to the caller.
    const stream = await consumer.consume({ topics: [topic], mode: MessagesStreamModes.EARLIEST, autocommit: false });
    try {
      await new Promise<void>((resolve, reject) => {
        stream.on('data', (m) => { if (onRecord(m.key)) resolve(); });
        stream.on('error', reject);
      });
    } finally {
      await stream.close();
    }
  } finally {
    await consumer.close(true);
  }
};

interface Result { produce: number; cpuUs: number; startupMs: number; consume: number; steady: number; firstMs: number; readCpuUs: number }

async function produceRun(p: TxnProducer, recs: Rec[], created: number): Promise<Pick<Result, 'produce' | 'cpuUs' | 'startupMs'>> {
  try {
    const first = await p.begin();
    await first.send([rec('startup')]);
    await first.commit();
    const startupMs = performance.now() - created;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    for (let i = 0; i < recs.length; i += TXN_RECORDS) {
      const end = Math.min(i + TXN_RECORDS, recs.length);
      const tx = await p.begin();
      for (let j = i; j < end; j += SEND_RECORDS) await tx.send(recs.slice(j, Math.min(j + SEND_RECORDS, end)));
      await tx.commit();
    }
    const s = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    return { produce: recs.length / s, cpuUs: (cpu.user + cpu.system) / recs.length, startupMs };
  } finally {
    await p.close();
  }
}

async function consumeRun(read: ReadFn, topic: string, expected: number): Promise<Pick<Result, 'consume' | 'steady' | 'firstMs' | 'readCpuUs'>> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let n = 0, tFirst = 0, t10 = 0, n10 = 0, tEnd = 0;
  await withTimeout(read(topic, FETCH, () => {
    const now = performance.now();
    if (n++ === 0) tFirst = now;
    if (!t10 && n >= expected / 10) [t10, n10] = [now, n];
    if (n === expected) tEnd = now;
    return n >= expected;
  }), 300_000, `reading ${topic}`);
  const cpu = process.cpuUsage(cpu0); // up to the consumer's close, which is cheap
  return { consume: n / ((tEnd - t0) / 1000), steady: (n - n10) / ((tEnd - t10) / 1000), firstMs: tFirst - t0, readCpuUs: (cpu.user + cpu.system) / n };
}

async function createTopic(admin: Admin, topic: string, numPartitions: number): Promise<void> {
  await admin.createTopics({ topics: [{ topic, numPartitions, replicationFactor: 1 }], waitForLeaders: true });
}

// ---- exactly-once checks of @platformatic/kafka ------------------------------------------------
let failed = false;
function report(pass: boolean, what: string): void {
  console.log(`${pass ? 'PASS' : 'FAIL'} ${what}`);
  if (!pass) failed = true;
}
const FENCING = ['PRODUCER_FENCED', 'INVALID_PRODUCER_EPOCH'];
const errId = (e: unknown): string | null =>
  e ? (FENCING.find((id) => hasApiError(e, id)) ?? `${(e as Error & { code?: string }).code ?? 'error'}: ${(e as Error).message}`) : null;
const isFencing = (e: unknown): boolean => FENCING.includes(errId(e) ?? '');

/** every key a read_committed reader returns, up to and including `lastKey` (one partition: offset order) */
async function keysUpTo(read: ReadFn, topic: string, lastKey: string, fetch = FETCH): Promise<string[]> {
  const keys: string[] = [];
  const done = read(topic, fetch, (k) => {
    keys.push(String(k));
    return String(k) === lastKey;
  });
  await withTimeout(done, 60_000, `reading ${topic} up to ${lastKey}`).catch((e) => keys.push(`(${e.message})`));
  return keys;
}

async function checkAborted(admin: Admin): Promise<void> {
  // Transactions of one producer, in order: C commits (10 records), A aborts. The second layout puts
  // two aborted transactions of one producer into one fetch response. The third makes one aborted
  // transaction span many small fetches, so no response holds both its records and its abort marker.
  const small: Fetch = { maxBytes: 64 << 10, perPartition: 64 << 10, waitMs: 200 };
  const layouts = [
    { what: 'one aborted transaction between committed ones', txns: 'CAC', abortedSize: 10, fetch: FETCH },
    { what: 'two aborted transactions of one producer within one fetch', txns: 'CACAC', abortedSize: 10, fetch: FETCH },
    { what: 'an aborted transaction of 2,000 records read in 64 KiB fetches', txns: 'CAC', abortedSize: 2_000, fetch: small },
  ];
  for (const l of layouts) {
    const topic = uniquePrefix('kafka-clients.aborted');
    await createTopic(admin, topic, 1);
    const p = platformaticProducer(topic, `${topic}.txn`);
    let lastKey = '';
    try {
      for (let t = 0; t < l.txns.length; t++) {
        const tx = await p.begin();
        const n = l.txns[t] === 'C' ? 10 : l.abortedSize;
        const recs = Array.from({ length: n }, (_, i) => rec(`${l.txns[t]}${t}-${i}`));
        for (let i = 0; i < n; i += 100) await tx.send(recs.slice(i, i + 100)); // 100-record batches
        await (l.txns[t] === 'C' ? tx.commit() : tx.abort());
        if (l.txns[t] === 'C') lastKey = `C${t}-${n - 1}`;
      }
    } finally {
      await p.close();
    }
    const committed = [...l.txns].filter((x) => x === 'C').length * 10;
    for (const [name, read] of [['@platformatic/kafka', readPlatformatic], ['kafkajs (control)', readKafkajs]] as const) {
      const keys = await keysUpTo(read, topic, lastKey, l.fetch);
      const aborted = keys.filter((k) => k.startsWith('A')).length;
      report(aborted === 0 && keys.length === committed,
        `${name} read_committed: ${l.what}: ${keys.length - aborted} of ${committed} committed records read, ${aborted} aborted`);
    }
    await admin.deleteTopics({ topics: [topic] });
  }
}

// `fix` passes producerId -1n / producerEpoch -1 to every producer. By default the client sends
// InitProducerId with producer id 0 and epoch 0, where Kafka expects -1/-1 from a new instance;
// for a transactional id that was used before, the coordinator answers PRODUCER_FENCED.
async function checkFencing(admin: Admin, fix: boolean): Promise<void> {
  const what = `@platformatic/kafka fencing (${fix ? 'producerId -1n, producerEpoch -1' : 'default options'})`;
  const topic = uniquePrefix('kafka-clients.fencing');
  await createTopic(admin, topic, 1);
  const msgs = (key: string) => ({ messages: [{ topic, key: Buffer.from(key), value: randomBytes(200), partition: 0 }] });
  const [a, b] = [0, 1].map(() => platformatic(`${topic}.txn`, fix ? { producerId: -1n, producerEpoch: -1 } : {}));
  const attempt = async (p: Producer, key: string): Promise<string> => {
    let step = 'beginTransaction';
    try {
      const t = await p.beginTransaction();
      step = 'send';
      await t.send(msgs(key));
      step = 'commit';
      await t.commit();
      return 'commits';
    } catch (e) {
      return `fails at ${step} (${errId(e)})`;
    }
  };
  try {
    const t1 = await a.beginTransaction();
    await t1.send(msgs('a-committed'));
    await t1.commit();
    const zombie = await a.beginTransaction();
    await zombie.send(msgs('a-open'));
    // B's first beginTransaction runs InitProducerId: that bumps the epoch and aborts A's open transaction
    const tb = await b.beginTransaction().catch((e) => `no, ${errId(e)}`);
    report(typeof tb !== 'string', `${what}: a second producer with the same transactional id starts: ${typeof tb === 'string' ? tb : 'yes'}`);
    if (typeof tb === 'string') return;
    const sendErr = await zombie.send(msgs('a-after-fence')).then(() => null, (e) => e);
    const commitErr = await zombie.commit().then(() => null, (e) => e);
    report(isFencing(sendErr), `${what}: then the first producer's send fails: ${errId(sendErr) ?? 'no, it succeeded'}`);
    report(isFencing(commitErr), `${what}: and so does its commit: ${errId(commitErr) ?? 'no, it succeeded'}`);
    await tb.send(msgs('b-committed'));
    await tb.commit();
    const keys = (await keysUpTo(readPlatformatic, topic, 'b-committed')).join(',');
    report(keys === 'a-committed,b-committed', `${what}: read_committed sees ${keys} (want a-committed,b-committed)`);
    // Not a PASS/FAIL but what an adapter must know: does the fenced instance stay fenced, or may
    // it begin again (a fresh InitProducerId, which would fence B in turn)?
    await zombie.cancel().catch(() => {});
    const again = await attempt(a, 'a-again');
    console.log(`note: ${what}: the fenced producer, its transaction cancel()led, tries another transaction: ${again}; ` +
      `then the second producer's next transaction: ${await attempt(b, 'b-next')}`);
  } finally {
    await Promise.allSettled([a.close(true), b.close(true)]);
    await admin.deleteTopics({ topics: [topic] });
  }
}

// ---- main ----------------------------------------------------------------------------------------
await ensureBroker();
console.log(machineLine());
const plt = `@platformatic/kafka ${version('@platformatic/kafka')}`;
const clients = [
  { name: `kafkajs ${version('kafkajs')}`, producer: kafkajsProducer, read: readKafkajs },
  { name: plt, producer: platformaticProducer, read: readPlatformatic },
  { name: `${plt} (retry CONCURRENT_TRANSACTIONS after 20 ms)`, read: readPlatformatic,
    producer: (topic: string, id: string) => platformaticProducer(topic, id, { retryDelay: quickRetry }) },
];
const admin = kafkajs('bench-admin').admin();
await admin.connect();
try {
  await checkAborted(admin);
  await checkFencing(admin, false);
  await checkFencing(admin, true);

  console.log(`kafka clients: ${fmtRate(RECORDS)} records (key 20 B, value 200 B, ${PARTITIONS} partitions) per client and run, ` +
    `transactions of ${fmtRate(TXN_RECORDS)}, ${fmtRate(SEND_RECORDS)} per send; broker ${BROKERS.join(',')}; ${RUNS} runs`);
  const recs = makeRecords(RECORDS);
  const results = new Map<string, Result[]>(clients.map((c) => [c.name, []]));
  for (let run = 0; run < RUNS; run++) {
    // rotate which client goes first, so that none always meets the freshest broker
    for (const c of [...clients.slice(run % clients.length), ...clients.slice(0, run % clients.length)]) {
      const topic = uniquePrefix('kafka-clients');
      await createTopic(admin, topic, PARTITIONS);
      const created = performance.now();
      const p = await produceRun(c.producer(topic, `${topic}.txn`), recs, created);
      const r = { ...p, ...(await consumeRun(c.read, topic, RECORDS + 1)) }; // + the start-up record
      await admin.deleteTopics({ topics: [topic] });
      results.get(c.name)!.push(r);
      console.log(`  run ${run + 1} ${c.name}: produce ${fmtRate(r.produce)} rec/s, ${r.cpuUs.toFixed(1)} µs CPU/rec; ` +
        `consume ${fmtRate(r.consume)} rec/s (steady ${fmtRate(r.steady)}), ${r.readCpuUs.toFixed(1)} µs CPU/rec; start-up ${fmtRate(r.startupMs)} ms`);
    }
  }
  console.log(`medians of ${RUNS} runs:`);
  for (const [name, rs] of results) {
    const m = (f: (r: Result) => number, digits = 0) => (digits ? median(rs.map(f)).toFixed(digits) : fmtRate(median(rs.map(f))));
    const runs = (f: (r: Result) => number) => `(runs ${fmtRuns(rs.map(f))})`;
    console.log(`  ${name}\n` +
      `    produce  ${m((r) => r.produce)} rec/s ${runs((r) => r.produce)}, ${m((r) => r.cpuUs, 1)} µs CPU/record\n` +
      `    consume  ${m((r) => r.consume)} rec/s ${runs((r) => r.consume)}, steady ${m((r) => r.steady)} rec/s, ` +
      `${m((r) => r.readCpuUs, 1)} µs CPU/record, first record after ${m((r) => r.firstMs)} ms\n` +
      `    start-up ${m((r) => r.startupMs)} ms ${runs((r) => r.startupMs)}`);
  }
} finally {
  await admin.disconnect();
}
if (failed) console.log('exactly-once checks: FAILED (see the FAIL lines above)');
// leftover client sockets and timers must not keep the process alive, nor hide a FAIL
process.exit(failed ? 1 : 0);
