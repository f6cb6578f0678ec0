// Features → the text s_i the encoder reads: one `name: content` line per
// feature, raw features first (in key order, so the same item always gives the
// same text regardless of JSON key order), then the enrichment's.

function flatten(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (Array.isArray(value))
    return value
      .map(flatten)
      .filter((s) => s !== '')
      .join(', ');
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'object') {
    return Object.keys(value as Record<string, unknown>)
      .sort()
      .map((k) => [k, flatten((value as Record<string, unknown>)[k])] as const)
      .filter(([, v]) => v !== '')
      .map(([k, v]) => `${k}: ${v}`)
      .join('; ');
  }
  // Newlines would break the one-feature-per-line shape.
  return String(value).replace(/\s+/g, ' ').trim();
}

function lines(features: Record<string, unknown>): string[] {
  return Object.keys(features)
    .sort()
    .map((k) => [k, flatten(features[k])] as const)
    .filter(([, v]) => v !== '')
    .map(([k, v]) => `${k}: ${v}`);
}

export function serializeFeatures(features: Record<string, unknown>, enrichment?: Record<string, unknown> | null): string {
  const out = lines(features);
  if (enrichment) out.push(...lines(enrichment));
  return out.join('\n');
}
