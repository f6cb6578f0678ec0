// 32-bit FNV-1a with a final avalanche: stable across processes and platforms,
// which hashed features and model versions depend on.
export function hash32(s: string, seed = 0): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

export function hashHex(s: string): string {
  return hash32(s).toString(16).padStart(8, '0') + hash32(s, 0x5bd1e995).toString(16).padStart(8, '0');
}
