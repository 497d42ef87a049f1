// The standby's side of failover (src/standby/promotion.ts) against the local PostgreSQL and
// MariaDB, at the dialect level: protection keeps an application's session from writing while the
// applier's transactions still write; markPromoted stops an apply transaction in flight at its
// state write (two real connections) and every later one; unprotect lets the application write;
// advanceSequences moves identity, serial and AUTO_INCREMENT counters past the replicated keys.
// MariaDB's protection is the SERVER's read_only: every test restores it OFF (the server is shared).
import mysql from 'mysql2/promise';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TableMeta } from '../../src/core/model.ts';
import { createDialect } from '../../src/standby/create-dialect.ts';
import { isPromotable, prepareStandby, PromotedError, ProtectRefusedError, type PromotableDialect } from '../../src/standby/promotion.ts';
import { createMariaDatabase, createPgDatabase, MYSQL_ADMIN_URL, PG_ADMIN_URL, type ThrowawayDb } from '../support/db.ts';
import { withLogin } from '../support/standby-harness.ts';

/** What differs between the engines: the application's session, and the admin's SQL. */
interface Engine {
  kind: 'postgres' | 'mariadb';
  create(): Promise<ThrowawayDb>;
  /** the schema (PostgreSQL) or database (MariaDB) of the test's tables */
  schemaOf(db: ThrowawayDb): string;
  /** an ordinary application's session on the standby (a fresh connection each call) writes one row */
  appInsert(db: ThrowawayDb, id: number): Promise<void>;
  /** runs admin SQL on the standby database (not read-only) and returns the rows */
  admin(db: ThrowawayDb, sql: string): Promise<Record<string, unknown>[]>;
  setUp?(db: ThrowawayDb): Promise<void>;
  tearDown?(db: ThrowawayDb): Promise<void>;
}

async function pgRun(url: string, sql: string, options?: string): Promise<Record<string, unknown>[]> {
  const c = new pg.Client({ connectionString: url, options });
  await c.connect();
  try {
    return (await c.query(sql)).rows;
  } finally {
    await c.end();
  }
}

async function myRun(url: string, sql: string): Promise<Record<string, unknown>[]> {
  const c = await mysql.createConnection(url);
  try {
    return (await c.query(sql))[0] as Record<string, unknown>[];
  } finally {
    await c.end();
  }
}

const appUser = `ctr_app_${process.pid}`;

const engines: Engine[] = [
  {
    kind: 'postgres',
    create: () => createPgDatabase('ctr_prot'),
    schemaOf: () => 'standby',
    appInsert: (db, id) => pgRun(db.url, `INSERT INTO standby.items (id, v) VALUES (${id}, 'app')`).then(() => undefined),
    // the admin's own session asks for read-write as the applier's do
    admin: (db, sql) => pgRun(db.url, sql, '-c default_transaction_read_only=off'),
  },
  {
    kind: 'mariadb',
    create: () => createMariaDatabase('ctr_prot'),
    schemaOf: (db) => db.name,
    appInsert: (db, id) => myRun(withLogin(db.url, { user: appUser, password: 'pw' }), `INSERT INTO items (id, v) VALUES (${id}, 'app')`).then(() => undefined),
    admin: (db, sql) => myRun(db.url, sql),
    async setUp(db) {
      await myRun(MYSQL_ADMIN_URL, `CREATE USER IF NOT EXISTS '${appUser}' IDENTIFIED BY 'pw'`);
      await myRun(MYSQL_ADMIN_URL, `GRANT SELECT, INSERT, UPDATE, DELETE ON \`${db.name}\`.* TO '${appUser}'`);
    },
    async tearDown() {
      await myRun(MYSQL_ADMIN_URL, 'SET GLOBAL read_only = OFF');
      await myRun(MYSQL_ADMIN_URL, `DROP USER IF EXISTS '${appUser}'`);
    },
  },
];

const items = (schema: string): TableMeta => ({
  schema,
  table: 'items',
  key: ['id'],
  columns: [
    { name: 'id', type: { kind: 'int64' }, nullable: false, sourceType: 'bigint' },
    { name: 'v', type: { kind: 'string', maxLength: 20 }, nullable: true, sourceType: 'varchar(20)' },
  ],
});

describe.each(engines)('$kind standby protection and promotion', (engine) => {
  let db: ThrowawayDb;
  let d: PromotableDialect;
  let t: TableMeta;

  /** One apply transaction as the applier runs it: rows, then the state, then commit. */
  async function apply(sourceId: string, seq: bigint, ids: number[]): Promise<void> {
    const tx = await d.begin();
    try {
      await tx.upsert(t, ids.map((id) => ({ id: BigInt(id), v: `seq${seq}` })));
      await tx.writeState({ sourceId, batchSeq: seq, version: seq * 10n, batchOffset: seq });
      await tx.commit();
    } finally {
      await tx.rollback();
    }
  }
  const ids = async () => (await d.scan(t, null, 1000)).map((r) => Number(r.id));

  beforeAll(async () => {
    db = await engine.create();
    await engine.setUp?.(db);
    const dialect = createDialect(engine.kind, db.url);
    if (!isPromotable(dialect)) throw new Error('not promotable');
    d = dialect;
    t = items(engine.schemaOf(db));
    await d.connect();
    await d.ensureStateTable();
    await d.ensureTable(t);
    for (const source of ['race', 'waits', 'prep']) await apply(source, 1n, [1]);
  });
  afterAll(async () => {
    await d?.unprotect().catch(() => undefined);
    await d?.close();
    await engine.tearDown?.(db);
    await db?.drop();
  });

  it('(a) protected: an application session cannot write, the applier\'s transactions and DDL still do', async () => {
    await d.protect();
    await d.protect(); // idempotent
    expect(await d.isProtected()).toBe(true);
    // new pooled sessions, opened after the protection: they still write
    await d.close();
    await d.connect();
    await expect(engine.appInsert(db, 100)).rejects.toThrow(engine.kind === 'postgres' ? /read-only transaction/ : /read-only option|read_only/);
    await apply('race', 2n, [2, 3]);
    await d.ensureTable({ ...t, table: 'created_while_protected' });
    expect(await ids()).toEqual([1, 2, 3]);
    expect((await d.readState('race'))!.promotedAt).toBeNull();
  });

  it('(b) markPromoted while an apply transaction is open: it fails at its state write, nothing of it commits; later ones fail too', async () => {
    const tx = await d.begin();
    await tx.upsert(t, [{ id: 10n, v: 'lost' }]);
    const p = await d.markPromoted('race');
    expect(p.batchSeq).toBe(2n);
    expect(p.version).toBe(20n);
    const err = await tx.writeState({ sourceId: 'race', batchSeq: 3n, version: 30n, batchOffset: 3n }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PromotedError);
    expect(String(err)).toMatch(/was promoted at .* source race at version 20/);
    await expect(tx.commit()).rejects.toThrow(/rolled back/);
    expect(await ids()).toEqual([1, 2, 3]);
    await expect(apply('race', 3n, [11])).rejects.toBeInstanceOf(PromotedError);
    expect(await ids()).toEqual([1, 2, 3]);
    expect(await d.readPromotion('race')).toEqual(p);
    expect((await d.markPromoted('race')).at).toEqual(p.at);
    expect((await d.readState('race'))!.promotedAt).toEqual(p.at);
    expect(await d.readPromotion('waits')).toBeNull();
    await expect(d.markPromoted('never-applied')).rejects.toThrow(/holds no ctrelay_state row for source never-applied/);
  });

  it('(b) markPromoted waits for an apply transaction that already wrote the state row and promotes at what it committed', async () => {
    const tx = await d.begin();
    await tx.upsert(t, [{ id: 20n, v: 'kept' }]);
    await tx.writeState({ sourceId: 'waits', batchSeq: 2n, version: 25n, batchOffset: 2n });
    let settled = false;
    const promoting = d.markPromoted('waits').finally(() => (settled = true));
    await new Promise((r) => setTimeout(r, 300));
    expect(settled).toBe(false); // blocked on the state row's lock
    await tx.commit();
    const p = await promoting;
    expect(p.batchSeq).toBe(2n);
    expect(p.version).toBe(25n);
    expect(await ids()).toContain(20);
  });

  it('a promoted standby is refused at applier start (prepareStandby); another source still applies', async () => {
    await d.markPromoted('prep');
    await expect(prepareStandby(d, 'prep', true)).rejects.toBeInstanceOf(PromotedError);
    await prepareStandby(d, 'fresh', true);
    await apply('fresh', 1n, [30]);
  });

  it('(c) unprotect: the application session writes again', async () => {
    await d.unprotect();
    await d.unprotect();
    expect(await d.isProtected()).toBe(false);
    await engine.appInsert(db, 101);
    expect(await ids()).toContain(101);
  });
});

describe('postgres: advanceSequences and a login that may not protect', () => {
  let db: ThrowawayDb;
  let d: PromotableDialect;
  const role = `ctr_np_${process.pid}`;
  const sql = (s: string) => pgRun(db.url, s);

  beforeAll(async () => {
    db = await createPgDatabase('ctr_seq');
    d = createDialect('postgres', db.url) as PromotableDialect;
    await d.connect();
    await sql(`CREATE SCHEMA s;
      CREATE TABLE s.ident (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, v text);
      CREATE TABLE s.ser (id serial PRIMARY KEY, v text);
      CREATE SEQUENCE s.shared;
      CREATE TABLE s.other (id bigint PRIMARY KEY DEFAULT nextval('s.shared'), v text);
      INSERT INTO s.ident (id) SELECT g FROM generate_series(1, 1000) g;
      INSERT INTO s.ser (id) SELECT g FROM generate_series(1, 1000) g;
      INSERT INTO s.other (id) SELECT g FROM generate_series(1, 50) g;`);
  });
  afterAll(async () => {
    await d?.close();
    await db?.drop();
    await pgRun(PG_ADMIN_URL, `DROP ROLE IF EXISTS ${role}`);
  });

  const next = async (table: string) => Number((await sql(`INSERT INTO s.${table} (v) VALUES ('new') RETURNING id`))[0].id);
  const tables = ['ident', 'ser', 'other'].map((table) => ({ schema: 's', table }));

  it('moves identity, serial and nextval-default sequences past the column and the floor, never backwards', async () => {
    const moved = await d.advanceSequences(tables, new Map([['s.ser.id', 1500n]]));
    expect(moved.map((m) => [m.table, m.column, m.sequence, m.before, m.next])).toEqual([
      ['s.ident', 'id', 's.ident_id_seq', 1n, 1001n],
      ['s.ser', 'id', 's.ser_id_seq', 1n, 1501n],
      ['s.other', 'id', 's.shared', 1n, 51n],
    ]);
    expect(await next('ident')).toBe(1001);
    expect(await next('ser')).toBe(1501);
    expect(await next('other')).toBe(51);
    expect(await d.advanceSequences(tables, new Map([['s.ser.id', 10n]]))).toEqual([]);
    expect(await next('ident')).toBe(1002);
    expect(await next('ser')).toBe(1502);
  });

  it('a login that does not own the database is told the privilege and standby.protect: false', async () => {
    await pgRun(PG_ADMIN_URL, `CREATE ROLE ${role} LOGIN`);
    const other = createDialect('postgres', withLogin(db.url, { user: role, password: '' })) as PromotableDialect;
    await other.connect();
    try {
      const err = await other.protect().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ProtectRefusedError);
      expect(String(err)).toMatch(new RegExp(`own database "?${db.name}"? \\(or be a superuser\\).*standby\\.protect: false`));
      expect(await d.isProtected()).toBe(false);
    } finally {
      await other.close();
    }
  });
});

describe('mariadb: AUTO_INCREMENT and a login without READ_ONLY ADMIN', () => {
  let db: ThrowawayDb;
  let d: PromotableDialect;
  const user = `ctr_nro_${process.pid}`;
  const sql = (s: string) => myRun(db.url, s);

  beforeAll(async () => {
    db = await createMariaDatabase('ctr_seq');
    d = createDialect('mariadb', db.url) as PromotableDialect;
    await d.connect();
    for (const table of ['a', 'b']) {
      await sql(`CREATE TABLE ${table} (id BIGINT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(10))`);
      await sql(`INSERT INTO ${table} (id) SELECT seq FROM seq_1_to_1000`);
    }
  });
  afterAll(async () => {
    await d?.close();
    await myRun(MYSQL_ADMIN_URL, 'SET GLOBAL read_only = OFF');
    await myRun(MYSQL_ADMIN_URL, `DROP USER IF EXISTS '${user}'`);
    await db?.drop();
  });

  const next = async (table: string) => {
    await sql(`INSERT INTO ${table} (v) VALUES ('new')`);
    return Number((await sql(`SELECT MAX(id) AS id FROM ${table}`))[0].id);
  };

  it('moves the counter past the floor (InnoDB already moved it past the column), never backwards', async () => {
    const tables = ['a', 'b'].map((table) => ({ schema: db.name, table }));
    const moved = await d.advanceSequences(tables, new Map([[`${db.name}.a.id`, 1500n]]));
    expect(moved).toEqual([{ table: `${db.name}.a`, column: 'id', sequence: 'AUTO_INCREMENT', before: 1001n, next: 1501n }]);
    expect(await next('a')).toBe(1501);
    expect(await next('b')).toBe(1001);
    expect(await d.advanceSequences(tables, new Map([[`${db.name}.a.id`, 10n]]))).toEqual([]);
    expect(await next('a')).toBe(1502);
  });

  it.each([
    // MariaDB 10.11: SUPER may not even set read_only (READ_ONLY ADMIN only): refused at SET GLOBAL
    ['SUPER, which no longer implies READ_ONLY ADMIN', false],
    // read_only already ON: the probe write under it is what refuses
    ['no READ_ONLY ADMIN on a server already read-only', true],
  ])('a login with %s is refused naming READ_ONLY ADMIN and standby.protect: false; read_only is left as it was', async (_, alreadyOn) => {
    await myRun(MYSQL_ADMIN_URL, `DROP USER IF EXISTS '${user}'`);
    await myRun(MYSQL_ADMIN_URL, `CREATE USER '${user}' IDENTIFIED BY 'pw'`);
    await myRun(MYSQL_ADMIN_URL, `GRANT ALL ON \`${db.name}\`.* TO '${user}'`);
    await myRun(MYSQL_ADMIN_URL, `GRANT SUPER ON *.* TO '${user}'`);
    const other = createDialect('mariadb', withLogin(db.url, { user, password: 'pw' })) as PromotableDialect;
    await other.connect();
    try {
      await other.ensureStateTable();
      if (alreadyOn) await myRun(MYSQL_ADMIN_URL, 'SET GLOBAL read_only = ON');
      const err = await other.protect().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ProtectRefusedError);
      expect(String(err)).toMatch(alreadyOn ? /READ_ONLY ADMIN.*to write while read_only is ON.*WHOLE server.*standby\.protect: false/ : /READ_ONLY ADMIN.*WHOLE server.*standby\.protect: false/);
      expect(await d.isProtected()).toBe(alreadyOn);
    } finally {
      await myRun(MYSQL_ADMIN_URL, 'SET GLOBAL read_only = OFF');
      await other.close();
    }
  });
});
