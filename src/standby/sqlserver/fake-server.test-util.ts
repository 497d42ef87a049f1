// A FAKE SQL Server for the standby's unit tests (no SQL Server runs here): a dialect whose
// statements a function answers, and the mssql Transaction a SqlServerTransaction runs on.
import { EventEmitter } from 'node:events';
import type sql from 'mssql';
import type { Statement } from '../../drivers/sqlserver/params.ts';
import { SqlServerDialect } from './sqlserver-dialect.ts';
import { SqlServerTransaction } from './sqlserver-transaction.ts';

/** The mssql Transaction: records how it ended and whether its connection was closed. */
export class FakeTx extends EventEmitter {
  ended: string[] = [];
  closed = 0;
  _acquiredConnection = { close: () => void this.closed++ };
  async commit() {
    this.ended.push('COMMIT');
  }
  async rollback() {
    this.ended.push('ROLLBACK');
  }
}

export const fakeDialect = () => new SqlServerDialect({ url: 'mssql://sa:pw@127.0.0.1:1433/db?encrypt=false' });

/** A transaction whose statements `answer` answers (throwing fails the statement); `sent` records them all. */
export function fakeTransaction(answer: (st: Statement) => Record<string, unknown>[]) {
  const dialect = fakeDialect();
  const sent: Statement[] = [];
  dialect.execute = async (_runner, st) => {
    sent.push(st);
    return answer(st);
  };
  const fake = new FakeTx();
  const tx = new SqlServerTransaction(dialect, fake as unknown as sql.Transaction, 'ctrelay');
  return { tx, fake, sent };
}
