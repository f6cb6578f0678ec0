// One guarded HTTP request: breaker → local limits → the SDK under a deadline →
// classification and metrics, all inside the single retry loop. Everything that
// talks to the endpoint goes through `guardedCall`.
import type OpenAI from 'openai';
import { type CircuitBreaker, type BreakerOutcome } from './breaker.js';
import type { LlmCache } from './cache.js';
import { classifyError, LlmError, type LlmFailureKind } from './errors.js';
import { llmCache, llmFailures, llmLatency, llmRateLimitWait, llmRequests, llmRetries, llmTokens } from './metrics.js';
import type { ResolvedLlmOptions } from './options.js';
import { type RateLimiter } from './rate-limit.js';
import { final, withRetry } from './retry.js';
import type { Logger, TokenUsage } from './types.js';

export type Op = 'aux' | 'enrich' | 'embed';

export interface Runtime {
  readonly opts: ResolvedLlmOptions;
  readonly openai: OpenAI;
  readonly breaker: CircuitBreaker;
  readonly limiter: RateLimiter;
  readonly cache: LlmCache;
  readonly log: Logger;
  /** Aborted by close(): in-flight requests end at once. */
  readonly shutdown: AbortController;
  /** Identical calls in flight share one request. */
  readonly inflight: Map<string, Promise<unknown>>;
}

/** Failures that say the endpoint is unwell (count towards opening the breaker). */
const ENDPOINT_FAILURES: ReadonlySet<LlmFailureKind> = new Set(['rate_limit', 'server', 'timeout', 'connection', 'auth']);

export interface GuardedRequest<T> {
  op: Op;
  model: string;
  /** Tokens reserved before the call (input estimate + expected output). */
  estimatedTokens: number;
  send: (signal: AbortSignal) => Promise<T>;
  usage: (answer: T) => TokenUsage | undefined;
  log: Logger;
}

export function guardedCall<T>(rt: Runtime, req: GuardedRequest<T>): Promise<T> {
  return withRetry(
    () => attempt(rt, req),
    { maxRetries: rt.opts.maxRetries, baseMs: rt.opts.retryBaseMs, maxDelayMs: rt.opts.retryMaxDelayMs },
    (err, delayMs, n) => {
      llmRetries.inc({ op: req.op, kind: err.kind });
      req.log.warn(
        { op: req.op, kind: err.kind, status: err.status, detail: err.detail, retry: n, delayMs },
        'LLM request failed, retrying',
      );
    },
  );
}

/**
 * Wraps one public operation: every error leaves as an LlmError (key redacted)
 * and is counted once, by kind, in emerflow_llm_failures_total.
 */
export async function operation<T>(rt: Runtime, op: Op, log: Logger, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    const e =
      err instanceof LlmError
        ? err
        : classifyError(err, { timedOut: false, closed: rt.shutdown.signal.aborted, apiKey: rt.opts.apiKey, what: op });
    llmFailures.inc({ op, kind: e.kind });
    log.warn(
      // `detail` (what the endpoint said) lives here, in the logs, and nowhere an API caller can read it.
      { op, kind: e.kind, retryable: e.retryable, retryAfterMs: e.retryAfterMs, status: e.status, reason: e.message, detail: e.detail },
      'LLM operation failed',
    );
    throw e;
  }
}

async function attempt<T>(rt: Runtime, req: GuardedRequest<T>): Promise<T> {
  if (rt.shutdown.signal.aborted) throw new LlmError('connection', 'LLM client closed');
  const done = rt.breaker.acquire();
  let outcome: BreakerOutcome = 'neutral';
  try {
    let permit;
    try {
      permit = await rt.limiter.acquire(req.estimatedTokens, rt.opts.timeoutMs);
    } catch (err) {
      throw err instanceof LlmError ? final(err) : err;
    }
    llmRateLimitWait.observe({ op: req.op }, permit.waitedMs / 1000);

    const deadline = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      deadline.abort();
    }, rt.opts.timeoutMs);
    const onShutdown = () => deadline.abort();
    rt.shutdown.signal.addEventListener('abort', onShutdown, { once: true });
    const started = performance.now();
    try {
      const answer = await req.send(deadline.signal);
      const usage = req.usage(answer);
      permit.release(usage ? usage.input + usage.output : undefined);
      outcome = 'success';
      llmRequests.inc({ op: req.op, model: req.model, outcome: 'ok' });
      if (usage) {
        llmTokens.inc({ op: req.op, model: req.model, direction: 'input' }, usage.input);
        llmTokens.inc({ op: req.op, model: req.model, direction: 'output' }, usage.output);
      }
      return answer;
    } catch (err) {
      permit.release();
      const e = classifyError(err, { timedOut, closed: rt.shutdown.signal.aborted, apiKey: rt.opts.apiKey, what: `${req.op} request` });
      const closedNow = rt.shutdown.signal.aborted;
      outcome = closedNow ? 'neutral' : ENDPOINT_FAILURES.has(e.kind) ? 'failure' : 'success';
      llmRequests.inc({ op: req.op, model: req.model, outcome: e.kind });
      throw e;
    } finally {
      clearTimeout(timer);
      rt.shutdown.signal.removeEventListener('abort', onShutdown);
      llmLatency.observe({ op: req.op, model: req.model }, (performance.now() - started) / 1000);
    }
  } finally {
    done(outcome);
  }
}

/** Token usage from an OpenAI-style `usage` block; undefined when the server sent none. */
export function usageOf(
  u: { prompt_tokens?: number | null; completion_tokens?: number | null } | null | undefined,
): TokenUsage | undefined {
  if (!u || typeof u.prompt_tokens !== 'number') return undefined;
  return { input: u.prompt_tokens, output: typeof u.completion_tokens === 'number' ? u.completion_tokens : 0 };
}

/**
 * Serves from the cache or computes once: identical concurrent calls share one
 * promise, and a cache that fails (Postgres down) degrades to a miss instead of
 * failing the call.
 */
export async function cachedOnce<T>(
  rt: Runtime,
  op: Op,
  key: string,
  read: (v: unknown) => T | undefined,
  compute: () => Promise<T>,
  log: Logger,
): Promise<{ value: T; cached: boolean }> {
  const shared = rt.inflight.get(key) as Promise<{ value: T; cached: boolean }> | undefined;
  if (shared) {
    llmCache.inc({ op, result: 'shared' });
    return shared;
  }
  const p = (async () => {
    let hit: unknown;
    try {
      hit = await rt.cache.get(key);
    } catch (err) {
      log.warn({ err: { message: (err as Error).message } }, 'LLM cache read failed; treating as a miss');
    }
    const v = hit === undefined ? undefined : read(hit);
    llmCache.inc({ op, result: v !== undefined ? 'hit' : 'miss' });
    if (v !== undefined) return { value: v, cached: true };
    const value = await compute();
    try {
      await rt.cache.set(key, value);
    } catch (err) {
      log.warn({ err: { message: (err as Error).message } }, 'LLM cache write failed; the answer is still returned');
    }
    return { value, cached: false };
  })();
  rt.inflight.set(key, p);
  try {
    return await p;
  } finally {
    rt.inflight.delete(key);
  }
}
