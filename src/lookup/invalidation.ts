// Cache invalidation across API processes, delivered with the writing transaction: a
// trigger (migration 006) NOTIFYs the ids of every item whose served embedding changed
// (a new version, or the item deleted), and Postgres delivers a NOTIFY exactly when that
// transaction commits, to every session that LISTENs. Each API process listens on one
// connection of its own. A notification cannot be lost silently: while the connection
// is down the process cannot know what it missed, so the cache is off (serves and
// stores nothing) until it listens again, and starts empty. The TTL is the net beneath.
import type { Db, Tx } from '../db/pool.js';
import type { EmbeddingCache } from './cache.js';

export const EMBEDDINGS_CHANNEL = 'emerflow_embeddings';

interface Log {
  info(obj: object | string, msg?: string): void;
  warn(obj: object, msg: string): void;
}

export interface InvalidationListener {
  readonly listening: boolean;
  close(): Promise<void>;
}

/** `{"space":s,"ids":[…]}`, or `{"space":s,"all":true}` when the ids did not fit one payload. */
export function applyNotification(cache: EmbeddingCache, payload: string): void {
  try {
    const msg = JSON.parse(payload) as { space: string; ids?: string[]; all?: boolean };
    if (msg.all || !Array.isArray(msg.ids)) cache.invalidateSpace(msg.space);
    else cache.invalidate(msg.space, msg.ids);
  } catch {
    cache.clear(); // unreadable: assume everything changed
  }
}

export async function listenInvalidations(db: Db, cache: EmbeddingCache, log: Log, relistenMs = 500): Promise<InvalidationListener> {
  let client: Tx | null = null;
  let closing: Tx | null = null;
  let stopped = false;
  let timer: NodeJS.Timeout | null = null;
  let delay = relistenMs;

  const connect = async (): Promise<void> => {
    const c = await db.connect();
    let lost = false;
    const onLost = (err?: Error) => {
      if (lost) return;
      lost = true;
      cache.setEnabled(false);
      if (client === c) client = null;
      if (c === closing) return; // close() released it
      c.release(err ?? true); // destroy it: never hand a dead connection back to the pool
      if (stopped) return;
      log.warn({ err: err?.message }, 'lookup cache off: lost the invalidation LISTEN connection; reading from Postgres until it is back');
      schedule();
    };
    c.on('error', onLost);
    c.on('end', () => onLost());
    c.on('notification', (n) => {
      if (n.channel === EMBEDDINGS_CHANNEL && n.payload !== undefined) applyNotification(cache, n.payload);
    });
    try {
      await c.query(`LISTEN ${EMBEDDINGS_CHANNEL}`);
    } catch (err) {
      onLost(err as Error);
      throw err;
    }
    if (lost) return;
    client = c;
    delay = relistenMs;
    cache.setEnabled(true); // empty: whatever was missed while deaf is not in it
  };

  const schedule = () => {
    if (stopped || timer) return;
    timer = setTimeout(() => {
      timer = null;
      if (stopped || client) return;
      connect().then(
        () => log.info('lookup cache on again: listening for invalidations'),
        () => schedule(),
      );
    }, delay);
    delay = Math.min(delay * 2, 30_000);
  };

  await connect();
  return {
    get listening() {
      return client !== null;
    },
    async close() {
      stopped = true;
      if (timer) clearTimeout(timer);
      closing = client;
      client = null;
      closing?.release(true);
    },
  };
}
