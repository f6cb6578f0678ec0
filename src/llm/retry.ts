// The one retry layer for transient LLM failures. The SDK runs with
// maxRetries: 0 and the job layer does not retry at once (it records the failure
// in Postgres for the sweeper), so attempts are never multiplied across layers.
import { LlmError, type LlmFailureKind } from './errors.js';

export interface RetryPolicy {
  maxRetries: number;
  baseMs: number;
  maxDelayMs: number;
  /** Injectable for tests. */
  random?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Full jitter (AWS architecture blog): uniform in [0, min(cap, base·2^attempt)]. */
export function backoffDelay(attempt: number, baseMs: number, maxDelayMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(maxDelayMs, baseMs * 2 ** attempt);
  return Math.floor(random() * ceiling);
}

const FINAL = new WeakSet<LlmError>();

/**
 * Marks an error as not to be retried within this call even though its kind is
 * transient, e.g. the local rate limiter refusing a long wait: sleeping here
 * would be the unbounded wait it exists to prevent.
 */
export function final(err: LlmError): LlmError {
  FINAL.add(err);
  return err;
}

/** Kinds worth another attempt within the same call. */
const RETRY_NOW: ReadonlySet<LlmFailureKind> = new Set(['rate_limit', 'server', 'timeout', 'connection']);

/**
 * Runs `attempt` until it succeeds, a non-transient error occurs, or retries run out.
 * A Retry-After is honoured as the delay (plus ≤10% jitter so that a crowd of
 * callers told the same moment does not arrive together); one longer than
 * maxDelayMs ends the call at once: a worker should not sleep for minutes.
 */
export async function withRetry<T>(
  attempt: (n: number) => Promise<T>,
  policy: RetryPolicy,
  onRetry?: (err: LlmError, delayMs: number, n: number) => void,
): Promise<T> {
  const random = policy.random ?? Math.random;
  const wait = policy.sleep ?? sleep;
  for (let n = 0; ; n++) {
    try {
      return await attempt(n);
    } catch (err) {
      if (!(err instanceof LlmError) || !RETRY_NOW.has(err.kind) || FINAL.has(err) || n >= policy.maxRetries) throw err;
      let delay: number;
      if (err.retryAfterMs !== undefined) {
        if (err.retryAfterMs > policy.maxDelayMs) throw err;
        delay = err.retryAfterMs + Math.floor(random() * err.retryAfterMs * 0.1);
      } else {
        delay = backoffDelay(n, policy.baseMs, policy.maxDelayMs, random);
      }
      onRetry?.(err, delay, n + 1);
      await wait(delay);
    }
  }
}
