// Answers are cached by (model, prompt version, content hash), so re-sending an
// unchanged item or retrying a job never pays for the LLM twice. The service
// implements LlmCache over Postgres; MemoryLlmCache serves tests and one-off runs.
import { createHash } from 'node:crypto';

export interface LlmCache {
  get(key: string): Promise<unknown | undefined>;
  set(key: string, value: unknown): Promise<void>;
}

/** In-process cache, least-recently-used eviction beyond `maxEntries`. */
export class MemoryLlmCache implements LlmCache {
  private readonly map = new Map<string, unknown>();

  constructor(private readonly maxEntries = 10_000) {}

  async get(key: string): Promise<unknown | undefined> {
    if (!this.map.has(key)) return undefined;
    const v = this.map.get(key);
    this.map.delete(key);
    this.map.set(key, v);
    return structuredClone(v);
  }

  async set(key: string, value: unknown): Promise<void> {
    this.map.delete(key);
    // A copy, so that callers mutating an answer cannot change what is cached.
    this.map.set(key, structuredClone(value));
    while (this.map.size > this.maxEntries) {
      const oldest = this.map.keys().next().value as string;
      this.map.delete(oldest);
    }
  }

  get size(): number {
    return this.map.size;
  }
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * A fixed-length key (hex sha-256) safe for any store: model names carry ':'
 * and '/' (Ollama's "llama3.1:8b", "meta-llama/…"), so parts are not joined raw.
 */
export function cacheKey(model: string, promptVersion: string, contentHash: string): string {
  return sha256(JSON.stringify([model, promptVersion, contentHash]));
}
