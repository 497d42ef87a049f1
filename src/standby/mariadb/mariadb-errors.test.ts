import { describe, expect, it } from 'vitest';
import { isTransientMaria } from './mariadb-errors.ts';

/** the shape mysql2 gives an error the server sent */
const serverError = (code: string, errno: number, sqlState: string, fatal = false) =>
  Object.assign(new Error(code), { code, errno, sqlState, fatal });
/** the shape of an error mysql2 raises itself */
const clientError = (message: string, props: { code?: string; errno?: number; fatal?: boolean }) => Object.assign(new Error(message), props);

describe('isTransientMaria', () => {
  it.each([
    serverError('ER_LOCK_DEADLOCK', 1213, '40001'),
    serverError('ER_LOCK_WAIT_TIMEOUT', 1205, 'HY000'),
    serverError('ER_CON_COUNT_ERROR', 1040, '08004', true),
    serverError('ER_SERVER_SHUTDOWN', 1053, '08S01'),
    serverError('ER_CONNECTION_KILLED', 1927, '70100'),
    clientError('Connection lost: The server closed the connection.', { code: 'PROTOCOL_CONNECTION_LOST', fatal: true }),
    clientError('connect ECONNREFUSED 127.0.0.1:1', { code: 'ECONNREFUSED', errno: -111, fatal: true }),
    clientError("Can't add new command when connection is in closed state", { fatal: true }),
  ])('%s is transient', (err) => {
    expect(isTransientMaria(err)).toBe(true);
  });

  it.each([
    serverError('ER_ACCESS_DENIED_ERROR', 1045, '28000'),
    serverError('ER_ACCESS_DENIED_ERROR', 1045, '28000', true), // even when mysql2 marks it fatal
    serverError('ER_DBACCESS_DENIED_ERROR', 1044, '42000'),
    serverError('ER_TABLEACCESS_DENIED_ERROR', 1142, '42000'),
    serverError('ER_DATA_TOO_LONG', 1406, '22001'),
    serverError('ER_DUP_ENTRY', 1062, '23000'),
    clientError('not a mysql error', {}),
  ])('%s is permanent', (err) => {
    expect(isTransientMaria(err)).toBe(false);
  });
});
