// A temporal column's precision changes while `ctrelay capture` runs (timestamp(3) -> timestamp(6),
// timestamptz(3) -> timestamptz(6)): the unit of the values changes (millis -> micros), which the
// Avro Parsing Canonical Form cannot see (both are a long). The two schema versions must have different fingerprints on
// `<prefix>.schemas` (compacted by fingerprint: one fingerprint keeps one JSON), every event, old and
// new, must decode to its exact value, and a standby that starts applying after the change (so it
// learns both schemas before decoding the old events) must equal the source by the test's own SQL.
import { describe, expect, it } from 'vitest';
import type { RecordSchema } from '../../src/avro/index.ts';
import { schemasTopic } from '../../src/core/topics.ts';
import { usePipeline } from '../support/pipeline-fixture.ts';
import { readAll, uniquePrefix } from '../support/pipeline.ts';
import { decodeWithAvroJava, type JavaRecord } from './wire-avro-java.ts';

const EV = { schema: 'public', table: 'ev' };

const fx = usePipeline({
  name: 'wireprec',
  schema: `
    CREATE TABLE ev (id int PRIMARY KEY, at timestamp(3), tz timestamptz(3));
    INSERT INTO ev VALUES
      (1, '2024-02-29 23:59:59.123', '2024-02-29 23:59:59.123+00'),
      (2, '0001-01-01 00:00:00.001', '0001-01-01 00:00:00.001+00'),
      (3, '9999-12-31 23:59:59.999', '9999-12-31 23:59:59.999+00'),
      (4, NULL, NULL);`,
  tables: ['public.ev'],
});

/** The test's own SQL: every row as text with six fractional digits (the same on source and standby). */
const ROWS_SQL = `
  SELECT id,
    to_char(at, 'YYYY-MM-DD"T"HH24:MI:SS.US') AS at,
    to_char(tz AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') AS tz
  FROM ev ORDER BY id`;

/** A canonical value with its fraction padded to 6 digits (old events carry 3). */
const six = (v: unknown) => (typeof v === 'string' ? v.replace(/Z$/, '').replace(/^(.*\.\d+)$/, (m) => m + '0'.repeat(6 - m.split('.')[1].length)) : v);

describe('a temporal precision change mid-stream', () => {
  it('gets a new fingerprint; old and new events decode exactly (ctrelay and Avro Java); the standby equals the source', async () => {
    const prefix = uniquePrefix('prec');
    const standby = await fx.standby('postgres', 'precsby');
    const file = fx.config(prefix, { standby: { url: standby.url, id: 'sby' } });
    const p = fx.capture(file);
    await p.waitFor('capture running');
    await fx.waitCaptured(prefix);
    await fx.admin.query(`UPDATE ev SET at = '2000-01-01 00:00:00.999' WHERE id = 4`);
    await fx.waitCaptured(prefix);

    await fx.admin.query(`ALTER TABLE ev ALTER COLUMN at TYPE timestamp(6), ALTER COLUMN tz TYPE timestamptz(6)`);
    await fx.admin.query(`
      INSERT INTO ev VALUES
        (5, '2024-02-29 23:59:59.123456', '2024-02-29 23:59:59.123456+00'),
        (6, '9999-12-31 23:59:59.999999', '0001-01-01 00:00:00.000001+00');
      UPDATE ev SET at = '1969-12-31 23:59:59.999999' WHERE id = 1;`);
    await fx.waitCaptured(prefix);
    await p.waitFor('table definition changed: publishing a new schema version');

    // two value schemas of the table, under two fingerprints, in millis and micros
    const schemaRecords = (await readAll(fx.kafka, [schemasTopic(prefix)])).filter((r) => r.key && r.value);
    const valueSchemas = new Map<string, RecordSchema>();
    for (const r of schemaRecords) {
      const s = JSON.parse(r.value!.toString()) as RecordSchema;
      const after = s.fields?.find((f) => f.name === 'after');
      const row = Array.isArray(after?.type) ? (after!.type[1] as RecordSchema) : null;
      if (row?.['ctrelay.table'] === 'ev') valueSchemas.set(r.key!.toString(), s);
    }
    expect(valueSchemas.size, 'distinct fingerprints of the value schema').toBe(2);
    const units = [...valueSchemas.values()].map((s) => {
      const row = (s.fields.find((f) => f.name === 'after')!.type as unknown[])[1] as RecordSchema;
      return (row.fields.find((f) => f.name === 'at')!.type as [string, { logicalType: string }])[1].logicalType;
    });
    expect(units.sort()).toEqual(['local-timestamp-micros', 'local-timestamp-millis']);

    // ctrelay's decoder, learning both schemas first (as a consumer reading the topic later does)
    const captured = await fx.captured(prefix, [EV]);
    const events = [...captured.events.values()].flat().filter((e) => e.after !== null);
    expect(events.length).toBe(4 + 1 + 3);
    const src = new Map((await fx.admin.query(ROWS_SQL)).rows.map((r) => [r.id as number, r]));
    const expectedAt = (id: number, version: bigint) =>
      // events carry the row at their batch's version: row 1 and 4 changed, the others did not
      id === 1 && version < events.find((e) => e.after!.id === 5)!.source.version ? '2024-02-29T23:59:59.123000' : src.get(id)!.at;
    for (const e of events) {
      const id = e.after!.id as number;
      expect(six(e.after!.at), `event of row ${id} at version ${e.source.version}`).toBe(id === 4 && e.op === 'r' ? null : expectedAt(id, e.source.version));
      if (id !== 4) expect(six(e.after!.tz), `tz of row ${id}`).toBe(src.get(id)!.tz);
    }

    // Apache Avro Java, decoding every record with its own writer schema
    const records = (await readAll(fx.kafka, [`${prefix}.public.ev`])).filter((r) => r.value !== null);
    const java = decodeWithAvroJava(new Map(schemaRecords.map((r) => [r.key!.toString(), r.value!.toString()])), records.map((r) => ({ topic: r.topic, offset: r.offset, value: r.value! })));
    expect(java.ok, JSON.stringify(java.decoded.filter((d) => d.error)) + java.stderr).toBe(true);
    for (const d of java.decoded) {
      const after = d.record!.after as JavaRecord;
      const id = Number((after.id as [string, string])[1]);
      const at = after.at as [string, string] | null;
      const ours = events.find((e) => e.after!.id === id && String(e.source.batch) === (d.record!.source as JavaRecord & { batch: [string, string] }).batch[1])!;
      expect(at === null ? null : at[1].slice(0, 26), `Avro Java, row ${id}`).toBe(six(ours.after!.at));
    }

    // the standby, applying only now: it decodes the old events after learning the new schema
    fx.apply(file);
    await fx.waitStandbyCaughtUp(prefix, standby);
    expect(await standby.query(ROWS_SQL)).toEqual((await fx.admin.query(ROWS_SQL)).rows);
    const row3 = await standby.query(`SELECT at::text AS at FROM ev WHERE id = 3`);
    expect(row3).toEqual([{ at: '9999-12-31 23:59:59.999' }]);
  });
});
