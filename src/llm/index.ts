// Public surface of the LLM layer; the rest of the service imports from here only.
export { defaultLlmOptions, resolveLlmOptions, type LlmOptions } from './options.js';
export { llmOptionsFromConfig, type LlmEnv } from './from-config.js';
export { LlmError, isLlmError, LLM_ERROR_CODES, LLM_FAILURE_KINDS, parseRetryAfter, type LlmFailureKind } from './errors.js';
export { MemoryLlmCache, cacheKey, sha256, type LlmCache } from './cache.js';
export { createLlmClient, type LlmClient, type LlmClientDeps } from './client.js';
export type { AuxFeature, AuxFeaturesAnswer, Enrichment, TextEncoder, TokenUsage } from './types.js';
export { normaliseAuxFeatures, normaliseFeatureName, auxHash, MAX_AUX_FEATURES } from './aux-features.js';
export { AUX_PROMPT_VERSION, ENRICH_PROMPT_VERSION, sanitiseText } from './prompts.js';
export { enrichmentSchema, validate as validateAgainstSchema, type JsonSchema } from './schema.js';
export { EMBEDDINGS_ENCODER_VERSION } from './embeddings-encoder.js';
export type { BreakerState } from './breaker.js';
