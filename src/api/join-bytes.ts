// One answer body from text and cached bytes: the lookup routes send what the cache holds
// (JSON fragments as bytes) between small pieces of JSON made per request, with one
// allocation and one copy of each part, instead of building a string to be encoded again.

/** The parts, in order, as one Buffer; strings are written as UTF-8. */
export function joinBytes(parts: readonly (string | Buffer)[]): Buffer {
  let size = 0;
  for (const p of parts) size += typeof p === 'string' ? Buffer.byteLength(p) : p.length;
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  for (const p of parts) at += typeof p === 'string' ? out.write(p, at) : p.copy(out, at);
  return out;
}
