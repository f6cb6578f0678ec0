// What routes reach through `app.deps`: built by server.ts (or a test) and handed to app.ts.
import type { Redis } from 'ioredis';
import type { Config } from '../config.js';
import type { Db } from '../db/pool.js';
import type { EmbeddingCache } from '../lookup/cache.js';
import type { EmbeddingReads } from '../lookup/reads.js';
import type { SpaceVersions } from '../lookup/space-versions.js';
import type { KeyStore } from '../auth/keys.js';
import type { BackendInfo } from '../model/index.js';
import { getSpace, type SpaceRow } from '../db/spaces.js';
import { notFound } from './errors.js';

export interface AppDeps {
  config: Config;
  db: Db;
  redis: Redis;
  cache: EmbeddingCache;
  /** The cache's reads of Postgres: shared by lookups missing the same ids, and ahead of them after writes. */
  reads: EmbeddingReads;
  versions: SpaceVersions;
  keys: KeyStore;
  backend(): BackendInfo | null;
  llmBreaker(): string | null;
  /** Tells every API process (and this one) that these items' embeddings changed. */
  publish(space: string, ids: string[]): Promise<void>;
}

declare module 'fastify' {
  interface FastifyInstance {
    deps: AppDeps;
  }
}

// A space's id, dim and scorer never change after creation, so they are safe to keep —
// per app (per database): two services in one process must not share them. Its other
// fields (active model, aux features) must be read fresh where they matter.
const spaceMemos = new WeakMap<AppDeps, Map<string, SpaceRow>>();

/** The space if this process has it in memory already (the hot path's synchronous way). */
export function knownSpace(deps: AppDeps, id: string): SpaceRow | undefined {
  return spaceMemos.get(deps)?.get(id);
}

export async function requireSpace(deps: AppDeps, id: string): Promise<SpaceRow> {
  let memo = spaceMemos.get(deps);
  if (!memo) spaceMemos.set(deps, (memo = new Map()));
  const hit = memo.get(id);
  if (hit) return hit;
  const s = await getSpace(deps.db, id);
  // a later version's own row is reached through its space (?version=), never by its id
  if (!s || s.rootId !== null) throw notFound(`space "${id}"`);
  memo.set(id, s);
  return s;
}
