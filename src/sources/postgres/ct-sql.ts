// ctrelay's change tracking for PostgreSQL, with SQL Server CT's semantics (DESIGN section 2).
//
// Versions: every writing transaction registers itself in ctrelay.txn; a DEFERRED constraint
// trigger on that row assigns the version at commit time and takes the version lock SHARED, held
// until the transaction has committed and become visible. Writers never wait for each other (their
// commit records flush together), so two versions can become visible out of order for a moment;
// a reader that needs "sees v => sees every committed version below v" takes the lock EXCLUSIVE
// around its snapshot (ct-snapshot.ts), which waits for every writer holding a drawn version. A long
// transaction that commits late simply gets a late version; nothing can be skipped. (Until
// 2026-12 writers took the lock exclusive, which serialised every commit's WAL flush: 0.52x of the
// untracked tps at 8 pgbench clients.)
//
// Changes: one side-table row per changed key (the key, the xid of its last change, the xid that
// created it), written by statement-level triggers with transition tables, so a statement touching
// a million rows costs one set-based upsert, not a million trigger calls. The row image is never
// copied: the poller joins the live table, exactly like CHANGETABLE.
import { quoteIdent, quoteLiteral } from '../../drivers/postgres/quote.ts';

/** The shared objects, installed once per database; idempotent. */
export const INSTALL_SQL = `
CREATE SCHEMA IF NOT EXISTS ctrelay;
CREATE SEQUENCE IF NOT EXISTS ctrelay.version_seq MINVALUE 1;
CREATE TABLE IF NOT EXISTS ctrelay.txn (
  xid xid8 PRIMARY KEY,
  version bigint UNIQUE,
  commit_ts timestamptz
);
CREATE TABLE IF NOT EXISTS ctrelay.tables (
  id serial PRIMARY KEY,
  schema_name name NOT NULL,
  table_name name NOT NULL,
  side_table name NOT NULL,
  key_columns name[] NOT NULL,
  min_valid_version bigint NOT NULL,
  reset_xid xid8,
  enabled_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (schema_name, table_name)
);
-- triggers_ok: the table's four tracking triggers existed and were enabled ALWAYS at the last DDL
-- that could have changed them (kept by ctrelay.on_ddl); reset_reason: why min_valid_version was
-- last raised, for capture's log
ALTER TABLE ctrelay.tables ADD COLUMN IF NOT EXISTS triggers_ok boolean NOT NULL DEFAULT true;
ALTER TABLE ctrelay.tables ADD COLUMN IF NOT EXISTS reset_reason text;
-- columns: name -> attnum of every column the table has had since tracking began (kept by
-- ctrelay.on_ddl; dropped ones stay): a name back under another attnum was dropped and added again
ALTER TABLE ctrelay.tables ADD COLUMN IF NOT EXISTS columns jsonb;
CREATE TABLE IF NOT EXISTS ctrelay.meta (
  id boolean PRIMARY KEY DEFAULT true CHECK (id),
  cleaned_up_to bigint NOT NULL DEFAULT 0
);
INSERT INTO ctrelay.meta (id) VALUES (true) ON CONFLICT DO NOTHING;

CREATE OR REPLACE FUNCTION ctrelay.current_version() RETURNS bigint
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
  SELECT greatest(
    coalesce((SELECT max(version) FROM ctrelay.txn), 0),
    (SELECT cleaned_up_to FROM ctrelay.meta))
$$;

CREATE OR REPLACE FUNCTION ctrelay.min_valid_version(p_schema name, p_table name) RETURNS bigint
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
  SELECT min_valid_version FROM ctrelay.tables WHERE schema_name = p_schema AND table_name = p_table
$$;

-- Registers the current transaction once (a transaction-local setting remembers it; it is undone
-- with a rolled-back savepoint, together with the row it guards).
CREATE OR REPLACE FUNCTION ctrelay.register_txn() RETURNS xid8
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
DECLARE x xid8 := pg_current_xact_id();
BEGIN
  IF current_setting('ctrelay.txn', true) IS DISTINCT FROM x::text THEN
    INSERT INTO ctrelay.txn (xid) VALUES (x) ON CONFLICT DO NOTHING;
    PERFORM set_config('ctrelay.txn', x::text, true);
  END IF;
  RETURN x;
END $$;

CREATE OR REPLACE FUNCTION ctrelay.assign_version() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
DECLARE v bigint;
BEGIN
  -- a version must never be seen before it is durable: with synchronous_commit off a crash could
  -- lose a captured transaction and hand its version out again
  PERFORM set_config('synchronous_commit', 'on', true);
  -- shared: concurrent committers do not wait for each other; readers take it exclusive to wait
  -- for every drawn version to commit or roll back before their snapshot (ct-snapshot.ts)
  PERFORM pg_advisory_xact_lock_shared(7406011, 1);
  v := nextval('ctrelay.version_seq');
  UPDATE ctrelay.txn SET version = v, commit_ts = clock_timestamp() WHERE xid = NEW.xid;
  -- a TRUNCATE in this transaction invalidates every older cursor of that table
  UPDATE ctrelay.tables SET min_valid_version = v, reset_xid = NULL WHERE reset_xid = NEW.xid;
  RETURN NULL;
END $$;

DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgname = 'ctrelay_assign_version'
                 AND tgrelid = 'ctrelay.txn'::regclass) THEN
    CREATE CONSTRAINT TRIGGER ctrelay_assign_version AFTER INSERT ON ctrelay.txn
      DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ctrelay.assign_version();
    ALTER TABLE ctrelay.txn ENABLE ALWAYS TRIGGER ctrelay_assign_version;
  END IF;
END $$;

-- Retention cleanup: forgets changes whose transaction committed before now() - retention and
-- raises every table's min valid version to the newest version forgotten, as SQL Server's cleanup
-- does. Keeps the newest transaction so the current version never goes back.
CREATE OR REPLACE FUNCTION ctrelay.cleanup(retention interval) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
DECLARE cutoff bigint; t record;
BEGIN
  SELECT max(version) INTO cutoff FROM ctrelay.txn WHERE commit_ts < now() - retention;
  IF cutoff IS NULL THEN RETURN NULL; END IF;
  cutoff := least(cutoff, (SELECT max(version) FROM ctrelay.txn));
  FOR t IN SELECT side_table FROM ctrelay.tables LOOP
    EXECUTE format('DELETE FROM ctrelay.%I s USING ctrelay.txn x WHERE x.xid = s.last_xid AND x.version <= $1', t.side_table)
      USING cutoff;
  END LOOP;
  UPDATE ctrelay.tables SET min_valid_version = cutoff,
    reset_reason = 'ct cleanup forgot the changes older than the retention period'
   WHERE min_valid_version < cutoff;
  UPDATE ctrelay.meta SET cleaned_up_to = greatest(cleaned_up_to, cutoff);
  DELETE FROM ctrelay.txn WHERE version < cutoff;
  RETURN cutoff;
END $$;

-- Whether a tracked table's four tracking triggers exist, call the table's own trigger functions
-- and are enabled ALWAYS (tgenabled 'A'): a trigger that is missing, disabled, or enabled only for
-- session_replication_role = origin ('O') or replica ('R') lets changes through untracked.
CREATE OR REPLACE FUNCTION ctrelay.tracking_triggers_ok(p_schema name, p_table name, p_side name) RETURNS boolean
LANGUAGE sql STABLE SET search_path = pg_catalog AS $$
  SELECT count(*) = 4
    FROM pg_trigger tg JOIN pg_proc p ON p.oid = tg.tgfoid
   WHERE tg.tgrelid = to_regclass(quote_ident(p_schema) || '.' || quote_ident(p_table))
     AND tg.tgenabled = 'A'
     AND p.pronamespace = 'ctrelay'::regnamespace
     AND (tg.tgname, p.proname::text) IN (('ctrelay_ct_ins', p_side || '_ins'), ('ctrelay_ct_upd', p_side || '_upd'),
                                          ('ctrelay_ct_del', p_side || '_del'), ('ctrelay_ct_trunc', p_side || '_trunc'))
$$;

-- The table's columns, name -> attnum (empty when the table is gone or renamed).
CREATE OR REPLACE FUNCTION ctrelay.column_numbers(p_schema name, p_table name) RETURNS jsonb
LANGUAGE sql STABLE SET search_path = pg_catalog AS $$
  SELECT coalesce(jsonb_object_agg(attname, attnum), '{}'::jsonb) FROM pg_attribute
   WHERE attrelid = to_regclass(quote_ident(p_schema) || '.' || quote_ident(p_table)) AND attnum > 0 AND NOT attisdropped
$$;

-- Resets a table as TRUNCATE does: at this transaction's commit its min valid version becomes the
-- transaction's own version, above every cursor taken before (assign_version applies it).
CREATE OR REPLACE FUNCTION ctrelay.reset_table(p_id int, p_reason text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
DECLARE x xid8 := ctrelay.register_txn();
BEGIN
  UPDATE ctrelay.tables SET reset_xid = x, reset_reason = p_reason WHERE id = p_id;
END $$;

-- Event trigger (ddl_command_end of ALTER TABLE, CREATE/DROP/ALTER TRIGGER, DROP FUNCTION), per
-- tracked table:
--  * keeps triggers_ok, and when the table's triggers come back (ENABLE ALWAYS TRIGGER after a
--    DISABLE, a trigger re-created) resets the table: what was written while they were off is unknown;
--  * keeps columns, and when a column is dropped and added again under the same name resets the
--    table: a standby keeps a dropped column with its values, which the new column does not have.
-- \`ct enable\` and \`ct disable\` manage the state themselves (ctrelay.installing).
CREATE OR REPLACE FUNCTION ctrelay.on_ddl() RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
DECLARE t record; ok boolean; cols jsonb; readded text;
BEGIN
  IF current_setting('ctrelay.installing', true) = 'on' THEN RETURN; END IF;
  FOR t IN SELECT id, schema_name, table_name, side_table, triggers_ok, columns FROM ctrelay.tables ORDER BY id LOOP
    ok := ctrelay.tracking_triggers_ok(t.schema_name, t.table_name, t.side_table);
    IF ok IS DISTINCT FROM t.triggers_ok THEN
      UPDATE ctrelay.tables SET triggers_ok = ok WHERE id = t.id;
      IF ok THEN
        PERFORM ctrelay.reset_table(t.id, format('the change-tracking triggers of %I.%I were off and are on again (%s): changes made meanwhile are unknown',
          t.schema_name, t.table_name, tg_tag));
      END IF;
    END IF;
    cols := ctrelay.column_numbers(t.schema_name, t.table_name);
    CONTINUE WHEN t.columns IS NOT NULL AND t.columns @> cols;
    SELECT string_agg(c.name, ', ' ORDER BY c.name) INTO readded
      FROM jsonb_each_text(cols) AS c(name, num) WHERE t.columns ? c.name AND t.columns ->> c.name <> c.num;
    UPDATE ctrelay.tables SET columns = coalesce(t.columns, '{}'::jsonb) || cols WHERE id = t.id;
    IF readded IS NOT NULL THEN
      PERFORM ctrelay.reset_table(t.id, format('column %s of %I.%I was dropped and added again (%s): existing rows changed without DML',
        readded, t.schema_name, t.table_name, tg_tag));
    END IF;
  END LOOP;
END $$;

-- Event trigger (table_rewrite): ALTER TABLE rewrote every row of a tracked table without DML
-- (ALTER COLUMN TYPE ... USING, a column added with a volatile default): the table is reset, as by
-- TRUNCATE. A rewrite that only changes persistence (1) or access method (8) keeps every value.
CREATE OR REPLACE FUNCTION ctrelay.on_rewrite() RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
DECLARE rel oid := pg_event_trigger_table_rewrite_oid(); why int := pg_event_trigger_table_rewrite_reason(); t record;
BEGIN
  IF current_setting('ctrelay.installing', true) = 'on' OR why & 6 = 0 THEN RETURN; END IF;
  FOR t IN SELECT id, schema_name, table_name FROM ctrelay.tables
            WHERE to_regclass(quote_ident(schema_name) || '.' || quote_ident(table_name)) = rel LOOP
    PERFORM ctrelay.reset_table(t.id, format('%s rewrote every row of %I.%I (%s): existing rows changed without DML',
      tg_tag, t.schema_name, t.table_name,
      concat_ws(', ', CASE WHEN why & 2 <> 0 THEN 'a column added with a volatile default' END,
                      CASE WHEN why & 4 <> 0 THEN 'a column type changed or rewritten with USING' END)));
  END LOOP;
END $$;
`;

/** The event triggers ct enable installs (when the installer may: superuser or rds_superuser). */
export const EVENT_TRIGGER_NAMES = ['ctrelay_ddl', 'ctrelay_rewrite'] as const;

/**
 * Creates (or re-creates) the event triggers, ENABLE ALWAYS so that they also fire under
 * session_replication_role = replica. Needs superuser: the caller runs it in a savepoint and warns
 * when it is refused.
 */
export const EVENT_TRIGGERS_SQL = `
DROP EVENT TRIGGER IF EXISTS ctrelay_ddl;
DROP EVENT TRIGGER IF EXISTS ctrelay_rewrite;
CREATE EVENT TRIGGER ctrelay_ddl ON ddl_command_end
  WHEN TAG IN ('ALTER TABLE', 'CREATE TRIGGER', 'DROP TRIGGER', 'ALTER TRIGGER', 'DROP FUNCTION')
  EXECUTE FUNCTION ctrelay.on_ddl();
CREATE EVENT TRIGGER ctrelay_rewrite ON table_rewrite EXECUTE FUNCTION ctrelay.on_rewrite();
ALTER EVENT TRIGGER ctrelay_ddl ENABLE ALWAYS;
ALTER EVENT TRIGGER ctrelay_rewrite ENABLE ALWAYS;
`;

/** One row per ctrelay event trigger that is missing or not enabled ALWAYS: (name, state). */
export const EVENT_TRIGGER_PROBLEMS_SQL = `
SELECT n.name, coalesce(e.evtenabled::text, 'missing') AS state
  FROM unnest(ARRAY[${EVENT_TRIGGER_NAMES.map((n) => `'${n}'`).join(', ')}]) AS n(name)
  LEFT JOIN pg_event_trigger e ON e.evtname = n.name
 WHERE e.evtenabled IS DISTINCT FROM 'A'
 ORDER BY n.name`;

/** The operation suffix of each tracking trigger (ctrelay_ct_<op>) and trigger function (<side>_<op>). */
export const TRACKING_OPS = ['ins', 'upd', 'del', 'trunc'] as const;

/**
 * The tracking state of the given tables, read in the poll's snapshot: $1 = schema names, $2 =
 * table names. Per table (i = its 1-based position) its side table (null: no longer in
 * ctrelay.tables, e.g. after `ct disable`) and one row per tracking trigger that is missing, calls
 * another function than the table's own, or is not enabled ALWAYS (op, state: missing, function, D,
 * O, R); a table whose triggers are all in order has one row with op null; every row carries the
 * table's min valid version. Reads the catalogs and ctrelay.tables only, so it works on
 * installations of every ctrelay version.
 */
export const TRACKING_STATE_SQL = `
SELECT x.i, t.side_table AS side, t.min_valid_version::text AS min_valid, bad.op, bad.state
  FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS x(sch, tbl, i)
  LEFT JOIN ctrelay.tables t ON t.schema_name = x.sch AND t.table_name = x.tbl
  LEFT JOIN LATERAL (
    SELECT o.op, CASE WHEN tg.oid IS NULL THEN 'missing'
                      WHEN p.pronamespace <> 'ctrelay'::regnamespace OR p.proname::text <> t.side_table || '_' || o.op THEN 'function'
                      ELSE tg.tgenabled::text END AS state
      FROM unnest(ARRAY[${TRACKING_OPS.map((o) => `'${o}'`).join(', ')}]) AS o(op)
      LEFT JOIN pg_trigger tg ON tg.tgrelid = to_regclass(quote_ident(x.sch) || '.' || quote_ident(x.tbl)) AND tg.tgname = 'ctrelay_ct_' || o.op
      LEFT JOIN pg_proc p ON p.oid = tg.tgfoid
     WHERE tg.oid IS NULL OR tg.tgenabled <> 'A' OR p.pronamespace <> 'ctrelay'::regnamespace OR p.proname::text <> t.side_table || '_' || o.op
  ) bad ON t.id IS NOT NULL
 ORDER BY x.i, bad.op`;

export interface TrackedTableSql {
  schema: string;
  table: string;
  /** side table name inside schema ctrelay, e.g. ct_3 */
  side: string;
  /** key columns with their SQL types as format_type() spells them */
  key: { name: string; sqlType: string }[];
}

/** DDL that enables tracking on one table: side table, trigger functions, triggers. */
export function enableTableSql(t: TrackedTableSql): string {
  const base = `${quoteIdent(t.schema)}.${quoteIdent(t.table)}`;
  const side = `ctrelay.${quoteIdent(t.side)}`;
  const keys = t.key.map((k) => quoteIdent(k.name));
  const keyList = keys.join(', ');
  const keyDefs = t.key.map((k) => `${quoteIdent(k.name)} ${k.sqlType}`).join(', ');
  const fn = (op: string) => `ctrelay.${quoteIdent(`${t.side}_${op}`)}`;
  const trg = (op: string) => quoteIdent(`ctrelay_ct_${op}`);
  const sameKey = (a: string, b: string) => t.key.map((k) => `${a}.${quoteIdent(k.name)} = ${b}.${quoteIdent(k.name)}`).join(' AND ');
  // created_xid is set only when the key is new since tracking began or it is an INSERT: a key
  // that existed before reads as U, like SQL Server's SYS_CHANGE_CREATION_VERSION logic.
  // The transaction's xid, as register_txn() left it in a transaction-local setting. No PL/pgSQL
  // variable appears in the SQL below: a variable would be ambiguous with a column of the same
  // name in the transition tables (a tracked table with a column "x" could not be written).
  const xid = `current_setting('ctrelay.txn')::xid8`;
  const upsert = (source: string, created: string) => `
    INSERT INTO ${side} AS s (${keyList}, last_xid, created_xid)
      SELECT ${keyList}, ${xid}, ${created} FROM ${source}
    ON CONFLICT (${keyList}) DO UPDATE SET last_xid = EXCLUDED.last_xid,
      created_xid = coalesce(EXCLUDED.created_xid, s.created_xid);`;
  const fnDef = (op: string, body: string) => `
CREATE OR REPLACE FUNCTION ${fn(op)}() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $fn$
BEGIN
${body}
  RETURN NULL;
END $fn$;`;
  return `
CREATE TABLE IF NOT EXISTS ${side} (${keyDefs}, last_xid xid8 NOT NULL, created_xid xid8, PRIMARY KEY (${keyList}));
CREATE INDEX IF NOT EXISTS ${quoteIdent(`${t.side}_last_xid`)} ON ${side} (last_xid);
${fnDef('ins', `  IF NOT EXISTS (SELECT 1 FROM new_rows) THEN RETURN NULL; END IF;
  PERFORM ctrelay.register_txn();${upsert('new_rows', xid)}`)}
${fnDef('upd', `  IF NOT EXISTS (SELECT 1 FROM new_rows) THEN RETURN NULL; END IF;
  PERFORM ctrelay.register_txn();
  -- keys that appear only among the new rows are key updates: the new key is an insert
  -- (the old key, present only among the old rows, reads as a delete: the live row is gone)
  ${upsert(`(SELECT ${keyList}, NOT EXISTS (SELECT 1 FROM old_rows o WHERE ${sameKey('o', 'n')}) AS is_new FROM new_rows n) n`, `CASE WHEN n.is_new THEN ${xid} END`)}
  ${upsert(`(SELECT ${keyList} FROM old_rows EXCEPT SELECT ${keyList} FROM new_rows) o`, 'NULL::xid8')}`)}
${fnDef('del', `  IF NOT EXISTS (SELECT 1 FROM old_rows) THEN RETURN NULL; END IF;
  PERFORM ctrelay.register_txn();${upsert('old_rows', 'NULL::xid8')}`)}
${fnDef('trunc', `  PERFORM ctrelay.register_txn();
  DELETE FROM ${side};
  UPDATE ctrelay.tables SET reset_xid = ${xid}, reset_reason = ${quoteLiteral(`${t.schema}.${t.table} was truncated`)}
   WHERE schema_name = ${quoteLiteral(t.schema)} AND table_name = ${quoteLiteral(t.table)};`)}
DROP TRIGGER IF EXISTS ${trg('ins')} ON ${base};
DROP TRIGGER IF EXISTS ${trg('upd')} ON ${base};
DROP TRIGGER IF EXISTS ${trg('del')} ON ${base};
DROP TRIGGER IF EXISTS ${trg('trunc')} ON ${base};
CREATE TRIGGER ${trg('ins')} AFTER INSERT ON ${base} REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION ${fn('ins')}();
CREATE TRIGGER ${trg('upd')} AFTER UPDATE ON ${base} REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION ${fn('upd')}();
CREATE TRIGGER ${trg('del')} AFTER DELETE ON ${base} REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION ${fn('del')}();
CREATE TRIGGER ${trg('trunc')} AFTER TRUNCATE ON ${base} FOR EACH STATEMENT EXECUTE FUNCTION ${fn('trunc')}();
-- ALWAYS: also under session_replication_role = replica (logical-replication subscribers,
-- pg_restore --disable-triggers), which would otherwise write untracked changes
ALTER TABLE ${base} ENABLE ALWAYS TRIGGER ${trg('ins')}, ENABLE ALWAYS TRIGGER ${trg('upd')},
  ENABLE ALWAYS TRIGGER ${trg('del')}, ENABLE ALWAYS TRIGGER ${trg('trunc')};
`;
}

export function disableTableSql(t: { schema: string; table: string; side: string }): string {
  const base = `${quoteIdent(t.schema)}.${quoteIdent(t.table)}`;
  const drops = ['ins', 'upd', 'del', 'trunc']
    .map((op) => `DROP TRIGGER IF EXISTS ${quoteIdent(`ctrelay_ct_${op}`)} ON ${base};
DROP FUNCTION IF EXISTS ctrelay.${quoteIdent(`${t.side}_${op}`)}();`)
    .join('\n');
  return `${drops}
DROP TABLE IF EXISTS ctrelay.${quoteIdent(t.side)};
DELETE FROM ctrelay.tables WHERE schema_name = ${quoteLiteral(t.schema)} AND table_name = ${quoteLiteral(t.table)};`;
}
