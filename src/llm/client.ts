// The LLM client the jobs use: the auxiliary-feature step, the per-item step
// and (with EMBEDDING_MODEL) an embeddings encoder, over any OpenAI-compatible
// endpoint. The real `openai` SDK does the HTTP with its own retries off
// (maxRetries: 0): retries, limits and the breaker live in this layer only.
import type { Redis } from 'ioredis';
import OpenAI from 'openai';
import { proposeAuxFeatures } from './aux-features.js';
import { CircuitBreaker, type BreakerState } from './breaker.js';
import type { LlmCache } from './cache.js';
import { enrichItem } from './enrich-item.js';
import { createEmbeddingsEncoder } from './embeddings-encoder.js';
import { BREAKER_STATE_VALUE, llmBreakerState, llmBreakerTransitions } from './metrics.js';
import { resolveLlmOptions, type LlmOptions } from './options.js';
import { LocalBuckets, RateLimiter } from './rate-limit.js';
import { rateKey, SharedBuckets } from './shared-rate-limit.js';
import { operation, type Runtime } from './runtime.js';
import type { AuxFeature, AuxFeaturesAnswer, CallContext, Enrichment, Logger, TextEncoder } from './types.js';

export type { AuxFeature, AuxFeaturesAnswer, Enrichment, TextEncoder } from './types.js';

export interface LlmClient {
  readonly model: string;
  proposeAuxFeatures(
    input: { itemType: string; featureNames: string[]; examples?: Record<string, unknown>[] },
    ctx?: { log?: Logger },
  ): Promise<AuxFeaturesAnswer>;
  enrichItem(
    input: { itemType: string; auxFeatures: AuxFeature[]; features: Record<string, unknown>; contentHash: string },
    ctx?: CallContext,
  ): Promise<Enrichment>;
  /** Null when no embeddingModel is configured. The same encoder instance on every call. */
  embedder(): TextEncoder | null;
  breakerState(): BreakerState;
  /** Aborts requests in flight and refuses new ones. */
  close(): Promise<void>;
}

export interface LlmClientDeps {
  cache: LlmCache;
  log: Logger;
  /**
   * With a Redis connection, LLM_RPM / LLM_TPM are budgets of the whole deployment,
   * shared by every process; without, each process's own. The client does not close it.
   * Best with `enableOfflineQueue: false`, so that a Redis that is down is noticed at once.
   */
  redis?: Redis;
  /** Key prefix of the shared budgets (QUEUE_PREFIX); `emerflow` by default. */
  prefix?: string;
}

export function createLlmClient(options: LlmOptions, deps: LlmClientDeps): LlmClient {
  const opts = resolveLlmOptions(options);
  const log = deps.log.child({ component: 'llm', model: opts.model });
  const openai = new OpenAI({
    baseURL: opts.baseURL,
    // Self-hosted servers often need no key, but the SDK insists on one.
    apiKey: opts.apiKey || 'EMPTY',
    maxRetries: 0,
    timeout: opts.timeoutMs,
    // Our own log lines carry item and job ids; the SDK's would go to console.
    logLevel: 'off',
    // Keep OPENAI_ORG_ID / OPENAI_PROJECT_ID from the environment off third-party servers.
    organization: null,
    project: null,
  });
  const breaker = new CircuitBreaker(opts.breakerThreshold, opts.breakerCooldownMs, (state) => {
    llmBreakerState.set({ model: opts.model }, BREAKER_STATE_VALUE[state]);
    llmBreakerTransitions.inc({ model: opts.model, state });
    log[state === 'open' ? 'warn' : 'info']({ breaker: state }, `LLM circuit breaker ${state}`);
  });
  llmBreakerState.set({ model: opts.model }, 0);
  const local = new LocalBuckets(opts);
  const buckets = deps.redis
    ? new SharedBuckets({ ...opts, redis: deps.redis, key: rateKey(deps.prefix ?? 'emerflow', opts.model), local, log, model: opts.model })
    : local;
  const rt: Runtime = {
    opts,
    openai,
    breaker,
    limiter: new RateLimiter(opts, Date.now, buckets),
    cache: deps.cache,
    log,
    shutdown: new AbortController(),
    inflight: new Map(),
  };
  const embedder = opts.embeddingModel
    ? createEmbeddingsEncoder(rt, opts.embeddingModel, log.child({ embeddingModel: opts.embeddingModel }))
    : null;

  const scoped = (ctx: CallContext | undefined, fields: Record<string, unknown>): Logger => {
    const base = ctx?.log ?? log;
    const ids: Record<string, unknown> = { ...fields };
    if (ctx?.itemId !== undefined) ids.itemId = ctx.itemId;
    if (ctx?.jobId !== undefined) ids.jobId = ctx.jobId;
    return base.child(ids);
  };

  return {
    model: opts.model,
    proposeAuxFeatures(input, ctx) {
      const l = scoped(ctx, { op: 'aux', itemType: input.itemType });
      return operation(rt, 'aux', l, () => proposeAuxFeatures(rt, input, l));
    },
    enrichItem(input, ctx) {
      const l = scoped(ctx, { op: 'enrich' });
      return operation(rt, 'enrich', l, () => enrichItem(rt, input, l));
    },
    embedder: () => embedder,
    breakerState: () => {
      const s = breaker.state();
      llmBreakerState.set({ model: opts.model }, BREAKER_STATE_VALUE[s]);
      return s;
    },
    async close() {
      rt.shutdown.abort();
      rt.limiter.close();
    },
  };
}
