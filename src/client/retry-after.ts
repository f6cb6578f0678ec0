// Retry-After, read the way every caller here reads it: the typed client (src/client), and
// the service's own outbound calls (the LLM endpoint, webhook receivers) through
// src/llm/errors.ts. Kept free of imports so the client stays dependency-free.

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
