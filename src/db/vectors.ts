// Vectors are stored as float32 little-endian bytes: 4 bytes a number instead of
// ~10 as text, and decoding is a copy rather than a parse.
export function toBytes(v: ArrayLike<number>): Buffer {
  const f = v instanceof Float32Array ? v : Float32Array.from(v);
  return Buffer.from(f.buffer, f.byteOffset, f.byteLength);
}

export function fromBytes(b: Buffer): Float32Array {
  // Copy: a pg Buffer may be a view into a shared pool with an unaligned offset.
  const out = new Float32Array(b.byteLength / 4);
  new Uint8Array(out.buffer).set(b);
  return out;
}
