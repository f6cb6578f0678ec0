// Cache invalidation across processes: writers publish the ids whose embedding changed,
// every API process subscribes and drops them. If the subscription drops, the process
// cannot know what it missed, so it clears its whole cache on reconnect.
import { Redis } from 'ioredis';
import type { EmbeddingCache } from './cache.js';

interface Log {
  debug(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export function channelName(prefix: string): string {
  return `${prefix}:embeddings-changed`;
}

export interface Publisher {
  publish(space: string, ids: string[]): Promise<void>;
  close(): Promise<void>;
}

export function createPublisher(redisUrl: string, prefix: string, log: Log): Publisher {
  const redis = new Redis(redisUrl, { enableOfflineQueue: false, maxRetriesPerRequest: 1 });
  redis.on('error', (err) => log.debug({ err: err.message }, 'invalidation publisher: Redis connection error'));
  const channel = channelName(prefix);
  return {
    async publish(space, ids) {
      if (ids.length === 0) return;
      // Best effort: a missed message only leaves a cache entry until the subscriber reconnects and clears.
      await redis
        .publish(channel, JSON.stringify({ space, ids }))
        .catch((err: Error) =>
          log.warn(
            { err: err.message, space, n: ids.length },
            'invalidation not published; subscribers clear their caches when they reconnect',
          ),
        );
    },
    async close() {
      redis.disconnect();
    },
  };
}

export async function subscribeInvalidations(
  redisUrl: string,
  prefix: string,
  cache: EmbeddingCache,
  log: Log,
): Promise<{ close(): Promise<void> }> {
  const sub = new Redis(redisUrl, { maxRetriesPerRequest: null });
  // While the subscription is down the cache is off ('close' below), so the error only needs noting.
  sub.on('error', (err) => log.debug({ err: err.message }, 'invalidation subscriber: Redis connection error'));
  const channel = channelName(prefix);
  sub.on('message', (_ch: string, msg: string) => {
    try {
      const { space, ids } = JSON.parse(msg) as { space: string; ids: string[] };
      cache.invalidate(space, ids);
    } catch {
      cache.clear();
    }
  });
  sub.on('ready', () => cache.setEnabled(true));
  sub.on('close', () => cache.setEnabled(false));
  await sub.subscribe(channel);
  return {
    async close() {
      sub.disconnect();
    },
  };
}
