// Prometheus metrics of the LLM layer, on the process-wide registry. Created
// through getOrCreate so that a second import (tests, tsx reloading a path)
// reuses the metric instead of throwing "already registered".
import { Counter, Gauge, Histogram, type Metric } from 'prom-client';
import { registry } from '../metrics.js';
import type { BreakerState } from './breaker.js';

function getOrCreate<T extends Metric>(name: string, make: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? make();
}

/** op: aux | enrich | embed. outcome: ok or a failure kind. Counted per HTTP attempt. */
export const llmRequests = getOrCreate(
  'emerflow_llm_requests_total',
  () =>
    new Counter({
      name: 'emerflow_llm_requests_total',
      help: 'LLM HTTP requests by operation, model and outcome (ok or failure kind), one per attempt.',
      labelNames: ['op', 'model', 'outcome'] as const,
      registers: [registry],
    }),
);

export const llmLatency = getOrCreate(
  'emerflow_llm_request_duration_seconds',
  () =>
    new Histogram({
      name: 'emerflow_llm_request_duration_seconds',
      help: 'Duration of one LLM HTTP request, by operation and model.',
      labelNames: ['op', 'model'] as const,
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120],
      registers: [registry],
    }),
);

export const llmTokens = getOrCreate(
  'emerflow_llm_tokens_total',
  () =>
    new Counter({
      name: 'emerflow_llm_tokens_total',
      help: 'Tokens reported by the endpoint, by operation, model and direction (input or output).',
      labelNames: ['op', 'model', 'direction'] as const,
      registers: [registry],
    }),
);

/** One per call that finally failed (after retries), by kind. */
export const llmFailures = getOrCreate(
  'emerflow_llm_failures_total',
  () =>
    new Counter({
      name: 'emerflow_llm_failures_total',
      help: 'LLM calls that failed after the retry layer, by operation and failure kind.',
      labelNames: ['op', 'kind'] as const,
      registers: [registry],
    }),
);

export const llmRetries = getOrCreate(
  'emerflow_llm_retries_total',
  () =>
    new Counter({
      name: 'emerflow_llm_retries_total',
      help: 'Retries of LLM requests, by operation and the failure kind that caused them.',
      labelNames: ['op', 'kind'] as const,
      registers: [registry],
    }),
);

export const llmCache = getOrCreate(
  'emerflow_llm_cache_total',
  () =>
    new Counter({
      name: 'emerflow_llm_cache_total',
      help: 'LLM answer cache lookups by operation and result (hit, miss, or shared with an identical call in flight).',
      labelNames: ['op', 'result'] as const,
      registers: [registry],
    }),
);

export const llmRateLimitWait = getOrCreate(
  'emerflow_llm_rate_limit_wait_seconds',
  () =>
    new Histogram({
      name: 'emerflow_llm_rate_limit_wait_seconds',
      help: 'Time spent waiting for the local rate and concurrency limits before a request.',
      labelNames: ['op'] as const,
      buckets: [0.001, 0.01, 0.1, 0.5, 1, 5, 15, 30, 60],
      registers: [registry],
    }),
);

export const llmRateLimitShared = getOrCreate(
  'emerflow_llm_rate_limit_shared',
  () =>
    new Gauge({
      name: 'emerflow_llm_rate_limit_shared',
      help:
        'Which LLM rate budgets decide, per model: 1 the ones shared by every process in Redis, ' +
        '0 this process alone (Redis unreachable).',
      labelNames: ['model'] as const,
      registers: [registry],
    }),
);

export const llmBreakerState = getOrCreate(
  'emerflow_llm_breaker_state',
  () =>
    new Gauge({
      name: 'emerflow_llm_breaker_state',
      help: 'LLM circuit breaker state per model: 0 closed, 1 half-open, 2 open.',
      labelNames: ['model'] as const,
      registers: [registry],
    }),
);

export const llmBreakerTransitions = getOrCreate(
  'emerflow_llm_breaker_transitions_total',
  () =>
    new Counter({
      name: 'emerflow_llm_breaker_transitions_total',
      help: 'LLM circuit breaker state changes, by the state entered.',
      labelNames: ['model', 'state'] as const,
      registers: [registry],
    }),
);

export const BREAKER_STATE_VALUE: Record<BreakerState, number> = { closed: 0, half_open: 1, open: 2 };
