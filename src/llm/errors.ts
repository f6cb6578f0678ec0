// One error type for everything the LLM layer can fail with. `kind` drives the
// metrics and the job layer's decision (retry later vs. give up); `retryable`
// says whether trying the same call again later can succeed.
import {
  APIConnectionError,
  APIConnectionTimeoutError,
  APIError,
  APIUserAbortError,
  AuthenticationError,
  PermissionDeniedError,
  RateLimitError,
} from 'openai';

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

  constructor(kind: LlmFailureKind, message: string, extra: { retryAfterMs?: number; status?: number; retryable?: boolean } = {}) {
    super(message);
    this.kind = kind;
    this.retryable = extra.retryable ?? RETRYABLE[kind];
    if (extra.retryAfterMs !== undefined) this.retryAfterMs = Math.max(0, Math.round(extra.retryAfterMs));
    if (extra.status !== undefined) this.status = extra.status;
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

/**
 * Retry-After as milliseconds: `retry-after-ms` (OpenAI's own), then
 * `retry-after` as seconds or as an HTTP-date. Undefined when absent or garbled.
 */
export function parseRetryAfter(headers: Headers | undefined, now: number = Date.now()): number | undefined {
  if (!headers) return undefined;
  const ms = headers.get('retry-after-ms');
  if (ms !== null && ms.trim() !== '') {
    const n = Number(ms);
    if (Number.isFinite(n) && n >= 0) return n;
  }
  const ra = headers.get('retry-after');
  if (ra === null || ra.trim() === '') return undefined;
  const secs = Number(ra);
  if (Number.isFinite(secs)) return secs >= 0 ? secs * 1000 : undefined;
  const at = Date.parse(ra);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}

/**
 * Maps whatever the SDK (or fetch underneath it) threw onto an LlmError.
 * `timedOut` is true when our own deadline aborted the request; the SDK then
 * reports a user abort, which we know to be a timeout. The SDK error is not kept
 * as `cause`: its body is server text and is only carried over redacted.
 */
export function classifyError(err: unknown, ctx: { timedOut: boolean; closed: boolean; apiKey: string; what: string }): LlmError {
  if (err instanceof LlmError) return err;
  const msg = (e: unknown) => redact(e instanceof Error ? e.message : String(e), ctx.apiKey);
  if (ctx.closed) return new LlmError('connection', `${ctx.what}: client closed`);
  if (ctx.timedOut || err instanceof APIConnectionTimeoutError) return new LlmError('timeout', `${ctx.what}: request timed out`);
  if (err instanceof APIUserAbortError) return new LlmError('connection', `${ctx.what}: request aborted`);
  if (err instanceof APIConnectionError) return new LlmError('connection', `${ctx.what}: connection failed: ${msg(err)}`);
  if (err instanceof APIError) {
    const status = err.status ?? 0;
    const retryAfterMs = parseRetryAfter(err.headers);
    const text = `${ctx.what}: ${msg(err)}`;
    const extra = { status, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) };
    if (err instanceof RateLimitError || status === 429) return new LlmError('rate_limit', text, extra);
    if (err instanceof AuthenticationError || err instanceof PermissionDeniedError) return new LlmError('auth', text, extra);
    if (status === 408) return new LlmError('timeout', text, extra);
    // 409 is how OpenAI reports lock timeouts; the SDK retries it too.
    if (status >= 500 || status === 409) return new LlmError('server', text, extra);
    return new LlmError('bad_request', text, extra);
  }
  // A 200 whose body is not JSON: the server answered, but with garbage.
  if (err instanceof SyntaxError) return new LlmError('invalid_output', `${ctx.what}: unparseable answer: ${msg(err)}`);
  // Sockets reset while the body streams in surface as bare TypeErrors from undici.
  return new LlmError('connection', `${ctx.what}: ${msg(err)}`);
}
