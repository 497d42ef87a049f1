// Classifying mysql2 errors: which mean the server is unreachable, which mean the table is absent.

function errorCode(err: unknown): string {
  const code = (err as { code?: unknown })?.code;
  return typeof code === 'string' ? code : '';
}

export function isMissingTable(err: unknown): boolean {
  return errorCode(err) === 'ER_NO_SUCH_TABLE' || errorCode(err) === 'ER_BAD_DB_ERROR';
}

export function isConnectionError(err: unknown): boolean {
  const code = errorCode(err);
  return (
    /^(PROTOCOL_|ECONN|EPIPE|ETIMEDOUT|EHOSTUNREACH|ENOTFOUND)/.test(code) ||
    code === 'ER_ACCESS_DENIED_ERROR' ||
    (err as { fatal?: unknown })?.fatal === true
  );
}
