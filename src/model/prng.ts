// Seeded randomness, the one copy in the repo: the model (init, shuffles,
// dropout, task sampling), the evaluation and the test fixtures all draw from
// mulberry32 here, so the same data and seed give the same weights and numbers.
// mulberry32: tiny, fast, good enough statistical quality for ML init.

export interface Rng {
  next(): number; // uniform [0, 1)
  normal(): number; // standard normal
  int(n: number): number; // uniform integer in [0, n)
}

/** A uniform [0, 1) stream; seeds are taken as 32-bit unsigned integers. */
export function mulberry32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The model's generator: mulberry32 from the seed mixed with the golden ratio, plus normals and integers. */
export function makeRng(seed: number): Rng {
  const next = mulberry32((seed >>> 0) ^ 0x9e3779b9);
  let spare: number | null = null;
  return {
    next,
    normal() {
      if (spare !== null) {
        const v = spare;
        spare = null;
        return v;
      }
      // Box–Muller; 1 - u keeps log away from 0.
      const u = 1 - next();
      const v = next();
      const r = Math.sqrt(-2 * Math.log(u));
      spare = r * Math.sin(2 * Math.PI * v);
      return r * Math.cos(2 * Math.PI * v);
    },
    int(n: number) {
      return Math.floor(next() * n);
    },
  };
}

/** In-place Fisher–Yates shuffle with a uniform [0, 1) stream. */
function shuffleWith<T>(xs: T[], rand: () => number): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1)); // 0 ≤ j ≤ i < xs.length
    [xs[i], xs[j]] = [xs[j]!, xs[i]!];
  }
  return xs;
}

/** In-place Fisher–Yates shuffle. */
export function shuffle<T>(xs: T[], rng: Rng): T[] {
  return shuffleWith(xs, rng.next);
}

/** A shuffled copy (Fisher–Yates), for callers that hold a plain uniform stream (mulberry32). */
export function shuffled<T>(xs: readonly T[], rand: () => number): T[] {
  return shuffleWith([...xs], rand);
}

export function normalArray(n: number, std: number, rng: Rng): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.normal() * std;
  return out;
}
