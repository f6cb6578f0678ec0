// One error type for everything the LLM layer can fail with. `kind` drives the
// metrics and the job layer's decision (retry later vs. give up); `retryable`
// says whether trying the same call again later can succeed. `message` is only
// ever this layer's own words: whatever the endpoint said (error bodies, socket
// errors, the model's own keys) goes to `detail`, which is for logs, because
// messages travel on into Postgres (items.enrich_error, train_runs.error) and
// from there into API answers.
import {
  APIConnectionError,
  APIConnectionTimeoutError,
  APIError,
  APIUserAbortError,
  AuthenticationError,
  PermissionDeniedError,
  RateLimitError,
} from 'openai';
import type { TokenUsage } from './types.js';
import { parseRetryAfter } from '../client/retry-after.js';

export type LlmFailureKind =
  'rate_limit' | 'server' | 'timeout' | 'connection' | 'invalid_output' | 'bad_request' | 'auth' | 'breaker_open' | 'wrong_dimension';

export const LLM_FAILURE_KINDS: readonly LlmFailureKind[] = [
  'rate_limit',
  'server',
  'timeout',
  'connection',
  'invalid_output',
  'bad_request',
  'auth',
  'breaker_open',
  'wrong_dimension',
];

/**
 * The stable code of each kind: what is stored where API callers read it (an
 * item's enrichError), never the upstream text, which stays in the logs.
 */
export const LLM_ERROR_CODES: Record<LlmFailureKind, string> = {
  rate_limit: 'llm_rate_limit',
  server: 'llm_server',
  timeout: 'llm_timeout',
  connection: 'llm_unreachable',
  invalid_output: 'llm_bad_answer',
  bad_request: 'llm_bad_request',
  auth: 'llm_auth',
  breaker_open: 'llm_breaker_open',
  wrong_dimension: 'llm_wrong_dimension',
};

const RETRYABLE: Record<LlmFailureKind, boolean> = {
  rate_limit: true,
  server: true,
  timeout: true,
  connection: true,
  breaker_open: true,
  invalid_output: false,
  bad_request: false,
  auth: false,
  wrong_dimension: false,
};

export class LlmError extends Error {
  override readonly name = 'LlmError';
  readonly kind: LlmFailureKind;
  readonly retryable: boolean;
  /** How long the caller should wait before trying again (Retry-After, breaker cooldown). */
  readonly retryAfterMs?: number;
  /** HTTP status of the answer that caused it, when there was one. */
  readonly status?: number;
  /** What the endpoint or the model said (redacted, capped): for logs only, never for API answers. */
  readonly detail?: string;
  /**
   * Tokens the endpoint reported for answers that were paid for and still
   * rejected (e.g. two invalid answers), so that budgets count them.
   */
  spent?: TokenUsage;

  constructor(
    kind: LlmFailureKind,
    message: string,
    extra: { retryAfterMs?: number; status?: number; retryable?: boolean; detail?: string } = {},
  ) {
    super(message);
    this.kind = kind;
    this.retryable = extra.retryable ?? RETRYABLE[kind];
    if (extra.retryAfterMs !== undefined) this.retryAfterMs = Math.max(0, Math.round(extra.retryAfterMs));
    if (extra.status !== undefined) this.status = extra.status;
    if (extra.detail !== undefined) this.detail = extra.detail;
  }

  /** The stable code (`llm_server`, `llm_timeout`, …): what may be stored and shown. */
  get code(): string {
    return LLM_ERROR_CODES[this.kind];
  }
}

export function isLlmError(err: unknown): err is LlmError {
  return err instanceof LlmError;
}

/**
 * Removes the key (and any bearer token) from a text that came from elsewhere,
 * e.g. an error body where a server echoes the Authorization header back.
 */
export function redact(text: string, secret: string | undefined): string {
  let out = text;
  if (secret && secret.length >= 4) out = out.split(secret).join('[redacted]');
  return out.replace(/Bearer\s+[^\s"',;]+/gi, 'Bearer [redacted]').slice(0, 500);
}

// shared with the typed client, which must not import the OpenAI SDK
export { parseRetryAfter };

/**
 * Maps whatever the SDK (or fetch underneath it) threw onto an LlmError.
 * `timedOut` is true when our own deadline aborted the request; the SDK then
 * reports a user abort, which we know to be a timeout. The SDK error is not kept
 * as `cause`: its text is the server's (or the socket's) and is carried over
 * only redacted, as `detail`, so the message itself names just what failed.
 */
export function classifyError(err: unknown, ctx: { timedOut: boolean; closed: boolean; apiKey: string; what: string }): LlmError {
  if (err instanceof LlmError) return err;
  const detail = redact(err instanceof Error ? err.message : String(err), ctx.apiKey);
  if (ctx.closed) return new LlmError('connection', `${ctx.what}: client closed`);
  if (ctx.timedOut || err instanceof APIConnectionTimeoutError) return new LlmError('timeout', `${ctx.what}: request timed out`);
  if (err instanceof APIUserAbortError) return new LlmError('connection', `${ctx.what}: request aborted`);
  if (err instanceof APIConnectionError) return new LlmError('connection', `${ctx.what}: connection failed`, { detail });
  if (err instanceof APIError) {
    const status = err.status ?? 0;
    const retryAfterMs = parseRetryAfter(err.headers);
    const text = status ? `${ctx.what}: the endpoint answered HTTP ${status}` : `${ctx.what}: the endpoint failed`;
    const extra = { status, detail, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) };
    if (err instanceof RateLimitError || status === 429) return new LlmError('rate_limit', text, extra);
    if (err instanceof AuthenticationError || err instanceof PermissionDeniedError) return new LlmError('auth', text, extra);
    if (status === 408) return new LlmError('timeout', text, extra);
    // 409 is how OpenAI reports lock timeouts; the SDK retries it too.
    if (status >= 500 || status === 409) return new LlmError('server', text, extra);
    return new LlmError('bad_request', text, extra);
  }
  // A 200 whose body is not JSON: the server answered, but with garbage (which the parser's message quotes).
  if (err instanceof SyntaxError) return new LlmError('invalid_output', `${ctx.what}: unparseable answer`, { detail });
  // Sockets reset while the body streams in surface as bare TypeErrors from undici.
  return new LlmError('connection', `${ctx.what}: request failed`, { detail });
}
