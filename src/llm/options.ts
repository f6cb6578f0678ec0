// Options of the LLM layer. The service maps its environment (src/config.ts) onto
// these; tests pass small timeouts and backoffs so that failure paths run in
// milliseconds.

export interface LlmOptions {
  /** OpenAI-compatible base URL, including the `/v1` suffix. */
  baseURL: string;
  /** Bearer key; self-hosted servers usually ignore it. Never logged. */
  apiKey: string;
  /** Chat model used for the auxiliary-feature and per-item steps. */
  model: string;
  /** Embedding model on the same endpoint; unset means no remote encoder. */
  embeddingModel?: string;
  /** Expected embedding dimension; when unset, the first answer fixes it. */
  embeddingDim?: number;
  /** Deadline of one HTTP request, body included. */
  timeoutMs: number;
  /** Retries of one call on 429, 5xx, timeout and connection errors (attempts = maxRetries + 1). */
  maxRetries: number;
  /** 0 disables the bucket. */
  requestsPerMinute: number;
  /** 0 disables the bucket. */
  tokensPerMinute: number;
  /** Requests in flight at once, per client. */
  concurrency: number;
  /** Consecutive failed requests that open the breaker. */
  breakerThreshold: number;
  /** How long an open breaker refuses calls before letting one probe through. */
  breakerCooldownMs: number;
  /** Cap of each enriched attribute value, in characters. */
  maxAttributeChars: number;
  /** First backoff step; the n-th retry waits a random time in [0, min(retryMaxDelayMs, retryBaseMs·2ⁿ)]. */
  retryBaseMs?: number;
  /**
   * Longest wait between two attempts. A Retry-After longer than this is not
   * slept on: the call fails at once (retryable, with retryAfterMs) so that the
   * sweeper, not a held worker, waits.
   */
  retryMaxDelayMs?: number;
  /** Texts per /v1/embeddings request. */
  embeddingBatchSize?: number;
  /** Cap of one answer's length in tokens (max_completion_tokens): what one item can cost. */
  maxOutputTokens?: number;
  /**
   * Sampling temperature. Unset by default: some OpenAI models reject any value
   * but their default, and answers are cached anyway, so determinism matters less.
   */
  temperature?: number;
}

export const defaultLlmOptions: Omit<LlmOptions, 'baseURL' | 'apiKey' | 'model'> = {
  timeoutMs: 30_000,
  maxRetries: 3,
  requestsPerMinute: 500,
  tokensPerMinute: 200_000,
  concurrency: 8,
  breakerThreshold: 5,
  breakerCooldownMs: 30_000,
  maxAttributeChars: 500,
  retryBaseMs: 500,
  retryMaxDelayMs: 60_000,
  embeddingBatchSize: 64,
  maxOutputTokens: 2048,
};

/** Options with every optional knob filled in. */
export type ResolvedLlmOptions = LlmOptions & Required<Pick<LlmOptions, 'retryBaseMs' | 'retryMaxDelayMs' | 'embeddingBatchSize'>>;

export function resolveLlmOptions(opts: LlmOptions): ResolvedLlmOptions {
  const r = { ...defaultLlmOptions, ...dropUndefined(opts) } as ResolvedLlmOptions;
  const positive: (keyof ResolvedLlmOptions)[] = [
    'timeoutMs',
    'concurrency',
    'breakerThreshold',
    'maxAttributeChars',
    'embeddingBatchSize',
  ];
  for (const k of positive) {
    const v = r[k];
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new Error(`LlmOptions.${k} must be a positive number`);
  }
  const nonNegative: (keyof ResolvedLlmOptions)[] = [
    'maxRetries',
    'requestsPerMinute',
    'tokensPerMinute',
    'breakerCooldownMs',
    'retryBaseMs',
    'retryMaxDelayMs',
  ];
  for (const k of nonNegative) {
    const v = r[k];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new Error(`LlmOptions.${k} must be a number ≥ 0`);
  }
  if (!r.baseURL) throw new Error('LlmOptions.baseURL is required');
  if (!r.model) throw new Error('LlmOptions.model is required');
  r.timeoutMs = Math.ceil(r.timeoutMs); // the SDK wants an integer
  return r;
}

function dropUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
