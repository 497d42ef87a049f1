// Standbys whose schema was created before replication started, as runbooks do it, with capture and
// apply running as real processes and the standbys compared with the source by the test's own SQL:
// - PostgreSQL: the tables restored from `pg_dump -s` of the source (only the replicated tables, and
//   without ctrelay's change-tracking triggers: the dump's table of contents filtered), then the
//   operator's own additions: an audit table filled by triggers on the replicated tables, an extra
//   index, a standby-only NOT NULL column with a default, a column moved to the end;
// - MariaDB: an equivalent hand-written schema (AUTO_INCREMENT, a generated column, a foreign key
//   with ON DELETE CASCADE, a CHECK, a standby-only column first, another column order) with an
//   audit trigger, which the applier refuses naming it (MariaDB cannot keep a trigger from firing in
//   one session); the operator drops it and restarts the applier.
// The source has an identity column, a generated column, a parent/child foreign key with ON DELETE
// CASCADE and CHECK constraints; the workload inserts (taking identity values), updates, deletes,
// deletes parents whose children cascade, and moves children between parents. Child events come
// before parent events in every window (source.tables lists child first), so only replica mode
// lets the standby's foreign keys accept them.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stoppedWith, usePipeline, type Standby } from '../support/pipeline-fixture.ts';
import { uniquePrefix, type Proc } from '../support/pipeline.ts';

const fx = usePipeline({
  name: 'sbpre',
  schema: `
    CREATE TABLE parent (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      name text NOT NULL,
      credit numeric(12,2) NOT NULL DEFAULT 0 CHECK (credit >= 0)
    );
    CREATE TABLE child (
      id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      parent_id bigint NOT NULL REFERENCES parent (id) ON DELETE CASCADE,
      qty integer NOT NULL CHECK (qty > 0),
      price numeric(10,2) NOT NULL,
      total numeric(20,2) GENERATED ALWAYS AS (qty * price) STORED,
      note text
    );
    INSERT INTO parent (name, credit) SELECT 'p' || g, g * 10 FROM generate_series(1, 6) g;
    INSERT INTO child (parent_id, qty, price, note) SELECT 1 + g % 6, 1 + g % 3, g * 0.25, 'n' || g FROM generate_series(1, 30) g;`,
  tables: ['public.child', 'public.parent'],
  config: { source: { pollIntervalMs: 50 }, standby: { mergeBatches: 10 } },
});

/** The PostgreSQL standby's schema: pg_dump -s of the two tables, without ctrelay's triggers, restored; then the operator's additions. */
async function restorePostgresStandby(standby: Standby): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'ctr-pgdump-'));
  try {
    const dump = join(dir, 'schema.dump');
    execFileSync('pg_dump', ['-s', '-Fc', '-t', 'public.parent', '-t', 'public.child', '-f', dump, '-d', fx.db.url]);
    const toc = execFileSync('pg_restore', ['-l', dump]).toString();
    // the dump holds ctrelay's change-tracking triggers of the source tables: a standby has no use for them
    expect(toc).toMatch(/TRIGGER public child ctrelay_ct_ins/);
    const list = join(dir, 'schema.list');
    writeFileSync(list, toc.split('\n').filter((l) => !/ TRIGGER .*ctrelay_/.test(l)).join('\n'));
    execFileSync('pg_restore', ['--no-owner', '--exit-on-error', '-L', list, '-d', standby.url, dump]);
    expect(readFileSync(list, 'utf8')).not.toContain('ctrelay');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  await standby.query(`
    CREATE TABLE public.audit (n bigserial PRIMARY KEY, what text NOT NULL);
    CREATE FUNCTION public.audit_row() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN INSERT INTO public.audit (what) VALUES (TG_OP || ' ' || TG_TABLE_NAME); RETURN NULL; END $$;
    CREATE TRIGGER child_audit AFTER INSERT OR UPDATE OR DELETE ON public.child FOR EACH ROW EXECUTE FUNCTION public.audit_row();
    CREATE TRIGGER parent_audit AFTER INSERT OR UPDATE OR DELETE ON public.parent FOR EACH ROW EXECUTE FUNCTION public.audit_row();
    ALTER TABLE public.parent ADD COLUMN replicated_at timestamptz NOT NULL DEFAULT now();
    ALTER TABLE public.child DROP COLUMN note;
    ALTER TABLE public.child ADD COLUMN note text;
    CREATE INDEX child_note ON public.child (note);`);
}

/** The MariaDB standby's schema, hand-written: the same tables in another column order, plus an audit trigger. */
async function createMariaStandby(standby: Standby): Promise<void> {
  for (const statement of [
    `CREATE TABLE parent (
       replicated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
       id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
       credit DECIMAL(12,2) NOT NULL DEFAULT 0 CHECK (credit >= 0),
       name LONGTEXT CHARACTER SET utf8mb4 NOT NULL
     ) ENGINE=InnoDB`,
    `CREATE TABLE child (
       id INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
       note LONGTEXT CHARACTER SET utf8mb4 NULL,
       parent_id BIGINT NOT NULL,
       price DECIMAL(10,2) NOT NULL,
       qty INT NOT NULL CHECK (qty > 0),
       total DECIMAL(20,2) AS (qty * price) STORED,
       KEY child_qty (qty),
       CONSTRAINT child_parent FOREIGN KEY (parent_id) REFERENCES parent (id) ON DELETE CASCADE
     ) ENGINE=InnoDB`,
    'CREATE TABLE audit (n BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY, what VARCHAR(100) NOT NULL) ENGINE=InnoDB',
    "CREATE TRIGGER child_audit AFTER INSERT ON child FOR EACH ROW INSERT INTO audit (what) VALUES ('INSERT child')",
  ]) {
    await standby.query(statement);
  }
}

/** Both tables as the test's own SQL reads them, every value as text (the generated total included). */
async function contents(read: (sql: string) => Promise<any[]>, kind: 'postgres' | 'mariadb'): Promise<unknown> {
  const t = (c: string) => (kind === 'mariadb' ? `CAST(${c} AS CHAR)` : `${c}::text`);
  return {
    parent: await read(`SELECT ${t('id')} AS id, name, ${t('credit')} AS credit FROM parent ORDER BY id`),
    child: await read(`SELECT ${t('id')} AS id, ${t('parent_id')} AS parent_id, ${t('qty')} AS qty, ${t('price')} AS price, ${t('total')} AS total, note FROM child ORDER BY id`),
  };
}

const sourceContents = () => contents(async (sql) => (await fx.admin.query(sql)).rows, 'postgres');

async function auditRows(standby: Standby): Promise<number> {
  return Number((await standby.query('SELECT count(*) AS n FROM audit'))[0].n);
}

const caughtUp = (prefix: string, standby: Standby, app: Proc) => fx.waitCaughtUpWhileRunning(prefix, standby, app);

const stopped = (app: Proc) => stoppedWith(app);

describe('a standby whose schema was created before replication', () => {
  it('identity, generated, foreign keys with cascades, CHECKs, triggers, extra indexes and columns, another column order: replicated exactly, no standby trigger fired', async () => {
    const prefix = uniquePrefix('pre');
    const pgs = await fx.standby('postgres', 'sbpre');
    await restorePostgresStandby(pgs);
    const maria = await fx.standby('mariadb', 'sbpre');
    await createMariaStandby(maria);

    const pgFile = fx.config(prefix, { standby: { id: 'pg-pre', url: pgs.url } });
    const mariaFile = fx.config(prefix, { standby: { id: 'maria-pre', url: maria.url } });
    const cap = fx.capture(pgFile);
    const pgApp = fx.apply(pgFile);
    let mariaApp = fx.apply(mariaFile);

    // MariaDB cannot keep the trigger from firing: the applier stops naming it, and writes nothing
    const refused = await stopped(mariaApp);
    expect(refused.code, mariaApp.stderr().slice(-3000)).toBe(5);
    expect(refused.error).toContain('source table public.child');
    expect(refused.error).toContain('has trigger(s) `child_audit` (AFTER INSERT)');
    expect(refused.error).toContain(`DROP TRIGGER \`${maria.name}\`.\`child_audit\``);
    expect(Number((await maria.query('SELECT count(*) AS n FROM child'))[0].n)).toBe(0);
    expect(Number((await maria.query('SELECT count(*) AS n FROM parent'))[0].n)).toBe(0);
    expect(await auditRows(maria)).toBe(0);

    // the snapshot, on PostgreSQL: exact, no trigger fired
    await caughtUp(prefix, pgs, pgApp);
    const snapshot = await sourceContents();
    expect(await contents((sql) => pgs.query(sql), 'postgres')).toEqual(snapshot);
    expect(await auditRows(pgs)).toBe(0);

    // the operator drops the trigger on MariaDB and restarts its applier
    await maria.query('DROP TRIGGER child_audit');
    mariaApp = fx.apply(mariaFile);
    await caughtUp(prefix, maria, mariaApp);
    expect(await contents((sql) => maria.query(sql), 'mariadb')).toEqual(snapshot);

    // the workload: inserts taking identity values, updates (the generated total changes), deletes,
    // cascaded deletes, a child moved to another parent before its old parent is deleted
    const q = (sql: string) => fx.admin.query(sql);
    const fresh = (await q(`INSERT INTO parent (name, credit) VALUES ('new one', 5), ('new two', 0) RETURNING id`)).rows.map((r) => r.id);
    await q(`INSERT INTO child (parent_id, qty, price, note) VALUES (${fresh[0]}, 2, 1.25, 'fresh'), (${fresh[1]}, 3, 2.50, NULL), (${fresh[1]}, 1, 0.01, 'x')`);
    await q(`UPDATE child SET qty = qty + 1 WHERE id % 2 = 0`);
    await q(`UPDATE parent SET credit = credit + 1.50, name = name || ' (changed)' WHERE id <= 3`);
    await q(`DELETE FROM child WHERE id IN (3, 9)`);
    await q(`DELETE FROM parent WHERE id = 2`); // its children cascade at the source
    await q(`BEGIN; UPDATE child SET parent_id = 5 WHERE parent_id = 1; DELETE FROM parent WHERE id = 1; COMMIT`);
    await q(`BEGIN; INSERT INTO parent (name) VALUES ('late'); INSERT INTO child (parent_id, qty, price) SELECT max(id), 4, 9.99 FROM parent; DELETE FROM parent WHERE id = 4; COMMIT`);
    const after = (await sourceContents()) as { parent: unknown[]; child: { parent_id: string }[] };
    // the workload did what it says: the cascades removed children at the source
    expect(after.child.some((c) => ['1', '2', '4'].includes(c.parent_id))).toBe(false);
    expect(after.parent).toHaveLength(6);

    await caughtUp(prefix, pgs, pgApp);
    await caughtUp(prefix, maria, mariaApp);
    expect(await contents((sql) => pgs.query(sql), 'postgres')).toEqual(after);
    expect(await contents((sql) => maria.query(sql), 'mariadb')).toEqual(after);

    // no standby trigger fired during apply
    expect(await auditRows(pgs)).toBe(0);
    expect(await auditRows(maria)).toBe(0);
    // ... although the PostgreSQL one is real: outside apply it writes its audit row
    await pgs.query('BEGIN');
    await pgs.query('UPDATE child SET note = note WHERE id = (SELECT min(id) FROM child)');
    expect(await auditRows(pgs)).toBe(1);
    await pgs.query('ROLLBACK');

    // the standby-only columns kept their NOT NULL and hold their defaults
    expect(await pgs.query(`SELECT is_nullable AS n FROM information_schema.columns WHERE table_name = 'parent' AND column_name = 'replicated_at'`)).toEqual([{ n: 'NO' }]);
    expect(Number((await pgs.query('SELECT count(*) AS n FROM parent WHERE replicated_at IS NOT NULL'))[0].n)).toBe(6);
    expect(Number((await maria.query('SELECT count(*) AS n FROM parent WHERE replicated_at IS NOT NULL'))[0].n)).toBe(6);
    // the standbys' own column order and generated columns are as the operator made them
    expect((await pgs.query(`SELECT attname AS c, attgenerated AS g FROM pg_attribute WHERE attrelid = 'public.child'::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum`)).map((r) => `${r.c}${r.g ? '*' : ''}`)).toEqual(
      ['id', 'parent_id', 'qty', 'price', 'total*', 'note'],
    );
    expect((await maria.query(`SELECT column_name AS c, extra AS x FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = 'child' ORDER BY ordinal_position`)).map((r) => `${r.c}${/GENERATED/.test(r.x) ? '*' : ''}`)).toEqual(
      ['id', 'note', 'parent_id', 'price', 'qty', 'total*'],
    );
    // MariaDB's AUTO_INCREMENT moved past the largest id written
    const [{ next, top }] = await maria.query(`SELECT (SELECT auto_increment FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = 'parent') AS next, (SELECT max(id) FROM parent) AS top`);
    expect(BigInt(next)).toBeGreaterThan(BigInt(top));

    for (const p of [pgApp, mariaApp, cap]) await p.kill('SIGTERM');
  });
});
