// A tracked table changes shape while `ctrelay capture` runs as a real process: an added column
// yields a new schema version on `<prefix>.schemas` and nothing is lost; an added column of an
// unsupported type stops capture with a clear error, publishes nothing past it, and a restart with
// the column excluded carries on from the batch log.
import { describe, expect, it } from 'vitest';
import { decodeSingleObject, readSingleObjectFingerprint, fingerprintHex, SchemaRegistry, SingleObjectTableEncoder, tableMetaFromRowSchema, type RecordSchema } from '../../src/avro/index.ts';
import { readSchemas } from '../../src/kafka/schemas-topic.ts';
import type { ChangeEvent } from '../../src/core/batch.ts';
import type { Row, TableMeta, TableRef } from '../../src/core/model.ts';
import { dataTopic, schemasTopic } from '../../src/core/topics.ts';
import type { InRecord } from '../../src/kafka/port.ts';
import { usePipeline } from '../support/pipeline-fixture.ts';
import { canonical, readAll, sourceRows, uniquePrefix } from '../support/pipeline.ts';

const ITEMS: TableRef = { schema: 'public', table: 'items' };
const GEO: TableRef = { schema: 'public', table: 'geo' };

const fx = usePipeline({
  name: 'capddl',
  schema: `
    CREATE TABLE items (id bigint PRIMARY KEY, name text NOT NULL, qty int);
    INSERT INTO items SELECT g, 'n' || g, g FROM generate_series(1, 20) g;
    CREATE TABLE geo (id int PRIMARY KEY, name text);
    INSERT INTO geo SELECT g, 'g' || g FROM generate_series(1, 3) g;`,
  tables: ['public.items', 'public.geo'],
  config: { kafka: { partitions: 2 } },
});

type Table = string | { name: string; excludeColumns: string[] };

const config = (prefix: string, tables: Table[]) => fx.config(prefix, { source: { tables } });

/** Value schemas (change-event envelopes) of one table published on `<prefix>.schemas`, by fingerprint hex. */
async function valueSchemas(prefix: string, t: TableRef): Promise<Map<string, RecordSchema>> {
  const out = new Map<string, RecordSchema>();
  for (const r of await readAll(fx.kafka, [schemasTopic(prefix)])) {
    if (!r.key || !r.value) continue;
    const s = JSON.parse(r.value.toString()) as RecordSchema;
    const after = s.fields?.find((f) => f.name === 'after');
    const row = Array.isArray(after?.type) ? (after!.type[1] as RecordSchema) : null;
    if (row && row['ctrelay.schema'] === t.schema && row['ctrelay.table'] === t.table) out.set(r.key.toString(), s);
  }
  return out;
}

function rowOf(valueSchema: RecordSchema): RecordSchema {
  return (valueSchema.fields.find((f) => f.name === 'after')!.type as unknown[])[1] as RecordSchema;
}

/** Rows as a consumer holding the newest schema sees them: every column of `meta`, missing ones null. */
function widen(rows: Map<string, Row>, meta: TableMeta): Map<string, Row> {
  const out = new Map<string, Row>();
  for (const [k, r] of rows) out.set(k, Object.fromEntries(meta.columns.map((c) => [c.name, c.name in r ? r[c.name] : null])));
  return out;
}

describe('schema change mid-stream', () => {
  it('an added column gets a new schema version; old and new events decode; the fold equals the source', async () => {
    const prefix = uniquePrefix('ddl');
    const p = fx.capture(config(prefix, ['public.items']));
    await p.waitFor('capture running');
    await fx.waitCaptured(prefix);

    // before the change
    await fx.admin.query(`UPDATE items SET qty = qty + 100 WHERE id <= 5`);
    await fx.admin.query(`DELETE FROM items WHERE id = 20`);
    await fx.admin.query(`INSERT INTO items SELECT g, 'n' || g, g FROM generate_series(21, 25) g`);
    const vBefore = await fx.currentVersion();
    await fx.waitCaptured(prefix, vBefore);

    // the change, and writes that use the new column right after it
    await fx.admin.query(`ALTER TABLE items ADD COLUMN note text`);
    await fx.admin.query(`UPDATE items SET note = 'note ' || id WHERE id <= 10`);
    await fx.admin.query(`INSERT INTO items (id, name, qty, note) SELECT g, 'n' || g, g, 'new ' || g FROM generate_series(26, 30) g`);
    await fx.admin.query(`UPDATE items SET name = 'renamed' WHERE id = 11`);
    await fx.admin.query(`DELETE FROM items WHERE id = 19`);
    const vAfter = await fx.currentVersion();
    expect(vAfter).toBeGreaterThan(vBefore);
    await fx.waitCaptured(prefix, vAfter);
    await p.waitFor('table definition changed: publishing a new schema version');

    // the schemas topic holds two value schemas of the table; only the new one has the column
    const schemas = await valueSchemas(prefix, ITEMS);
    expect(schemas.size).toBe(2);
    const [[oldHex, oldSchema], [newHex, newSchema]] = [...schemas].sort(([, a], [, b]) => rowOf(a).fields.length - rowOf(b).fields.length);
    expect(oldHex).not.toBe(newHex);
    expect(rowOf(oldSchema).fields.map((f) => f.name)).toEqual(['id', 'name', 'qty']);
    expect(rowOf(newSchema).fields.map((f) => f.name)).toEqual(['id', 'name', 'qty', 'note']);

    // every event: decoded through the pipeline codecs with its own writer schema
    const captured = await fx.captured(prefix, [ITEMS]);
    const raw = (await readAll(fx.kafka, [dataTopic(prefix, ITEMS)])).filter((r): r is InRecord & { value: Buffer } => r.value !== null);
    const decoded = raw.map((r) => ({ buf: r.value, hex: fingerprintHex(readSingleObjectFingerprint(r.value)), event: captured.decoder.decoder.decodeEvent(r.value, `${r.topic}@${r.offset}`)!.event as ChangeEvent }));
    const before = decoded.filter((d) => d.event.source.version <= vBefore);
    const after = decoded.filter((d) => d.event.source.version > vBefore);
    // before: snapshot (20) + 5 updates + 1 delete + 5 inserts; after: 10 updates + 5 inserts + 1 update + 1 delete
    expect(before.length).toBe(31);
    expect(after.length).toBe(17);
    for (const d of before) {
      expect(d.hex).toBe(oldHex);
      if (d.event.after) expect(Object.keys(d.event.after)).toEqual(['id', 'name', 'qty']);
    }
    for (const d of after) {
      expect(d.hex).toBe(newHex);
      if (d.event.after) expect(Object.keys(d.event.after)).toEqual(['id', 'name', 'qty', 'note']);
    }
    // the new column's values are in the events after the change
    const last = new Map(after.filter((d) => d.event.op !== 'd').map((d) => [d.event.key.id, d.event.after!]));
    expect(last.get(3n)).toEqual({ id: 3n, name: 'n3', qty: 103, note: 'note 3' });
    expect(last.get(28n)).toEqual({ id: 28n, name: 'n28', qty: 28, note: 'new 28' });
    expect(last.get(11n)).toEqual({ id: 11n, name: 'renamed', qty: 11, note: null });
    expect(after.find((d) => d.event.key.id === 19n)?.event.op).toBe('d');
    expect(after.find((d) => d.event.key.id === 28n)?.event.op).toBe('c');

    // an OLD event read with the NEW schema as reader (Avro schema resolution): the added column
    // reads as its default (null), everything else as written
    const registry = new SchemaRegistry();
    for (const rec of await readSchemas(fx.kafka, prefix)) registry.registerRecord(rec.fingerprint, rec.json);
    const newWriter = registry.lookup(BigInt(`0x${newHex}`))!;
    const oldWriter = registry.lookup(BigInt(`0x${oldHex}`))!;
    expect(newWriter).toBeDefined();
    expect(oldWriter).toBeDefined();
    const snapRow = before.find((d) => d.event.op === 'r' && d.event.key.id === 15n)!;
    const resolved = decodeSingleObject(snapRow.buf, (fp) => registry.lookup(fp), newWriter.type);
    expect(resolved.after).toEqual({ ...snapRow.event.after, note: null });
    expect(resolved.op).toBe('r');
    expect(resolved.source.version).toBe(snapRow.event.source.version);
    // the schema alone describes the table: regenerated from its ctrelay.* attributes it is the same schema
    const newMeta = tableMetaFromRowSchema(rowOf(newSchema));
    expect(new SingleObjectTableEncoder(newMeta, prefix).schemas[1].fingerprint).toBe(newHex);
    const upd = before.find((d) => d.event.op === 'u' && d.event.key.id === 2n)!;
    expect(decodeSingleObject(upd.buf, (fp) => registry.lookup(fp), newWriter.type).after).toEqual({ id: 2n, name: 'n2', qty: 102, note: null });
    // and a NEW event read with the OLD schema as reader skips the column
    const newer = after.find((d) => d.event.key.id === 28n)!;
    expect(decodeSingleObject(newer.buf, (fp) => registry.lookup(fp), oldWriter.type).after).toEqual({ id: 28n, name: 'n28', qty: 28 });

    // folded, as a consumer with the newest schema sees it, the stream equals the source
    const src = await sourceRows(fx.db.url, ITEMS);
    expect(src.meta.columns.map((c) => c.name)).toEqual(['id', 'name', 'qty', 'note']);
    const folded = widen(captured.fold.tables.get('public.items')!.rows, src.meta);
    expect(canonical(folded)).toEqual(canonical(src.rows));
    expect(folded.size).toBe(28);

    await p.kill('SIGTERM');
    expect(await p.exited, p.stderr().slice(-2000)).toBe(0);
  });

  it('an added column of an unsupported type stops capture with a clear error; nothing after it is published', async () => {
    const prefix = uniquePrefix('ddlbad');
    const p = fx.capture(config(prefix, ['public.geo']));
    await p.waitFor('capture running');
    const v0 = await fx.currentVersion();
    await fx.waitCaptured(prefix, v0);

    await fx.admin.query(`ALTER TABLE geo ADD COLUMN p point`);
    await fx.admin.query(`INSERT INTO geo VALUES (4, 'g4', point(1, 2))`);
    await fx.admin.query(`UPDATE geo SET p = point(3, 4), name = 'moved' WHERE id = 1`);
    const vBad = await fx.currentVersion();
    expect(vBad).toBeGreaterThan(v0);

    const timer = setTimeout(() => p.child.kill('SIGKILL'), 90_000);
    const code = await p.exited;
    clearTimeout(timer);
    const stderr = p.stderr();
    expect(code, stderr.slice(-2000)).toBe(3); // SourceError
    const errors = stderr.split('\n').filter((l) => l.startsWith('error: '));
    expect(errors, stderr.slice(-2000)).toHaveLength(1);
    expect(errors[0]).toContain('public.geo');
    expect(errors[0]).toContain('"p"');
    expect(errors[0]).toContain('point');
    expect(errors[0]).toContain('excludeColumns');
    expect(stderr).not.toMatch(/^\s+at /m);
    expect(stderr).not.toContain('internal error');
    expect(stderr).toContain('capture stopped');

    // nothing past the change was published: no batch reaches vBad, no event of the new writes
    const captured = await fx.captured(prefix, [GEO]);
    expect(captured.batches.length).toBeGreaterThan(0);
    for (const { batch } of captured.batches) expect(batch.version).toBeLessThan(vBad);
    const events = [...captured.events.values()].flat();
    expect(events.some((e) => e.source.version > v0)).toBe(false);
    expect(events.find((e) => e.key.id === 4)).toBeUndefined();

    // the operator excludes the column and restarts: capture resumes from the batch log and
    // delivers the writes it had stopped at, without the column
    const q = fx.capture(config(prefix, [{ name: 'public.geo', excludeColumns: ['p'] }]));
    await q.waitFor('resumed from the batch log');
    await fx.waitCaptured(prefix, vBad);
    const again = await fx.captured(prefix, [GEO]);
    const streamed = [...again.events.values()].flat().filter((e) => e.source.version > v0);
    expect(streamed.map((e) => [e.op, e.key.id]).sort()).toEqual([['c', 4], ['u', 1]]);
    expect(streamed.every((e) => e.source.snapshot === false)).toBe(true);
    expect(canonical(again.fold.tables.get('public.geo')!.rows)).toEqual(canonical((await sourceRows(fx.db.url, GEO, ['p'])).rows));
    expect(again.fold.tables.get('public.geo')!.rows.size).toBe(4);
    await q.kill('SIGTERM');
    expect(await q.exited).toBe(0);
  });
});
