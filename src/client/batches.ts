// Large inputs cut into route-sized requests: at most the route's row limit (LIMITS, a
// 413 beyond it) and about `maxBytes` of JSON (the service's BULK_BODY_LIMIT_BYTES, a 413
// too), each row serialised once and the body assembled from the pieces.

/** UTF-8 length of a string without encoding it (a surrogate pair is 4 bytes: 2 per half). */
export function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    n += c < 0x80 ? 1 : c < 0x800 || (c >= 0xd800 && c < 0xe000) ? 2 : 3;
  }
  return n;
}

/**
 * The request bodies `{"<key>":[…]}` for `rows`, in order: a new one starts when the next row
 * would pass `limit` rows or `maxBytes` bytes (a row bigger than that goes alone; the service
 * then says what is wrong with it). No rows: one empty body, so that the call still reaches
 * the service (and an unknown space is still a 404).
 */
export function* bodies(key: string, rows: readonly unknown[], limit: number, maxBytes: number): Generator<string> {
  const head = `{${JSON.stringify(key)}:[`;
  let parts: string[] = [];
  let bytes = head.length + 2;
  for (const row of rows) {
    const text = JSON.stringify(row);
    const size = utf8Length(text) + 1;
    if (parts.length > 0 && (parts.length >= limit || bytes + size > maxBytes)) {
      yield `${head}${parts.join(',')}]}`;
      parts = [];
      bytes = head.length + 2;
    }
    parts.push(text);
    bytes += size;
  }
  yield `${head}${parts.join(',')}]}`;
}

/** Consecutive slices of at most `size` (none for no items: one empty slice). */
export function slices<T>(items: readonly T[], size: number): T[][] {
  if (items.length === 0) return [[]];
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Field-wise sums of batch answers ({accepted, unchanged} + {accepted, unchanged} …). */
export function sum<K extends string>(answers: readonly Record<K, number>[], zero: Record<K, number>): Record<K, number> {
  const out = { ...zero };
  for (const a of answers) for (const k of Object.keys(zero) as K[]) out[k] += a[k];
  return out;
}
