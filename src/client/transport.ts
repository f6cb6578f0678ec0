// One call of the API, as many attempts as it takes: the request id header, the bearer key,
// a deadline per attempt, retries by the call's RetryClass (src/client/retry.ts), and every
// unsuccessful answer turned into an EmerFlowError.
import { EmerFlowError } from './errors.js';
import { retryable, retryDelayMs, type Attempt, type RetryClass } from './retry.js';

export interface TransportOptions {
  baseUrl: string;
  apiKey: string;
  fetch: typeof globalThis.fetch;
  /** Attempts after the first. */
  retries: number;
  /** The x-request-id of each call (the same for all of its attempts). */
  requestId: () => string;
  /** Deadline of one attempt. */
  timeoutMs: number;
  /** A Retry-After longer than this is not waited for: the error is thrown instead. */
  maxRetryDelayMs: number;
}

export interface Call {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** Path and query, e.g. /v1/spaces/movies?version=2 (segments already encoded). */
  path: string;
  /** A JSON body as text (the batching code serialises rows itself), or an object to serialise. */
  body?: string | object;
  retry: RetryClass;
  accept?: string;
  /** A 404 on an attempt after the first is success: an earlier attempt did it (deletes). */
  goneIsDone?: boolean;
}

export interface Answer {
  status: number;
  headers: Headers;
  /** The body, read whole. */
  bytes: ArrayBuffer;
  requestId: string;
}

export type Send = (call: Call) => Promise<Answer>;

export function makeTransport(o: TransportOptions): Send {
  const base = o.baseUrl.replace(/\/+$/, '');
  return async (call) => {
    const requestId = o.requestId();
    const body = call.body === undefined ? undefined : typeof call.body === 'string' ? call.body : JSON.stringify(call.body);
    const headers: Record<string, string> = { authorization: `Bearer ${o.apiKey}`, 'x-request-id': requestId };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (call.accept) headers['accept'] = call.accept;
    for (let n = 1; ; n++) {
      let attempt: Attempt;
      let failure: EmerFlowError;
      try {
        const res = await o.fetch(base + call.path, {
          method: call.method,
          headers,
          ...(body === undefined ? {} : { body }),
          signal: AbortSignal.timeout(o.timeoutMs),
        });
        const bytes = await res.arrayBuffer();
        if (res.ok || (call.goneIsDone && n > 1 && res.status === 404))
          return { status: res.status, headers: res.headers, bytes, requestId };
        failure = answerError(res.status, bytes, requestId, call);
        attempt = { status: res.status, code: failure.code, headers: res.headers };
      } catch (err) {
        failure = networkError(err, requestId, call, o.timeoutMs);
        attempt = { status: 0, error: err };
      }
      if (n > o.retries || !retryable(call.retry, attempt)) throw failure;
      const wait = retryDelayMs(n, attempt.headers);
      if (wait > o.maxRetryDelayMs) throw failure;
      await new Promise((r) => setTimeout(r, wait));
    }
  };
}

/** The service's `{error, message}` body, or whatever else answered (a proxy's page). */
function answerError(status: number, bytes: ArrayBuffer, requestId: string, call: Call): EmerFlowError {
  const text = new TextDecoder().decode(bytes);
  try {
    const b = JSON.parse(text) as Record<string, unknown>;
    if (b && typeof b.error === 'string')
      return new EmerFlowError(status, b.error, typeof b.message === 'string' ? b.message : b.error, requestId, b);
  } catch {
    // not JSON: described below from the text itself
  }
  const what = text.trim().slice(0, 200) || 'no body';
  return new EmerFlowError(status, `http_${status}`, `${call.method} ${call.path.split('?')[0]} answered ${status}: ${what}`, requestId);
}

function networkError(err: unknown, requestId: string, call: Call, timeoutMs: number): EmerFlowError {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  const where = `${call.method} ${call.path.split('?')[0]}`;
  if (e.name === 'TimeoutError') return new EmerFlowError(0, 'timeout', `${where}: no answer within ${timeoutMs} ms`, requestId);
  const why = e.cause?.code ?? e.cause?.message ?? e.message ?? String(err);
  return new EmerFlowError(0, 'network_error', `${where} failed: ${why}`, requestId);
}

/** The body of a success as JSON. */
export function json<T>(a: Answer): T {
  try {
    return JSON.parse(new TextDecoder().decode(a.bytes)) as T;
  } catch {
    throw new EmerFlowError(a.status, 'bad_response', 'the answer is not JSON', a.requestId);
  }
}
