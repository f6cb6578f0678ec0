// Synthetic spaces whose true item embeddings are known: v = A·r + ε, where
// the content vector r predicts part of v and ε is the item-specific rest that
// only interactions reveal. Used by tests and the benchmark.
import { makeRng, normalArray } from './prng.js';
import type { TrainingData, TrainingItem } from './train-types.js';

export interface SyntheticSpace {
  data: TrainingData; // established items (base = true embedding)
  emerging: TrainingItem[]; // new items; `base` holds the truth, for scoring only
  users: Float32Array[];
}

export function syntheticSpace(opts: {
  seed: number;
  dim?: number;
  inputDim?: number;
  users?: number;
  established?: number;
  emerging?: number;
  perEstablished?: number;
  perEmerging?: number;
  noise?: number; // std of ε relative to A·r
}): SyntheticSpace {
  const rng = makeRng(opts.seed);
  const d = opts.dim ?? 16;
  const din = opts.inputDim ?? 64;
  const nu = opts.users ?? 300;
  const noise = opts.noise ?? 0.7;
  const users = Array.from({ length: nu }, () => normalArray(d, 1.5 / Math.sqrt(d), rng));
  const A = normalArray(din * d, 1.5 / Math.sqrt(din), rng);
  const makeItem = (i: number, count: number, prefix: string): TrainingItem => {
    const r = normalArray(din, 1, rng);
    const v = new Float32Array(d);
    for (let k = 0; k < d; k++) {
      let s = 0;
      for (let j = 0; j < din; j++) s += A[j * d + k]! * r[j]!; // A is [din, d], r is [din]
      v[k] = s + rng.normal() * 1.5 * noise;
    }
    const interactions = Array.from({ length: count }, (_, t) => {
      const u = rng.int(nu);
      const user = users[u]!; // u < nu = users.length
      let z = 0;
      for (let k = 0; k < d; k++) z += user[k]! * v[k]!;
      return { ctx: u, label: (rng.next() < 1 / (1 + Math.exp(-z)) ? 1 : 0) as 0 | 1, ts: t * 1000 + rng.int(1000) };
    });
    // Shuffle arrival order: training must sort by ts itself.
    interactions.reverse();
    return { id: `${prefix}${i}`, r, base: v, interactions };
  };
  const established = Array.from({ length: opts.established ?? 120 }, (_, i) => makeItem(i, opts.perEstablished ?? 200, 'e'));
  const emerging = Array.from({ length: opts.emerging ?? 40 }, (_, i) => makeItem(i, opts.perEmerging ?? 60, 'n'));
  return { data: { dim: d, items: established, contexts: users }, emerging, users };
}
