// A warm start: after a deploy an API process would otherwise send every ranking request
// to Postgres until its cache filled. It reads the spaces named in LOOKUP_PRELOAD_SPACES
// ('*': all) in pages of served embeddings, in id order (keyset pagination: each page is one
// index range), until the cache holds 90 % of its byte budget. It runs in the background:
// lookups are served meanwhile, from Postgres for what is not loaded yet. Fills go through
// the same guards as any read, so an item written while it loads is not stored stale.
import type { Db } from '../db/pool.js';
import { servedEmbeddingsPage } from '../db/embeddings.js';
import { spaceIds } from '../db/spaces.js';
import type { EmbeddingCache } from './cache.js';
import type { SpaceVersions } from './space-versions.js';

const PAGE = 2000;

interface Log {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export async function preloadSpaces(
  db: Db,
  cache: EmbeddingCache,
  versions: SpaceVersions,
  which: string,
  maxBytes: number,
  log: Log,
): Promise<void> {
  if (!which.trim() || maxBytes === 0) return;
  const started = Date.now();
  const spaces =
    which.trim() === '*'
      ? await spaceIds(db)
      : which
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean);
  let loaded = 0;
  for (const name of spaces) {
    // what lookups of the space serve: its current version's physical space
    const space = (await versions.versions(name)).find((v) => v.state === 'current')?.physicalId;
    if (!space) continue;
    let after = '';
    for (;;) {
      if (cache.bytes >= 0.9 * maxBytes) {
        log.info({ loaded, ms: Date.now() - started, bytes: cache.bytes }, 'lookup cache preload stopped at its byte budget');
        return;
      }
      const token = cache.beginRead();
      let rows;
      try {
        rows = await servedEmbeddingsPage(db, space, after, PAGE);
      } catch (err) {
        cache.cancelRead(token);
        log.warn({ err: (err as Error).message, space }, 'lookup cache preload stopped; lookups read what is missing from Postgres');
        return;
      }
      cache.fill(space, token, rows);
      loaded += rows.length;
      if (rows.length < PAGE) break;
      after = rows[rows.length - 1]!.id;
    }
  }
  log.info({ spaces: spaces.length, loaded, ms: Date.now() - started, bytes: cache.bytes }, 'lookup cache preloaded');
}
