// The standby-dialect conformance suite (test/conformance/standby-dialect.conformance.ts) against
// the local PostgreSQL and MariaDB, plus what only MariaDB limits.
import { describe, expect, it } from 'vitest';
import type { TableMeta } from '../../src/core/model.ts';
import { createDialect } from '../../src/standby/create-dialect.ts';
import { standbyDialectConformance } from '../conformance/standby-dialect.conformance.ts';
import { MYSQL_ADMIN_URL } from '../support/db.ts';
import { mariaDbStandbyHarness } from '../support/standby-harness-mariadb.ts';
import { postgresStandbyHarness } from '../support/standby-harness-postgres.ts';

standbyDialectConformance({ kind: 'postgres', harness: postgresStandbyHarness });
standbyDialectConformance({ kind: 'mariadb', harness: mariaDbStandbyHarness });

describe('mariadb limits', () => {
  it('refuses a decimal wider than DECIMAL(65) naming table and column', async () => {
    const d = createDialect('mariadb', MYSQL_ADMIN_URL);
    await d.connect();
    try {
      const t: TableMeta = {
        schema: 'ctr_never_created',
        table: 'wide',
        key: ['id'],
        columns: [
          { name: 'id', type: { kind: 'int32' }, nullable: false, sourceType: 'int' },
          { name: 'big', type: { kind: 'decimal', precision: 76, scale: 0 }, nullable: true, sourceType: 'numeric(76,0)' },
        ],
      };
      await expect(d.ensureTable(t)).rejects.toThrow(/ctr_never_created\.wide column big .*DECIMAL/);
    } finally {
      await d.close();
    }
  });
});
