// Cache invalidation across API processes, delivered with the writing transaction: a
// trigger (migration 006) NOTIFYs the ids of every item whose served embedding changed
// (a new version, or the item deleted), and Postgres delivers a NOTIFY exactly when that
// transaction commits, to every session that LISTENs. Each API process listens on one
// connection of its own. A notification cannot be lost silently: while the connection
// is down the process cannot know what it missed, so the cache is off (serves and
// stores nothing) until it listens again, and starts empty. The TTL is the net beneath.
import { keepListening, type Listener } from '../db/listen.js';
import type { Db } from '../db/pool.js';
import type { EmbeddingCache } from './cache.js';
import type { SpaceVersions } from './space-versions.js';

export const EMBEDDINGS_CHANNEL = 'emerflow_embeddings';

interface Log {
  info(obj: object | string, msg?: string): void;
  warn(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
}

/**
 * `{"space":s,"ids":[…]}`, or `{"space":s,"all":true}` when the ids did not fit one payload;
 * `{"space":s,"versions":true}` when the space's versions changed (migration 007).
 */
export function applyNotification(cache: EmbeddingCache, payload: string, versions?: SpaceVersions): void {
  try {
    const msg = JSON.parse(payload) as { space: string; ids?: string[]; all?: boolean; versions?: boolean };
    if (msg.versions) versions?.invalidate(msg.space);
    else if (msg.all || !Array.isArray(msg.ids)) cache.invalidateSpace(msg.space);
    else cache.invalidate(msg.space, msg.ids);
  } catch {
    cache.clear(); // unreadable: assume everything changed
    versions?.setEnabled(true);
  }
}

export function listenInvalidations(
  db: Db,
  cache: EmbeddingCache,
  log: Log,
  versions?: SpaceVersions,
  relistenMs = 500,
): Promise<Listener> {
  return keepListening(db, EMBEDDINGS_CHANNEL, {
    onNotification: (payload) => {
      if (payload !== undefined) applyNotification(cache, payload, versions);
    },
    onUp: () => {
      cache.setEnabled(true); // empty: whatever was missed while deaf is not in it
      versions?.setEnabled(true);
    },
    onDown: () => {
      cache.setEnabled(false);
      versions?.setEnabled(false);
    },
    log,
    what: 'lookup cache',
    whileDown: 'it is off (lookups read from Postgres) until it listens again',
    relistenMs,
  });
}
