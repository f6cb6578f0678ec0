// The replay's HTTP client: JSON over fetch with the API key, every write split to the route's
// batch limit, and 429 / 503 / a dropped connection retried after Retry-After (or a backoff).
// Every call the replay makes is idempotent (event ids, item content hashes, user upserts), so
// a retry can never double anything.
import { LIMITS } from '../api/schemas.js';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export class ReplayApi {
  constructor(
    readonly base: string,
    private readonly key: string,
  ) {}

  async call<T>(method: string, path: string, body?: unknown, tries = 8): Promise<T> {
    let last = '';
    for (let i = 0; i < tries; i++) {
      let wait = Math.min(10_000, 250 * 2 ** i);
      try {
        const res = await fetch(this.base + path, {
          method,
          headers: { authorization: `Bearer ${this.key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: AbortSignal.timeout(120_000),
        });
        const text = await res.text();
        if (res.ok) return (text ? JSON.parse(text) : null) as T;
        last = `${res.status} ${text.slice(0, 500)}`;
        if (res.status !== 429 && res.status !== 503) throw new ApiError(res.status, `${method} ${path}: ${last}`);
        const after = Number(res.headers.get('retry-after'));
        if (Number.isFinite(after) && after > 0) wait = after * 1000;
      } catch (err) {
        if (err instanceof ApiError) throw err;
        last = (err as Error).message;
      }
      await new Promise((r) => setTimeout(r, wait));
    }
    throw new ApiError(0, `${method} ${path} failed after ${tries} tries: ${last}`);
  }

  /** POSTs `rows` under `field` in batches of the route's limit, in order; returns the answers. */
  async postBatched<T>(path: string, field: keyof typeof LIMITS, rows: unknown[], max: number = LIMITS[field]): Promise<T[]> {
    const out: T[] = [];
    for (let i = 0; i < rows.length; i += max) out.push(await this.call<T>('POST', path, { [field]: rows.slice(i, i + max) }));
    return out;
  }
}
