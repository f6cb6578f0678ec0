// The batch lookup's two answers, made from what a lookup found (lookup/read-through.ts):
// the route (embeddings.ts) and its fast lane (lookup-lane.ts) answer with the same bytes.
import type { Found } from '../lookup/read-through.js';
import { joinBytes } from './join-bytes.js';

const freshBuffer = (bytes: number): Buffer => Buffer.allocUnsafeSlow(bytes);

export const PACKED_TYPE = 'application/octet-stream';
export const DIM_HEADER = 'x-emerflow-dim';
export const SPACE_VERSION_HEADER = 'x-emerflow-space-version';

/**
 * Packed little-endian float32 rows in request order, NaN rows for the ids not found, in a
 * buffer from `take` (of its own ArrayBuffer, so the Float32Array view is aligned; every row
 * is written below, so it need not be zeroed).
 */
export function packedLookupAnswer(found: Found, n: number, dim: number, take: (bytes: number) => Buffer = freshBuffer): Buffer {
  const bytes = take(n * dim * 4);
  const out = new Float32Array(bytes.buffer, bytes.byteOffset, n * dim);
  for (let i = 0, at = 0; i < n; i++, at += dim) {
    if (found.has(i)) found.copyVector(i, out, at);
    else out.fill(NaN, at, at + dim);
  }
  return bytes;
}

/**
 * `{spaceVersion, embeddings: [{id, vector, version, kind}], missing}`, assembled from the
 * per-entry JSON fragments (lookup/cache.ts, embeddingJson); the LookupAnswer schema
 * (contract.ts) documents the shape in /openapi.json.
 */
export function jsonLookupAnswer(found: Found, ids: readonly string[], spaceVersion: number): Buffer {
  const parts: (string | Buffer)[] = [`{"spaceVersion":${spaceVersion},"embeddings":[`];
  const missing: string[] = [];
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i]!;
    if (!found.has(i)) missing.push(id);
    else parts.push(`${parts.length > 1 ? ',' : ''}{"id":${JSON.stringify(id)},`, found.json(i), '}');
  }
  parts.push(`],"missing":${JSON.stringify(missing)}}`);
  return joinBytes(parts);
}
