// The benches' HTTP client: Node's global fetch (undici, keep-alive), a timeout on every
// request, and a ledger of answers. 429 and 503 are "throttled" (counted, not errors);
// any other non-2xx answer and any network failure is an error: counted by route and
// status, the first few kept verbatim for the report.
import { parseProm, type Prom } from './prom.js';
import { authHeader } from './key.js';

export interface Answer<T> {
  status: number;
  body: T | null;
  text: string;
}

export class Api {
  readonly errors = new Map<string, number>();
  readonly throttled = new Map<string, number>();
  /** Distinct error messages (the first 10) and how often each came. */
  private readonly samples = new Map<string, number>();

  constructor(readonly base: string) {}

  errorCount(): number {
    let n = 0;
    for (const v of this.errors.values()) n += v;
    return n;
  }
  throttledCount(): number {
    let n = 0;
    for (const v of this.throttled.values()) n += v;
    return n;
  }

  private note(map: Map<string, number>, key: string): void {
    map.set(key, (map.get(key) ?? 0) + 1);
  }

  private recordError(route: string, status: string, detail: string): void {
    this.note(this.errors, `${route} ${status}`);
    const msg = `${route} → ${status}: ${detail.slice(0, 300)}`;
    if (this.samples.has(msg) || this.samples.size < 10) this.samples.set(msg, (this.samples.get(msg) ?? 0) + 1);
  }

  /** One request; never throws. Status 0 means the request failed (network, timeout). */
  async send<T = unknown>(
    method: string,
    path: string,
    body: unknown,
    opts: { route?: string; timeoutMs?: number; accept?: string } = {},
  ): Promise<Answer<T>> {
    const route = opts.route ?? `${method} ${path}`;
    const headers: Record<string, string> = authHeader();
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (opts.accept) headers['accept'] = opts.accept;
    try {
      const res = await fetch(this.base + path, {
        method,
        headers,
        body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
        signal: AbortSignal.timeout(opts.timeoutMs ?? 30_000),
      });
      const text = await res.text();
      if (res.status >= 200 && res.status < 300) {
        let parsed: T | null = null;
        if (text && (res.headers.get('content-type') ?? '').includes('json')) {
          try {
            parsed = JSON.parse(text) as T;
          } catch {
            this.recordError(route, 'bad-json', text);
            return { status: 0, body: null, text };
          }
        }
        return { status: res.status, body: parsed, text };
      }
      if (res.status === 429 || res.status === 503) this.note(this.throttled, `${route} ${res.status}`);
      else this.recordError(route, String(res.status), text);
      return { status: res.status, body: null, text };
    } catch (err) {
      const e = err as Error;
      this.recordError(
        route,
        e.name === 'TimeoutError' ? 'timeout' : 'network',
        `${e.name}: ${e.message}${(e as { cause?: Error }).cause ? ` (${(e as { cause?: Error }).cause!.message})` : ''}`,
      );
      return { status: 0, body: null, text: '' };
    }
  }

  /**
   * A setup request that must succeed: 429/503 and network failures are retried with
   * backoff (bounded), anything else non-2xx throws with the answer.
   */
  async must<T = unknown>(
    method: string,
    path: string,
    body?: unknown,
    opts: { route?: string; timeoutMs?: number; tries?: number } = {},
  ): Promise<T> {
    const tries = opts.tries ?? 8;
    let last = '';
    for (let i = 0; i < tries; i++) {
      const a = await this.send<T>(method, path, body, opts);
      if (a.status >= 200 && a.status < 300) return a.body as T;
      last = `${a.status || 'no answer'} ${a.text.slice(0, 500)}`;
      if (a.status !== 0 && a.status !== 429 && a.status !== 503) break;
      await new Promise((r) => setTimeout(r, Math.min(10_000, 500 * 2 ** i)));
    }
    throw new Error(`${method} ${path} failed: ${last}`);
  }

  /** GET /metrics parsed; null when it cannot be read (counted as an error). */
  async metrics(): Promise<Prom | null> {
    const a = await this.send('GET', '/metrics', undefined, { route: 'GET /metrics', timeoutMs: 15_000 });
    return a.status === 200 ? parseProm(a.text) : null;
  }

  errorReport(): string {
    if (this.errorCount() === 0 && this.throttledCount() === 0) return 'errors: 0, throttled (429/503): 0';
    const lines = [`errors: ${this.errorCount()}, throttled (429/503): ${this.throttledCount()}`];
    for (const [k, v] of this.errors) lines.push(`  error   ${k}: ${v}`);
    for (const [k, v] of this.throttled) lines.push(`  throttl ${k}: ${v}`);
    for (const [m, n] of this.samples) lines.push(`  sample  ${m}${n > 1 ? ` (×${n})` : ''}`);
    return lines.join('\n');
  }
}

/** Only loopback: the benches never send traffic elsewhere. */
export function assertLoopback(u: string, what: string): void {
  const host = new URL(u).hostname.replace(/^\[|\]$/g, '');
  if (!['127.0.0.1', 'localhost', '::1'].includes(host))
    throw new Error(`${what} must point at 127.0.0.1 (the benches only send traffic to this machine), got ${u}`);
}
