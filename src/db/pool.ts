// The pg pool and the one helper for transactions: the caller owns BEGIN/COMMIT,
// ROLLBACK on error and release() in finally, as CONVENTIONS.md asks.
import pg from 'pg';

export type Db = pg.Pool;
export type Tx = pg.PoolClient;
/** Anything that can run a query: the pool or a client inside a transaction. */
export type Queryable = Pick<pg.Pool, 'query'>;

export interface PoolLog {
  debug(obj: object, msg: string): void;
}

export interface PoolOptions {
  max?: number;
  /** How long to wait for a connection (pool slot or new socket) before failing the query. */
  connectTimeoutMs?: number;
  /** Server-side cap of one statement (0: none). */
  statementTimeoutMs?: number;
  /** Server-side cap of a transaction left open and idle, e.g. by a stalled process (0: none). */
  idleInTransactionTimeoutMs?: number;
  log?: PoolLog;
}

export function createPool(url: string, opts: PoolOptions = {}): Db {
  const pool = new pg.Pool({
    connectionString: url,
    max: opts.max ?? 20,
    application_name: 'emerflow',
    connectionTimeoutMillis: opts.connectTimeoutMs ?? 0,
    ...(opts.statementTimeoutMs ? { statement_timeout: opts.statementTimeoutMs } : {}),
    ...(opts.idleInTransactionTimeoutMs ? { idle_in_transaction_session_timeout: opts.idleInTransactionTimeoutMs } : {}),
  });
  const log = opts.log;
  // A client erroring (Postgres restarted) must not crash the process: idle ones report
  // on the pool, checked-out ones on themselves, and the query in flight rejects anyway,
  // so the caller sees the failure; these listeners only note it.
  const noted = (err: Error) => log?.debug({ err: err.message }, 'Postgres connection error (the query in flight fails with it)');
  pool.on('error', noted);
  pool.on('connect', (client) => client.on('error', noted));
  return pool;
}

// Deadlock and serialisation failures are decided by Postgres between two healthy
// transactions; running the loser again is the documented remedy.
const RETRYABLE = new Set(['40P01', '40001']);

/** Runs `fn` in a transaction; `fn` may run again (up to 3 times) after a deadlock. */
export async function withTx<T>(db: Db, fn: (tx: Tx) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await once(db, fn);
    } catch (err) {
      if (attempt >= 3 || !RETRYABLE.has((err as { code?: string }).code ?? '')) throw err;
    }
  }
}

async function once<T>(db: Db, fn: (tx: Tx) => Promise<T>): Promise<T> {
  const client = await db.connect();
  let broken: Error | undefined;
  try {
    await client.query('BEGIN');
    const out = await fn(client);
    await client.query('COMMIT');
    return out;
  } catch (err) {
    // A connection that cannot even roll back is broken: destroy it instead of reusing it.
    broken = await client.query('ROLLBACK').then(
      () => undefined,
      (e: Error) => e,
    );
    throw err;
  } finally {
    client.release(broken);
  }
}
