// A small JSON client for a service running in another process, with the retry
// behaviour of a real client: a request that did not get the answer it needs because the
// service was unreachable or failed (connection refused or reset, timeout, 5xx) is sent
// again, the same body, with backoff and jitter, for a bounded time. Any other answer
// (a 4xx) is a bug in the caller and is thrown at once.

export interface HttpResult {
  status: number;
  body: any;
}

export class HttpClient {
  /** Requests sent again after a failure, over the client's life. */
  resends = 0;
  private closed = false;

  constructor(
    readonly base: string,
    /** sent as `Authorization: Bearer <key>` */
    readonly apiKey: string,
    readonly timeoutMs = 10_000,
  ) {}

  /** Ends retrying: a request being resent stops with an error (teardown). */
  close(): void {
    this.closed = true;
  }

  /** One request; a network error or timeout throws. */
  async request(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown): Promise<HttpResult> {
    const res = await fetch(this.base + path, {
      method,
      headers: { authorization: `Bearer ${this.apiKey}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? null : JSON.stringify(body),
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      /* not JSON: keep the text */
    }
    return { status: res.status, body: parsed };
  }

  get(path: string): Promise<HttpResult> {
    return this.request('GET', path);
  }
  post(path: string, body: unknown): Promise<HttpResult> {
    return this.request('POST', path, body);
  }

  /**
   * Sends until the answer has status `want`: network errors, timeouts and 5xx are
   * retried (backoff from 100 ms doubling to 1 s, with jitter) for at most `maxMs`;
   * any other status throws. Returns the answer and how many attempts it took.
   */
  async until(
    method: 'GET' | 'POST',
    path: string,
    body: unknown,
    want: number,
    opts: { maxMs?: number } = {},
  ): Promise<{ res: HttpResult; attempts: number }> {
    const maxMs = opts.maxMs ?? 60_000;
    const start = Date.now();
    let delay = 100;
    let last = '';
    for (let attempt = 1; ; attempt++) {
      try {
        const res = await this.request(method, path, body);
        if (res.status === want) return { res, attempts: attempt };
        last = `${res.status} ${JSON.stringify(res.body).slice(0, 300)}`;
        if (res.status < 500) throw new FatalAnswer(`${method} ${path} answered ${last}, expected ${want}`);
      } catch (err) {
        if (err instanceof FatalAnswer) throw err;
        if (!last.startsWith('5')) last = describe(err);
      }
      if (this.closed) throw new Error(`${method} ${path}: client closed while resending (${attempt} attempts; last: ${last})`);
      if (Date.now() - start + delay > maxMs)
        throw new Error(`${method} ${path}: no ${want} after ${attempt} attempts in ${Date.now() - start} ms; last: ${last}`);
      this.resends++;
      await new Promise((r) => setTimeout(r, delay * (0.5 + Math.random())));
      delay = Math.min(delay * 2, 1000);
      last = '';
    }
  }
}

class FatalAnswer extends Error {}

function describe(err: unknown): string {
  const e = err as Error & { cause?: { code?: string; message?: string } };
  return e.cause?.code ?? e.cause?.message ?? e.name ?? String(err);
}

/** Runs `fn` over `items` with at most `limit` calls in flight. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!);
      }
    }),
  );
  return out;
}
