// Classifying PostgreSQL errors by SQLSTATE (and node socket codes for a lost connection).

export function sqlState(err: unknown): string {
  return typeof (err as { code?: unknown })?.code === 'string' ? (err as { code: string }).code : '';
}

export function isMissingRelation(err: unknown): boolean {
  return sqlState(err) === '42P01' || sqlState(err) === '3F000';
}

export function isConcurrentCreate(err: unknown): boolean {
  // two appliers creating the same object: unique violation on the catalog, or "already exists"
  return ['23505', '42P07', '42P06', '42701'].includes(sqlState(err));
}

export function ignoreConcurrentCreate(err: unknown): void {
  if (!isConcurrentCreate(err)) throw err;
}

export function isDataError(err: unknown): boolean {
  // class 22 (data exception) and 23 (integrity constraint violation): a value the table refuses
  return /^2[23]/.test(sqlState(err));
}

export function isConnectionError(err: unknown): boolean {
  const code = sqlState(err);
  return /^(08|57P)/.test(code) || /^E(CONN|PIPE|TIMEDOUT|HOSTUNREACH)/.test(code) || code === 'ENOTFOUND';
}
