// The established items of the lookup bench, computed from (seed, index) alone, so the
// bench (which posts them to the service) and the bare server (which holds them in a Map)
// agree without shipping a million vectors between processes. Components are rounded to
// float32 here, so the numbers the bare server prints are the ones a float32 store gives
// back, and both answers have the same bytes.
import { gaussian, mix, rng } from './world.js';

/** Ids are `i<n>`: the wrk scripts generate them from this pattern instead of a file. */
export const ESTABLISHED_PREFIX = 'i';

export const establishedId = (i: number): string => `${ESTABLISHED_PREFIX}${i}`;

export function establishedVector(seed: number, dim: number, i: number): number[] {
  const r = rng(mix(seed, 0x6c6b, i));
  // Same scale as World's vectors: u·v of a few units whatever the dimension, so the
  // labels drawn for the mixed phase's training are not all 0 or all 1.
  const scale = Math.sqrt(8 / dim);
  return Array.from({ length: dim }, () => Math.fround(gaussian(r) * scale));
}

/** Mean UTF-8 length of the ids `i0`…`i<n-1>`: the id part of the raw size of an item. */
export function meanIdBytes(n: number): number {
  let total = 0;
  for (let digits = 1, lo = 0; lo < n; digits++, lo = lo === 0 ? 10 : lo * 10) {
    const hi = Math.min(n, lo === 0 ? 10 : lo * 10);
    total += (hi - lo) * (ESTABLISHED_PREFIX.length + digits);
  }
  return n ? total / n : 0;
}
