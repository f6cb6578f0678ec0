// Cross-fitted contexts for meta-training with a dot-product scorer.
//
// Why: the recommender's user vectors (the context rows) were fitted on the
// established items' own interactions. Replaying an established item's early
// life against them scores its "future" interactions with vectors that have
// already seen those very interactions, so the meta-learner learns to trust a
// few interactions far more than pays off on emerging items, whose
// interactions the recommender never saw (on ML-100k: learned step sizes ~15,
// pull 0.02, gate ≈ 1 after 20 interactions — worse than plain steps).
//
// Fix: split the established items into folds; per fold, refit every context
// row as an L2-regularised logistic regression on the items' frozen
// embeddings (`base`), leaving that fold's interactions out. Each item then
// trains against rows that never saw its interactions, as emerging items are
// served. The L2 strength is set so the refitted rows have the same mean
// squared norm as the given ones (the runtime refines against those), and the
// fit is exact (Newton), so it does not depend on the recommender's own
// training recipe. Plain JS: d×d systems per row, a few seconds for 100k
// interactions.
import type { TrainingData } from './train-types.js';
import { shuffle, type Rng } from './prng.js';

export interface CrossFitOptions {
  /** folds of established items (default 4) */
  folds?: number;
  /** L2 strength of the refit; default: matched to the given rows' mean squared norm */
  lambda?: number;
}

export interface CrossFitResult {
  data: TrainingData;
  folds: number;
  lambda: number;
  /** mean squared norm of the given rows (over rows with interactions) and of the refitted ones */
  targetNorm2: number;
  fittedNorm2: number;
}

// The kernels below read typed arrays at indices bounded by the loops around them (d, the
// number of context rows, CSR offsets within `start`), hence the non-null reads (`x[i]!`).

interface Csr {
  start: Int32Array; // per context row
  item: Int32Array;
  label: Uint8Array;
}

function byContext(data: TrainingData): Csr {
  const nCtx = data.contexts.length;
  const start = new Int32Array(nCtx + 1);
  for (const it of data.items) for (const x of it.interactions) start[x.ctx + 1] = start[x.ctx + 1]! + 1;
  for (let c = 0; c < nCtx; c++) start[c + 1] = start[c + 1]! + start[c]!;
  const fill = Int32Array.from(start.subarray(0, nCtx));
  const total = start[nCtx]!;
  const item = new Int32Array(total);
  const label = new Uint8Array(total);
  data.items.forEach((it, i) => {
    for (const x of it.interactions) {
      const at = fill[x.ctx]!;
      item[at] = i;
      label[at] = x.label;
      fill[x.ctx] = at + 1;
    }
  });
  return { start, item, label };
}

/** Solves A x = b in place for a symmetric positive-definite A [d×d] (Cholesky). */
function solveSpd(A: Float64Array, b: Float64Array, d: number): void {
  for (let j = 0; j < d; j++) {
    let s = A[j * d + j]!;
    for (let k = 0; k < j; k++) s -= A[j * d + k]! ** 2;
    const ljj = Math.sqrt(Math.max(s, 1e-12));
    A[j * d + j] = ljj;
    for (let i = j + 1; i < d; i++) {
      let t = A[i * d + j]!;
      for (let k = 0; k < j; k++) t -= A[i * d + k]! * A[j * d + k]!;
      A[i * d + j] = t / ljj;
    }
  }
  for (let i = 0; i < d; i++) {
    let t = b[i]!;
    for (let k = 0; k < i; k++) t -= A[i * d + k]! * b[k]!;
    b[i] = t / A[i * d + i]!;
  }
  for (let i = d - 1; i >= 0; i--) {
    let t = b[i]!;
    for (let k = i + 1; k < d; k++) t -= A[k * d + i]! * b[k]!;
    b[i] = t / A[i * d + i]!;
  }
}

/**
 * Per context row: argmin_u mean_j BCE(u·v_j, y_j) + λ‖u‖² over its interactions
 * with items not in `skipFold` (Newton from `U`'s current values, in place).
 */
function fitRows(
  U: Float64Array,
  csr: Csr,
  V: Float32Array[],
  foldOf: Int32Array,
  skipFold: number,
  lambda: number,
  iters: number,
  d: number,
): void {
  const H = new Float64Array(d * d);
  const g = new Float64Array(d);
  const nCtx = csr.start.length - 1;
  for (let c = 0; c < nCtx; c++) {
    const s0 = csr.start[c]!;
    const s1 = csr.start[c + 1]!;
    let n = 0;
    for (let j = s0; j < s1; j++) if (foldOf[csr.item[j]!] !== skipFold) n++;
    const o = c * d;
    if (n === 0) {
      for (let k = 0; k < d; k++) U[o + k] = 0;
      continue;
    }
    for (let it = 0; it < iters; it++) {
      H.fill(0);
      g.fill(0);
      for (let j = s0; j < s1; j++) {
        const i = csr.item[j]!;
        if (foldOf[i] === skipFold) continue;
        const v = V[i]!;
        let z = 0;
        for (let k = 0; k < d; k++) z += U[o + k]! * v[k]!;
        const p = 1 / (1 + Math.exp(-z));
        const r = p - csr.label[j]!;
        const w = p * (1 - p);
        for (let a = 0; a < d; a++) {
          const va = v[a]!;
          g[a] = g[a]! + r * va;
          const wa = w * va;
          for (let b = 0; b <= a; b++) H[a * d + b] = H[a * d + b]! + wa * v[b]!;
        }
      }
      for (let a = 0; a < d; a++) {
        g[a] = g[a]! / n + 2 * lambda * U[o + a]!;
        for (let b = 0; b <= a; b++) {
          const h = H[a * d + b]! / n + (a === b ? 2 * lambda : 0);
          H[a * d + b] = h;
          H[b * d + a] = h;
        }
      }
      solveSpd(H, g, d);
      // Damped Newton: cap the step so a near-separable row cannot jump far.
      let step = 0;
      for (let k = 0; k < d; k++) step += g[k]! ** 2;
      const scale = step > 1 ? 1 / Math.sqrt(step) : 1;
      for (let k = 0; k < d; k++) U[o + k] = U[o + k]! - scale * g[k]!;
    }
  }
}

function meanNorm2(U: Float64Array, csr: Csr, d: number): number {
  let s = 0;
  let m = 0;
  for (let c = 0; c + 1 < csr.start.length; c++) {
    if (csr.start[c + 1] === csr.start[c]) continue;
    for (let k = 0; k < d; k++) s += U[c * d + k]! ** 2;
    m++;
  }
  return s / Math.max(1, m);
}

/**
 * Returns training data whose interactions point at per-fold refitted context
 * rows (only the rows in use are materialised). Needs contexts of the item
 * embeddings' dimension (a dot-product scorer).
 */
export function crossFitDotContexts(data: TrainingData, o: CrossFitOptions, rng: Rng): CrossFitResult {
  const d = data.dim;
  const nCtx = data.contexts.length;
  if (data.contexts.some((c) => c.length !== d))
    throw new Error(`crossFitContexts needs context rows of the embedding size ${d} (a dot-product scorer)`);
  const folds = Math.min(o.folds ?? 4, data.items.length);
  const foldOf = new Int32Array(data.items.length);
  shuffle(
    data.items.map((_, i) => i),
    rng,
  ).forEach((i, j) => {
    foldOf[i] = j % folds;
  });
  const V = data.items.map((it) => it.base);
  const csr = byContext(data);
  let target = 0;
  let used = 0;
  data.contexts.forEach((row, c) => {
    if (csr.start[c + 1] === csr.start[c]) return;
    target += row.reduce((a, x) => a + x * x, 0);
    used++;
  });
  target /= Math.max(1, used);
  // λ by bisection in log space on all interactions: mean ‖u‖² falls as λ grows.
  let lambda = o.lambda ?? 0;
  if (!(lambda > 0)) {
    const U = new Float64Array(nCtx * d);
    let lo = Math.log(1e-5);
    let hi = Math.log(10);
    for (let it = 0; it < 12; it++) {
      const mid = (lo + hi) / 2;
      fitRows(U, csr, V, foldOf, -1, Math.exp(mid), 4, d);
      if (meanNorm2(U, csr, d) > target) lo = mid;
      else hi = mid;
    }
    lambda = Math.exp((lo + hi) / 2);
  }
  const perFold: Float64Array[] = [];
  let fitted = 0;
  for (let f = 0; f < folds; f++) {
    const Uf = new Float64Array(nCtx * d);
    fitRows(Uf, csr, V, foldOf, f, lambda, 8, d);
    fitted += meanNorm2(Uf, csr, d) / folds;
    perFold.push(Uf);
  }
  const contexts: Float32Array[] = [];
  const index = new Map<number, number>();
  const rowOf = (f: number, c: number): number => {
    const key = f * nCtx + c;
    let at = index.get(key);
    if (at === undefined) {
      at = contexts.length;
      index.set(key, at);
      contexts.push(Float32Array.from(perFold[f]!.subarray(c * d, (c + 1) * d)));
    }
    return at;
  };
  const items = data.items.map((it, i) => ({
    ...it,
    interactions: it.interactions.map((x) => ({ ...x, ctx: rowOf(foldOf[i]!, x.ctx) })),
  }));
  return { data: { dim: d, items, contexts }, folds, lambda, targetNorm2: target, fittedNorm2: fitted };
}

/** Every context row refitted on all interactions (in-sample), at L2 strength λ: for tests and diagnostics. */
export function fitContexts(data: TrainingData, lambda: number, iters = 10): Float32Array[] {
  const d = data.dim;
  const U = new Float64Array(data.contexts.length * d);
  fitRows(
    U,
    byContext(data),
    data.items.map((it) => it.base),
    new Int32Array(data.items.length),
    -1,
    lambda,
    iters,
    d,
  );
  return data.contexts.map((_, c) => Float32Array.from(U.subarray(c * d, (c + 1) * d)));
}
