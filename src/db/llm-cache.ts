// The LLM answer cache, in Postgres so that a restart or another worker never pays twice.
import type { Queryable } from './pool.js';

export function pgLlmCache(db: Queryable) {
  return {
    async get(key: string): Promise<unknown | undefined> {
      const r = await db.query<{ value: unknown }>('SELECT value FROM llm_cache WHERE key = $1', [key]);
      return r.rows[0]?.value;
    },
    async set(key: string, value: unknown): Promise<void> {
      await db.query('INSERT INTO llm_cache (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING', [key, JSON.stringify(value)]);
    },
  };
}
