// What defines an item, as one stable hash: key order in the JSON does not matter.
// Identical content posted again is a no-op.
import crypto from 'node:crypto';

export function contentHash(features: unknown, embedding?: number[]): string {
  return crypto
    .createHash('sha256')
    .update(canonical({ features, embedding: embedding ?? null }))
    .digest('hex');
}

function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}
