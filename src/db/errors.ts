// Which database failures can pass by themselves. The API answers them 503 with
// Retry-After and start-up waits them out; any other failure is the request's own
// (400/409) or a bug (500), and retrying it would only repeat it.

/** SQLSTATE classes that describe the server, not the statement: connection (08), transaction
 *  rollback (40: deadlock, serialisation), resources (53), operator intervention (57: shutdown,
 *  "cannot connect now", cancelled by timeout) and system errors (58). */
const TRANSIENT_CLASSES = /^(08|40|53|57|58)/;
/** Socket failures, before Postgres could say anything. */
const TRANSIENT_SOCKET = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);

/** The SQLSTATE of a Postgres error, or undefined for anything else. */
export function sqlState(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

export function isTransientDbError(err: unknown): boolean {
  const state = sqlState(err);
  if (state) return TRANSIENT_CLASSES.test(state);
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && TRANSIENT_SOCKET.has(code)) return true;
  // node-postgres reports a dropped or timed-out connection without a code.
  return /Connection terminated|timeout exceeded when trying to connect/i.test((err as Error | null)?.message ?? '');
}
