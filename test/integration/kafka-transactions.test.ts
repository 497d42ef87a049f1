// The kafkajs adapter against the real local broker (Kafka 4.x): transactions, read-committed
// reading, fencing, stable offsets and failure on an unreachable broker.
import { beforeAll, describe, expect, it } from 'vitest';
import { KafkaError } from '../../src/core/errors.ts';
import { createKafkajsPort } from '../../src/kafka/kafkajs/index.ts';
import { partitionForKey } from '../../src/kafka/kafkajs/partition.ts';
import type { Admin, InRecord, OutRecord, Reader, WrittenRange } from '../../src/kafka/port.ts';
import { createTopic, uniqueTopic, useKafkaPort } from '../support/kafka.ts';
import { until } from '../support/pipeline.ts';

const kafka = useKafkaPort('kafka-transactions-test');
let admin: Admin;

beforeAll(async () => {
  admin = await kafka().admin();
});

const val = (s: string) => Buffer.from(s);

const topic = (partitions: number) => createTopic(kafka(), 'txn', partitions);

/** Polls every partition until `want` records per partition arrived, then checks nothing more comes. */
async function readAll(reader: Reader, topic: string, want: number[], quietMs = 1_500): Promise<InRecord[][]> {
  const got: InRecord[][] = want.map(() => []);
  const deadline = Date.now() + 60_000;
  while (got.some((g, p) => g.length < want[p])) {
    if (Date.now() > deadline) throw new Error(`timed out: got ${got.map((g) => g.length)} of ${want}`);
    for (let p = 0; p < want.length; p++) {
      if (got[p].length < want[p]) got[p].push(...(await reader.poll(topic, p, 50)));
    }
  }
  for (let p = 0; p < want.length; p++) got[p].push(...(await reader.poll(topic, p, quietMs / want.length)));
  return got;
}

/** Everything partition 0 of `t` holds for a read-committed reader (`want` records, then quiet). */
async function readPartition0(t: string, want: number, quietMs: number): Promise<InRecord[]> {
  const reader = await kafka().reader([{ topic: t, partition: 0, from: 0n }]);
  try {
    return (await readAll(reader, t, [want], quietMs))[0];
  } finally {
    await reader.close();
  }
}

function offsetsOf(ranges: WrittenRange[], t: string, partition: number): bigint[] {
  const out: bigint[] = [];
  for (const r of ranges.filter((x) => x.topic === t && x.partition === partition)) {
    expect(r.last - r.first + 1n).toBe(BigInt(r.count));
    for (let o = r.first; o <= r.last; o++) out.push(o);
  }
  return out;
}

describe('kafkajs adapter on the local broker', () => {
  it('commits one transaction across two topics and reports the offsets a reader sees', async () => {
    const a = await topic(2);
    const b = await topic(3);
    const producer = kafka().producer(uniqueTopic('tx'));
    await producer.init();
    const keyed: OutRecord[] = Array.from({ length: 12_000 }, (_, i) => ({
      key: val(`k${i}`),
      value: val(`a-${i}`.padEnd(200, '.')),
      headers: { seq: String(i) },
    }));
    const explicit: OutRecord[] = Array.from({ length: 9_000 }, (_, i) => ({
      key: null,
      value: i % 1000 === 0 ? null : val(`b-${i}`),
      partition: i % 3,
    }));
    const tx = await producer.begin();
    const ranges = [
      ...(await tx.send(a, keyed.slice(0, 7_000))),
      ...(await tx.send(b, explicit)),
      ...(await tx.send(a, keyed.slice(7_000))),
    ];
    await tx.commit();
    await producer.close();

    // keyed records land where the Java client's murmur2 partitioner puts them
    const perA = [0, 1].map((p) => keyed.filter((r) => partitionForKey(r.key!, 2) === p));
    const reader = await kafka().reader([
      ...[0, 1].map((partition) => ({ topic: a, partition, from: 0n })),
      ...[0, 1, 2].map((partition) => ({ topic: b, partition, from: 0n })),
    ]);
    try {
      const gotA = await readAll(reader, a, perA.map((x) => x.length));
      const gotB = await readAll(reader, b, [3_000, 3_000, 3_000]);
      for (const p of [0, 1]) {
        expect(gotA[p].map((r) => r.offset)).toEqual(offsetsOf(ranges, a, p));
        expect(gotA[p].map((r) => r.value!.toString())).toEqual(perA[p].map((r) => r.value!.toString()));
        expect(gotA[p].map((r) => r.headers.seq)).toEqual(perA[p].map((r) => r.headers!.seq));
      }
      for (const p of [0, 1, 2]) {
        expect(gotB[p].map((r) => r.offset)).toEqual(offsetsOf(ranges, b, p));
        const sent = explicit.filter((r) => r.partition === p);
        expect(gotB[p].map((r) => r.value?.toString() ?? null)).toEqual(sent.map((r) => r.value?.toString() ?? null));
      }
      // every record is in exactly one range; one send's chunks merge into one range per partition
      expect(ranges.reduce((n, r) => n + r.count, 0)).toBe(21_000);
      expect(ranges.filter((r) => r.topic === b)).toHaveLength(3);
    } finally {
      await reader.close();
    }
  });

  it('never shows an aborted transaction to a read-committed reader', async () => {
    const t = await topic(1);
    const producer = kafka().producer(uniqueTopic('tx'));
    await producer.init();
    const aborted = await producer.begin();
    const abortedRanges = await aborted.send(t, Array.from({ length: 500 }, (_, i) => ({ key: null, value: val(`aborted-${i}`), partition: 0 })));
    await aborted.abort();
    const committed = await producer.begin();
    const committedRanges = await committed.send(t, Array.from({ length: 300 }, (_, i) => ({ key: null, value: val(`ok-${i}`), partition: 0 })));
    await committed.commit();
    await producer.close();

    expect(committedRanges[0].first).toBeGreaterThan(abortedRanges[0].last);
    const got = await readPartition0(t, 300, 3_000);
    expect(got.map((r) => r.value!.toString())).toEqual(Array.from({ length: 300 }, (_, i) => `ok-${i}`));
    expect(got.map((r) => r.offset)).toEqual(offsetsOf(committedRanges, t, 0));
  });

  it('fences the first producer when a second one with the same transactional id starts', async () => {
    const t = await topic(1);
    const id = uniqueTopic('tx');
    const first = kafka().producer(id);
    await first.init();
    const tx1 = await first.begin();
    await tx1.send(t, [{ key: null, value: val('zombie'), partition: 0 }]);

    const second = kafka().producer(id);
    await second.init();
    const err = await tx1.commit().then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(KafkaError);
    expect((err as Error).message).toMatch(/fenced/);
    await expect(first.begin()).rejects.toBeInstanceOf(KafkaError);
    await first.close();

    const tx2 = await second.begin();
    await tx2.send(t, [{ key: null, value: val('live'), partition: 0 }]);
    await tx2.commit();
    await second.close();

    expect((await readPartition0(t, 1, 2_000)).map((r) => r.value!.toString())).toEqual(['live']);
  });

  it('reports the last stable offset, below an open transaction', async () => {
    const t = await topic(1);
    const producer = kafka().producer(uniqueTopic('tx'));
    await producer.init();
    const send = async (n: number, tag: string, end: 'commit' | 'abort' | 'open') => {
      const tx = await producer.begin();
      const ranges = await tx.send(t, Array.from({ length: n }, (_, i) => ({ key: null, value: val(`${tag}-${i}`), partition: 0 })));
      if (end === 'commit') await tx.commit();
      if (end === 'abort') await tx.abort();
      return { tx, range: ranges[0] };
    };
    await send(10, 'c1', 'commit');
    await send(5, 'a1', 'abort');
    const last = await send(7, 'c2', 'commit');
    const open = await send(3, 'open', 'open');

    const [before] = await admin.offsets(t);
    expect(before.low).toBe(0n);
    // the open transaction's first record is where read-committed readers must stop
    expect(before.stable).toBe(open.range.first);

    // The stable offset is what a reader needs to find the last committed record: everything below
    // it is decided, so reading [low, stable) ends with that record.
    const reader = await kafka().reader([{ topic: t, partition: 0, from: before.low }]);
    try {
      const [got] = await readAll(reader, t, [17], 2_000);
      const below = got.filter((r) => r.offset < before.stable);
      expect(below).toHaveLength(17);
      expect(below.at(-1)!.value!.toString()).toBe('c2-6');
      expect(below.at(-1)!.offset).toBe(last.range.last);
      expect(got).toHaveLength(17);

      await open.tx.abort();
      // the broker answers the abort before its marker is written (as in kafka-read-range.test.ts):
      // wait, bounded, for the stable offset to leave the aborted transaction's first record
      const [after] = await until(() => admin.offsets(t), ([p]) => p.stable !== open.range.first, 'the abort marker', 30_000, 100);
      expect(after.stable).toBeGreaterThan(open.range.last); // past the abort marker
      expect(await reader.poll(t, 0, 1_500)).toEqual([]);
    } finally {
      await reader.close();
      await producer.close();
    }
  });

  it('fails with a KafkaError naming the brokers when none is reachable', async () => {
    const dead = ['127.0.0.1:1', '127.0.0.1:2'];
    const bad = createKafkajsPort({ brokers: dead, clientId: 'unreachable-test' });
    const t0 = Date.now();
    try {
      const results = await Promise.allSettled([
        bad.admin(),
        bad.producer('never').init(),
        bad.reader([{ topic: 'nope', partition: 0, from: 0n }]),
      ]);
      for (const r of results) {
        expect(r.status).toBe('rejected');
        const err = (r as PromiseRejectedResult).reason as Error;
        expect(err).toBeInstanceOf(KafkaError);
        expect(err.message).toContain('127.0.0.1:1,127.0.0.1:2');
      }
      expect(Date.now() - t0).toBeLessThan(25_000);
    } finally {
      await bad.close();
    }
  }, 60_000);

  it('reads a large committed backlog quickly (throughput figure)', async () => {
    const t = await topic(1);
    const n = 200_000;
    const producer = kafka().producer(uniqueTopic('tx'));
    await producer.init();
    const records = Array.from({ length: n }, (_, i) => ({ key: val(`k${i}`), value: Buffer.alloc(120, i % 251), partition: 0 }));
    let t0 = Date.now();
    const tx = await producer.begin();
    const [range] = await tx.send(t, records);
    await tx.commit();
    const produceMs = Date.now() - t0;
    await producer.close();
    expect(range).toMatchObject({ first: 0n, last: BigInt(n - 1), count: n });

    const reader = await kafka().reader([{ topic: t, partition: 0, from: 0n }]);
    try {
      t0 = Date.now();
      let count = 0;
      let next = 0n;
      while (count < n) {
        for (const r of await reader.poll(t, 0, 1_000)) {
          if (r.offset !== next) throw new Error(`expected offset ${next}, got ${r.offset}`);
          next++;
          count++;
        }
      }
      const readMs = Date.now() - t0;
      console.log(
        `[kafka throughput] produce ${n} records in ${produceMs} ms (${Math.round((n / produceMs) * 1000)}/s), ` +
          `read in ${readMs} ms (${Math.round((n / readMs) * 1000)}/s)`,
      );
    } finally {
      await reader.close();
    }
  });
});
