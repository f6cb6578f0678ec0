// The lookup cache of an API process and its reads of Postgres (lookup/reads.ts): invalidated
// by the writing transactions' NOTIFY (it listens on a connection of its own), the entries in
// use read again before their deadline (lookup/ttl-refresh.ts) and, with
// LOOKUP_PRELOAD_SPACES, warmed in the background at start. Worker-only processes have none.
import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import { untilDbReady } from '../db/wait-ready.js';
import { EmbeddingCache } from '../lookup/cache.js';
import { listenInvalidations } from '../lookup/invalidation.js';
import { registerCacheGauges } from '../lookup/metrics.js';
import { preloadSpaces } from '../lookup/preload.js';
import { EmbeddingReads } from '../lookup/reads.js';
import { SpaceVersions } from '../lookup/space-versions.js';
import { TtlRefresh } from '../lookup/ttl-refresh.js';
import { closeWithin } from './close-within.js';
import type { PartOptions } from './options.js';

declare module 'fastify' {
  interface FastifyInstance {
    cache: EmbeddingCache;
    reads: EmbeddingReads;
    spaceVersions: SpaceVersions;
  }
}

async function lookupCache(app: FastifyInstance, { config, log }: PartOptions): Promise<void> {
  const cache = new EmbeddingCache({
    maxBytes: config.LOOKUP_CACHE_BYTES,
    ttlMs: config.LOOKUP_CACHE_TTL_MS,
    negativeTtlMs: config.LOOKUP_NEGATIVE_TTL_MS,
  });
  app.decorate('cache', cache);
  const reads = new EmbeddingReads(app.db, cache);
  app.decorate('reads', reads);
  // the entries in use are read again before their deadline (lookup/ttl-refresh.ts)
  const refresh = new TtlRefresh(cache, reads, config.LOOKUP_CACHE_TTL_MS);
  refresh.start();
  closeWithin(app, log, 'lookup refresh', () => refresh.stop());
  const versions = new SpaceVersions(app.db, { ttlMs: config.LOOKUP_CACHE_TTL_MS });
  app.decorate('spaceVersions', versions);
  registerCacheGauges(() => ({ bytes: cache.bytes, entries: cache.size }));
  const l = log.child({ part: 'lookup-cache' });
  const sub = await untilDbReady('lookup invalidations', () => listenInvalidations(app.db, cache, l, versions), {
    deadlineMs: config.STARTUP_WAIT_MS,
    log,
  });
  closeWithin(app, log, 'lookup invalidations', () => sub.close());
  // In the background: lookups are served meanwhile, from Postgres for what is not loaded yet.
  preloadSpaces(app.db, cache, versions, config.LOOKUP_PRELOAD_SPACES, config.LOOKUP_CACHE_BYTES, l).catch((err: Error) =>
    l.warn({ err: err.message }, 'lookup cache preload failed; lookups read from Postgres'),
  );
}

export const lookupCachePart = fp(lookupCache, { name: 'emerflow-lookup-cache', dependencies: ['emerflow-database'] });
