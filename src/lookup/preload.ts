// A warm start: after a deploy an API process would otherwise send every ranking request
// to Postgres until its cache filled. It reads the spaces named in LOOKUP_PRELOAD_SPACES
// ('*': all) in pages of served embeddings, in id order (keyset pagination: each page is one
// index range), until the cache holds 90 % of its byte budget. It runs in the background:
// lookups are served meanwhile, from Postgres for what is not loaded yet. Fills go through
// the same guards as any read, so an item written while it loads is not stored stale.
import type { Db } from '../db/pool.js';
import { fromBytes } from '../db/vectors.js';
import type { EmbeddingCache } from './cache.js';

const PAGE = 2000;

interface Log {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export async function preloadSpaces(db: Db, cache: EmbeddingCache, which: string, maxBytes: number, log: Log): Promise<void> {
  if (!which.trim() || maxBytes === 0) return;
  const started = Date.now();
  const spaces =
    which.trim() === '*'
      ? (await db.query<{ id: string }>('SELECT id FROM spaces ORDER BY id')).rows.map((r) => r.id)
      : which
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean);
  let loaded = 0;
  for (const space of spaces) {
    let after = '';
    for (;;) {
      if (cache.bytes >= 0.9 * maxBytes) {
        log.info({ loaded, ms: Date.now() - started, bytes: cache.bytes }, 'lookup cache preload stopped at its byte budget');
        return;
      }
      const token = cache.beginRead();
      let rows;
      try {
        rows = (
          await db.query<{
            id: string;
            vector: Buffer;
            version: number;
            kind: string;
            interactions: number;
            modelVersion: number | null;
            updatedAt: Date;
          }>(
            `SELECT i.id, e.vector, e.version, e.kind, e.interactions, m.version AS "modelVersion", e.created_at AS "updatedAt"
             FROM items i
             JOIN embeddings e ON e.space_id = i.space_id AND e.item_id = i.id AND e.version = i.embedding_version
             LEFT JOIN models m ON m.id = e.model_id
             WHERE i.space_id = $1 AND i.id > $2 ORDER BY i.id LIMIT $3`,
            [space, after, PAGE],
          )
        ).rows;
      } catch (err) {
        cache.cancelRead(token);
        log.warn({ err: (err as Error).message, space }, 'lookup cache preload stopped; lookups read what is missing from Postgres');
        return;
      }
      cache.fill(
        space,
        token,
        rows.map((r) => ({ ...r, vector: fromBytes(r.vector) })),
      );
      loaded += rows.length;
      if (rows.length < PAGE) break;
      after = rows[rows.length - 1]!.id;
    }
  }
  log.info({ spaces: spaces.length, loaded, ms: Date.now() - started, bytes: cache.bytes }, 'lookup cache preloaded');
}
