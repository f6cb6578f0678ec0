// From the service's validated environment to LlmOptions. Structural input (the
// variable names of src/config.ts) so this file needs no change when config.ts
// grows; variables config.ts does not define yet fall back to the defaults.
import { defaultLlmOptions, type LlmOptions } from './options.js';

export interface LlmEnv {
  LLM_BASE_URL?: string | undefined;
  LLM_API_KEY?: string | undefined;
  LLM_MODEL?: string | undefined;
  EMBEDDING_MODEL?: string | undefined;
  EMBEDDING_DIM?: number | undefined;
  LLM_TIMEOUT_MS?: number | undefined;
  LLM_MAX_RETRIES?: number | undefined;
  LLM_RPM?: number | undefined;
  LLM_TPM?: number | undefined;
  LLM_CONCURRENCY?: number | undefined;
  LLM_BREAKER_THRESHOLD?: number | undefined;
  LLM_BREAKER_COOLDOWN_MS?: number | undefined;
  LLM_MAX_ATTRIBUTE_CHARS?: number | undefined;
  LLM_MAX_OUTPUT_TOKENS?: number | undefined;
}

/**
 * Null when LLM_BASE_URL is unset: the offline default, no enrichment, items
 * embedded from raw features.
 */
export function llmOptionsFromConfig(cfg: LlmEnv): LlmOptions | null {
  if (!cfg.LLM_BASE_URL) return null;
  const d = defaultLlmOptions;
  const opts: LlmOptions = {
    ...d,
    baseURL: cfg.LLM_BASE_URL,
    apiKey: cfg.LLM_API_KEY ?? '',
    model: cfg.LLM_MODEL || 'gpt-4o-mini',
    timeoutMs: cfg.LLM_TIMEOUT_MS ?? d.timeoutMs,
    maxRetries: cfg.LLM_MAX_RETRIES ?? d.maxRetries,
    requestsPerMinute: cfg.LLM_RPM ?? d.requestsPerMinute,
    tokensPerMinute: cfg.LLM_TPM ?? d.tokensPerMinute,
    concurrency: cfg.LLM_CONCURRENCY ?? d.concurrency,
    breakerThreshold: cfg.LLM_BREAKER_THRESHOLD ?? d.breakerThreshold,
    breakerCooldownMs: cfg.LLM_BREAKER_COOLDOWN_MS ?? d.breakerCooldownMs,
    maxAttributeChars: cfg.LLM_MAX_ATTRIBUTE_CHARS ?? d.maxAttributeChars,
    maxOutputTokens: cfg.LLM_MAX_OUTPUT_TOKENS ?? d.maxOutputTokens,
  };
  if (cfg.EMBEDDING_MODEL) opts.embeddingModel = cfg.EMBEDDING_MODEL;
  if (cfg.EMBEDDING_DIM) opts.embeddingDim = cfg.EMBEDDING_DIM;
  return opts;
}
