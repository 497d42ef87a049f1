import { describe, expect, it } from 'vitest';
import { ConfigError } from './errors.ts';
import { assertDistinctTopics, dataTopic, MAX_TOPIC_LENGTH, topicPart, untopicPart } from './topics.ts';

const t = (schema: string, table: string) => ({ schema, table });

describe('data topic names', () => {
  it('keeps the topic of names made of letters, digits and _ (existing deployments keep their topics)', () => {
    expect(dataTopic('ctrelay', t('public', 'orders'))).toBe('ctrelay.public.orders');
    expect(dataTopic('my-app.cdc', t('dbo', 'Order_Details_2'))).toBe('my-app.cdc.dbo.Order_Details_2');
    expect(dataTopic('p', t('_x', '0'))).toBe('p._x.0');
  });

  it('escapes every other character as -HH per UTF-8 byte', () => {
    expect(dataTopic('p', t('Sales Ops', 'Order Lines'))).toBe('p.Sales-20Ops.Order-20Lines');
    expect(dataTopic('p', t('a.b', 'c'))).toBe('p.a-2Eb.c');
    expect(dataTopic('p', t('a', 'b c'))).toBe('p.a.b-20c');
    expect(dataTopic('p', t('a', 'b-c'))).toBe('p.a.b-2Dc');
    expect(dataTopic('p', t('dbo', 'a$b#c@d'))).toBe('p.dbo.a-24b-23c-40d');
    expect(dataTopic('p', t('public', 'Über'))).toBe('p.public.-C3-9Cber');
    expect(dataTopic('p', t('public', '注文'))).toBe('p.public.-E6-B3-A8-E6-96-87');
    expect(dataTopic('p', t('public', '🦜'))).toBe('p.public.-F0-9F-A6-9C');
    expect(dataTopic('p', t('s', 'say "hi"'))).toBe('p.s.say-20-22hi-22');
  });

  it('gives the tables that the old scheme merged into one topic (or into topics Kafka refuses side by side) distinct ones', () => {
    const tables = [t('a', 'b_c'), t('a.b', 'c'), t('a', 'b c'), t('a', 'b.c'), t('a', 'b-c'), t('a', 'b$c')];
    const topics = tables.map((x) => dataTopic('p', x));
    expect(new Set(topics).size).toBe(tables.length);
    // Kafka refuses two topics equal up to '.' vs '_': none of these are
    expect(new Set(topics.map((x) => x.replace(/\./g, '_'))).size).toBe(tables.length);
    expect(() => assertDistinctTopics('p', tables.filter((x) => x.table !== 'b.c'))).not.toThrow();
  });

  it('is injective: random names, the escape character and hex-looking text included, never share a topic and decode back', () => {
    let seed = 12345;
    const rand = (n: number) => {
      // mulberry32: a small seeded generator, so a failure reproduces
      seed = (seed + 0x6d2b79f5) | 0;
      let x = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
      return (((x ^ (x >>> 14)) >>> 0) / 4294967296) * n | 0;
    };
    // '-', hex digits and '2D'-like runs make escapes and literal text look alike if the scheme were ambiguous
    const alphabet = ['-', '-2D', '2D', '2', 'D', 'E', 'F', '.', '_', ' ', 'a', 'Z', '0', '9', 'é', 'Ü', '注', '🦜', '\uD800', '\uDC00', '\u0000', '%', '/', '"', ']'];
    const seen = new Map<string, string>();
    for (let i = 0; i < 20000; i++) {
      const name = () => Array.from({ length: rand(8) }, () => alphabet[rand(alphabet.length)]).join('');
      const ref = t(name(), name());
      const key = JSON.stringify(ref);
      const part = topicPart(ref.table);
      expect(part).toMatch(/^[A-Za-z0-9_-]*$/);
      expect(untopicPart(part)).toBe(ref.table);
      const topic = `p.${topicPart(ref.schema)}.${part}`;
      const other = seen.get(topic);
      if (other !== undefined) expect(other, `${key} and ${other} share ${topic}`).toBe(key);
      seen.set(topic, key);
    }
    expect(seen.size).toBeGreaterThan(15000);
    expect(untopicPart('a-2')).toBeNull();
    expect(untopicPart('-61')).toBeNull(); // "a" is never escaped
    expect(untopicPart('-C0-80')).toBeNull(); // overlong UTF-8
    expect(untopicPart('a.b')).toBeNull();
  });

  it('refuses a topic longer than Kafka allows, naming the table, instead of truncating it', () => {
    const fits = 'x'.repeat(MAX_TOPIC_LENGTH - 'p.s.'.length);
    expect(dataTopic('p', t('s', fits))).toHaveLength(MAX_TOPIC_LENGTH);
    expect(() => dataTopic('p', t('s', fits + 'x'))).toThrow(ConfigError);
    expect(() => dataTopic('p', t('Sales Ops', fits))).toThrow(/^table "Sales Ops"\.x+: its topic name would be 259 characters .*Kafka allows 249/);
  });
});

describe('assertDistinctTopics', () => {
  it('refuses topics Kafka refuses side by side, naming both tables', () => {
    expect(() => assertDistinctTopics('p', [t('a_b', 'c'), t('a', 'b_c')])).toThrow(/a_b\.c and a\.b_c get topics p\.a_b\.c and p\.a\.b_c, which Kafka refuses/);
  });

  it('refuses two tables the batch log would name alike', () => {
    expect(() => assertDistinctTopics('p', [t('a.b', 'c'), t('a', 'b.c')])).toThrow(/"a\.b"\.c and a\."b\.c" are both named a\.b\.c in the batch log/);
  });

  it('accepts the same table listed twice (it is one topic)', () => {
    expect(() => assertDistinctTopics('p', [t('a', 'b'), t('a', 'b')])).not.toThrow();
  });
});
