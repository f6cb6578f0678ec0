// When a call is sent again. Every write of the API is idempotent by design (upserts, event
// ids, identical space definitions), and so are reads; those are retried on 429, 503 and
// on network failures. Five calls are not: creating a key, training, creating or promoting
// a version, which would make a second key, run or version (training and promotion answer
// the running job while one runs, but not once it has finished). Those are retried only when
// the service certainly did nothing: a 429, the load shedder's 503 `overloaded` (it refuses
// before the route runs), or a connection that was refused (nothing was sent).
import { parseRetryAfter } from './retry-after.js';

/** idempotent: safe to send again whatever happened; once: only when it was certainly not done. */
export type RetryClass = 'idempotent' | 'once';

export interface Attempt {
  status: number;
  /** The error code of the answer's body, when it had one. */
  code?: string | undefined;
  headers?: Headers | undefined;
  /** The fetch failure when no answer came. */
  error?: unknown;
}

/** The codes of the errors under a fetch failure (undici wraps them: TypeError → cause → maybe AggregateError). */
function causeCodes(err: unknown): string[] {
  const out: string[] = [];
  const walk = (e: unknown, depth: number) => {
    if (!e || typeof e !== 'object' || depth > 4) return;
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') out.push(code);
    walk((e as { cause?: unknown }).cause, depth + 1);
    for (const x of (e as { errors?: unknown[] }).errors ?? []) walk(x, depth + 1);
  };
  walk(err, 0);
  return out;
}

/** Whether the attempt may be sent again. */
export function retryable(cls: RetryClass, a: Attempt): boolean {
  if (a.error !== undefined) {
    if (cls === 'idempotent') return true;
    const codes = causeCodes(a.error);
    return codes.length > 0 && codes.every((c) => c === 'ECONNREFUSED');
  }
  if (a.status === 429) return true;
  if (a.status === 503) return cls === 'idempotent' || a.code === 'overloaded';
  return false;
}

/**
 * How long to wait before attempt `n + 1` (n ≥ 1 attempts made): the answer's Retry-After when it
 * has one, else backoff from 200 ms doubling to 5 s, with jitter so that many callers spread out.
 */
export function retryDelayMs(n: number, headers: Headers | undefined, now = Date.now()): number {
  const told = parseRetryAfter(headers, now);
  if (told !== undefined) return told;
  const base = Math.min(200 * 2 ** (n - 1), 5000);
  return base * (0.5 + Math.random() / 2);
}
