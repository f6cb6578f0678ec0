// Checks the schema cannot express: lengths against the space's dimension, float32 range, feature size.
import { ApiError } from './errors.js';

/**
 * A vector of the space's dimension whose components are finite as float32 (1e39 is a
 * finite double but Infinity in float32, and one such user vector turns every refinement
 * that uses it into NaN) and within ±`bound`.
 */
export function checkVector(field: string, v: number[], dim: number, bound: number): void {
  if (v.length !== dim) throw new ApiError(400, 'invalid_request', `${field} has ${v.length} numbers; the space's dim is ${dim}`);
  v.forEach((x, i) => {
    if (!Number.isFinite(Math.fround(x))) throw new ApiError(400, 'invalid_request', `${field}[${i}] is not a finite float32 number`);
    if (Math.abs(x) > bound)
      throw new ApiError(400, 'invalid_request', `${field}[${i}] is ${x}; components must be within ±${bound} (VECTOR_MAX_ABS)`);
  });
}

/**
 * Features are any JSON object, but bounded before anything hashes or stores them: at most
 * `maxBytes` as JSON and `maxDepth` levels of nesting (deeper nesting would exhaust the
 * stack of the canonical hash). Strings must be printable (no NUL, no lone surrogates).
 */
export function checkFeatures(field: string, features: unknown, maxBytes: number, maxDepth: number): void {
  const walk = (v: unknown, path: string, depth: number): void => {
    if (depth > maxDepth) throw new ApiError(400, 'invalid_request', `${path} is nested more than ${maxDepth} levels deep`);
    if (typeof v === 'string') {
      if (!PRINTABLE_TEXT.test(v))
        throw new ApiError(400, 'invalid_request', `${path} holds a NUL, a control character or a lone surrogate`);
    } else if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${path}[${i}]`, depth + 1));
    else if (v && typeof v === 'object')
      for (const [k, x] of Object.entries(v)) {
        if (!PRINTABLE_TEXT.test(k))
          throw new ApiError(400, 'invalid_request', `${path} has a key with a NUL, a control character or a lone surrogate`);
        walk(x, `${path}.${k}`, depth + 1);
      }
  };
  walk(features, field, 0); // first: it stops at maxDepth, where stringify would recurse on
  const bytes = Buffer.byteLength(JSON.stringify(features));
  if (bytes > maxBytes)
    throw new ApiError(400, 'invalid_request', `${field} is ${bytes} bytes as JSON; at most ${maxBytes} (FEATURES_MAX_BYTES)`);
}

// Tabs and newlines are fine inside feature text; NUL, other C0 controls and lone surrogates are not.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const PRINTABLE_TEXT = /^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\ud800-\udfff]*$/u;
