// A linear map between two embedding spaces of the same items: when the recommender retrains, its
// new space is unrelated axis by axis to the old one, but items established in both give pairs
// (old vector, new vector) to fit y ≈ μy + (x − μx)·L on. Dot-product recommenders trained with L2
// on both sides are determined up to a rotation, so with an unchanged dimension the map is an
// orthogonal Procrustes rotation times one global scale; otherwise (or with too few pairs to pin a
// rotation) a ridge regression. Pure JS on Float64Array: fitting is one pass over the pairs
// (O(n·d²)) plus O(d³) on d×d matrices; apply is O(d²). No TF.js, so the service can fit and apply
// it anywhere (a promote job, a request handler) without a tensor backend.

export type VersionMapKind = 'procrustes' | 'ridge';

export interface VersionMap {
  kind: VersionMapKind;
  fromDim: number;
  toDim: number;
  /** how many (from, to) pairs it was fitted on */
  pairs: number;
  /** in-sample ‖Y − f(X)‖² / ‖Y − mean(Y)‖²: 0 is exact, 1 is no better than the mean new vector */
  fitError: number;
  apply(v: Float32Array): Float32Array;
  toJSON(): unknown;
}

export interface VersionMapOptions {
  /**
   * Ridge strength relative to the mean variance of the `from` coordinates (λ = ridge · ‖X − μx‖²/fromDim),
   * so it means the same whatever the spaces' scale. Default 1e-3.
   */
  ridge?: number;
  /** 'auto' (default): Procrustes when fromDim === toDim and pairs > dim, else ridge */
  kind?: VersionMapKind | 'auto';
  /**
   * Procrustes' global scale: 'ls' (default) the least-squares one, tr Σ / ‖X − μx‖²; 'norm' makes the
   * mapped vectors' spread match the new space's, ‖Y − μy‖ / ‖X − μx‖; 'none' a pure rotation.
   */
  scale?: 'ls' | 'norm' | 'none';
}

const FORMAT = 'emerflow.version-map';
const DEFAULT_RIDGE = 1e-3;
// rows per block when accumulating X^T X and X^T Y: the block is kept transposed so each product is a
// dot product of two contiguous rows, and the d×d accumulators are swept once per block, not once per pair
const BLOCK = 64;

function checkPairs(from: Float32Array[], to: Float32Array[]): { n: number; dx: number; dy: number } {
  if (!Array.isArray(from) || !Array.isArray(to)) throw new TypeError('fitVersionMap: from and to must be arrays of Float32Array');
  if (from.length === 0) throw new Error('fitVersionMap: no pairs (from and to are empty)');
  if (from.length !== to.length) throw new Error(`fitVersionMap: from has ${from.length} vectors, to has ${to.length}; they must pair up`);
  const dx = from[0]!.length;
  const dy = to[0]!.length;
  if (dx === 0 || dy === 0) throw new Error('fitVersionMap: vectors must have at least one dimension');
  for (let i = 0; i < from.length; i++) {
    const x = from[i]!;
    const y = to[i]!;
    if (!(x instanceof Float32Array) || !(y instanceof Float32Array))
      throw new TypeError(`fitVersionMap: pair ${i} is not two Float32Arrays`);
    if (x.length !== dx) throw new Error(`fitVersionMap: from[${i}] has dimension ${x.length}, from[0] has ${dx}`);
    if (y.length !== dy) throw new Error(`fitVersionMap: to[${i}] has dimension ${y.length}, to[0] has ${dy}`);
    for (let k = 0; k < dx; k++) if (!Number.isFinite(x[k]!)) throw new Error(`fitVersionMap: from[${i}][${k}] is not finite`);
    for (let k = 0; k < dy; k++) if (!Number.isFinite(y[k]!)) throw new Error(`fitVersionMap: to[${i}][${k}] is not finite`);
  }
  return { n: from.length, dx, dy };
}

function mean(vs: Float32Array[], d: number): Float64Array {
  const m = new Float64Array(d);
  for (const v of vs) for (let k = 0; k < d; k++) m[k]! += v[k]!;
  for (let k = 0; k < d; k++) m[k]! /= vs.length;
  return m;
}

/** Centered moments in one pass: C = Xc^T Yc (dx×dy, row-major), G = Xc^T Xc when asked, and both squared norms. */
function moments(
  from: Float32Array[],
  to: Float32Array[],
  mx: Float64Array,
  my: Float64Array,
  wantGram: boolean,
): { C: Float64Array; G: Float64Array | null; xx: number; yy: number } {
  const n = from.length;
  const dx = mx.length;
  const dy = my.length;
  const C = new Float64Array(dx * dy);
  const G = wantGram ? new Float64Array(dx * dx) : null;
  const XT = new Float64Array(dx * BLOCK);
  const YT = new Float64Array(dy * BLOCK);
  let xx = 0;
  let yy = 0;
  for (let b0 = 0; b0 < n; b0 += BLOCK) {
    const B = Math.min(BLOCK, n - b0);
    for (let b = 0; b < B; b++) {
      const x = from[b0 + b]!;
      const y = to[b0 + b]!;
      for (let k = 0; k < dx; k++) {
        const v = x[k]! - mx[k]!;
        XT[k * BLOCK + b] = v;
        xx += v * v;
      }
      for (let k = 0; k < dy; k++) {
        const v = y[k]! - my[k]!;
        YT[k * BLOCK + b] = v;
        yy += v * v;
      }
    }
    addProducts(C, dy, XT, dx, YT, dy, B, false);
    if (G) addProducts(G, dx, XT, dx, XT, dx, B, true);
  }
  if (G) for (let i = 0; i < dx; i++) for (let j = 0; j < i; j++) G[i * dx + j] = G[j * dx + i]!;
  return { C, G, xx, yy };
}

/**
 * out[i·ld + j] += Σ_b P[i·BLOCK + b]·Q[j·BLOCK + b] for the first B of each row; `upper`: only j ≥ i is
 * needed (a few entries below are written too, and overwritten by the caller). Two rows of each at a
 * time, so every load feeds two multiply-adds: about twice as fast as one dot product at a time here.
 */
function addProducts(
  out: Float64Array,
  ld: number,
  P: Float64Array,
  np: number,
  Q: Float64Array,
  nq: number,
  B: number,
  upper: boolean,
): void {
  for (let i = 0; i < np; i += 2) {
    const p0 = i * BLOCK;
    const two = i + 1 < np;
    const p1 = two ? p0 + BLOCK : p0;
    for (let j = upper ? i : 0; j < nq; j += 2) {
      const q0 = j * BLOCK;
      const twoJ = j + 1 < nq;
      const q1 = twoJ ? q0 + BLOCK : q0;
      let s00 = 0;
      let s01 = 0;
      let s10 = 0;
      let s11 = 0;
      for (let b = 0; b < B; b++) {
        const a0 = P[p0 + b]!;
        const a1 = P[p1 + b]!;
        const c0 = Q[q0 + b]!;
        const c1 = Q[q1 + b]!;
        s00 += a0 * c0;
        s01 += a0 * c1;
        s10 += a1 * c0;
        s11 += a1 * c1;
      }
      out[i * ld + j]! += s00;
      if (twoJ) out[i * ld + j + 1]! += s01;
      if (two) {
        out[(i + 1) * ld + j]! += s10;
        if (twoJ) out[(i + 1) * ld + j + 1]! += s11;
      }
    }
  }
}

/**
 * Eigen-decomposition of a symmetric n×n matrix (row-major; it is symmetric, so also column-major):
 * Householder tridiagonalisation then implicit QL (EISPACK tred2/tql2, as in JAMA). O(n³) with a small
 * constant, unlike cyclic Jacobi's many sweeps. The arrays are kept column-major, EISPACK's own layout,
 * so the inner loops walk contiguous memory. Returns eigenvalues ascending and the eigenvectors as the
 * columns of `vectors` (column j at vectors[j·n … j·n+n)).
 */
export function symmetricEigen(a: Float64Array, n: number): { values: Float64Array; vectors: Float64Array } {
  if (a.length !== n * n) throw new Error(`symmetricEigen: expected ${n * n} entries, got ${a.length}`);
  const V = Float64Array.from(a); // V(r, c) at c·n + r
  const d = new Float64Array(n);
  const e = new Float64Array(n);
  if (n === 1) return { values: Float64Array.of(a[0]!), vectors: Float64Array.of(1) };
  tred2(V, d, e, n);
  tql2(V, d, e, n);
  return { values: d, vectors: V };
}

function tred2(V: Float64Array, d: Float64Array, e: Float64Array, n: number): void {
  const at = (r: number, c: number) => c * n + r;
  for (let j = 0; j < n; j++) d[j] = V[at(n - 1, j)]!;
  for (let i = n - 1; i > 0; i--) {
    let scale = 0;
    let h = 0;
    for (let k = 0; k < i; k++) scale += Math.abs(d[k]!);
    if (scale === 0) {
      e[i] = d[i - 1]!;
      for (let j = 0; j < i; j++) {
        d[j] = V[at(i - 1, j)]!;
        V[at(i, j)] = 0;
        V[at(j, i)] = 0;
      }
    } else {
      for (let k = 0; k < i; k++) {
        d[k]! /= scale;
        h += d[k]! * d[k]!;
      }
      let f = d[i - 1]!;
      let g = Math.sqrt(h);
      if (f > 0) g = -g;
      e[i] = scale * g;
      h -= f * g;
      d[i - 1] = f - g;
      for (let j = 0; j < i; j++) e[j] = 0;
      for (let j = 0; j < i; j++) {
        f = d[j]!;
        V[at(j, i)] = f;
        const cj = j * n;
        g = e[j]! + V[cj + j]! * f;
        for (let k = j + 1; k <= i - 1; k++) {
          g += V[cj + k]! * d[k]!;
          e[k]! += V[cj + k]! * f;
        }
        e[j] = g;
      }
      f = 0;
      for (let j = 0; j < i; j++) {
        e[j]! /= h;
        f += e[j]! * d[j]!;
      }
      const hh = f / (h + h);
      for (let j = 0; j < i; j++) e[j]! -= hh * d[j]!;
      for (let j = 0; j < i; j++) {
        f = d[j]!;
        g = e[j]!;
        const cj = j * n;
        for (let k = j; k <= i - 1; k++) V[cj + k]! -= f * e[k]! + g * d[k]!;
        d[j] = V[at(i - 1, j)]!;
        V[at(i, j)] = 0;
      }
    }
    d[i] = h;
  }
  // accumulate the transformations
  for (let i = 0; i < n - 1; i++) {
    V[at(n - 1, i)] = V[at(i, i)]!;
    V[at(i, i)] = 1;
    const h = d[i + 1]!;
    const ci1 = (i + 1) * n;
    if (h !== 0) {
      for (let k = 0; k <= i; k++) d[k] = V[ci1 + k]! / h;
      for (let j = 0; j <= i; j++) {
        const cj = j * n;
        let g = 0;
        for (let k = 0; k <= i; k++) g += V[ci1 + k]! * V[cj + k]!;
        for (let k = 0; k <= i; k++) V[cj + k]! -= g * d[k]!;
      }
    }
    for (let k = 0; k <= i; k++) V[ci1 + k] = 0;
  }
  for (let j = 0; j < n; j++) {
    d[j] = V[at(n - 1, j)]!;
    V[at(n - 1, j)] = 0;
  }
  V[at(n - 1, n - 1)] = 1;
  e[0] = 0;
}

function tql2(V: Float64Array, d: Float64Array, e: Float64Array, n: number): void {
  for (let i = 1; i < n; i++) e[i - 1] = e[i]!;
  e[n - 1] = 0;
  let f = 0;
  let tst1 = 0;
  const eps = 2 ** -52;
  for (let l = 0; l < n; l++) {
    tst1 = Math.max(tst1, Math.abs(d[l]!) + Math.abs(e[l]!));
    let m = l;
    while (m < n) {
      if (Math.abs(e[m]!) <= eps * tst1) break;
      m++;
    }
    if (m > l) {
      let iter = 0;
      do {
        // QL converges in a few iterations per eigenvalue; EISPACK gives up after 30, this after 60
        if (++iter > 60) throw new Error('symmetricEigen: QL iteration did not converge');
        let g = d[l]!;
        let p = (d[l + 1]! - g) / (2 * e[l]!);
        let r = Math.hypot(p, 1);
        if (p < 0) r = -r;
        d[l] = e[l]! / (p + r);
        d[l + 1] = e[l]! * (p + r);
        const dl1 = d[l + 1]!;
        let h = g - d[l]!;
        for (let i = l + 2; i < n; i++) d[i]! -= h;
        f += h;
        p = d[m]!;
        let c = 1;
        let c2 = c;
        let c3 = c;
        const el1 = e[l + 1]!;
        let s = 0;
        let s2 = 0;
        for (let i = m - 1; i >= l; i--) {
          c3 = c2;
          c2 = c;
          s2 = s;
          g = c * e[i]!;
          h = c * p;
          r = Math.hypot(p, e[i]!);
          e[i + 1] = s * r;
          s = e[i]! / r;
          c = p / r;
          p = c * d[i]! - s * g;
          d[i + 1] = h + s * (c * g + s * d[i]!);
          const ci = i * n;
          const ci1 = ci + n;
          for (let k = 0; k < n; k++) {
            h = V[ci1 + k]!;
            V[ci1 + k] = s * V[ci + k]! + c * h;
            V[ci + k] = c * V[ci + k]! - s * h;
          }
        }
        p = (-s * s2 * c3 * el1 * e[l]!) / dl1;
        e[l] = s * p;
        d[l] = c * p;
      } while (Math.abs(e[l]!) > eps * tst1);
    }
    d[l] = d[l]! + f;
    e[l] = 0;
  }
  // sort ascending, moving whole columns
  for (let i = 0; i < n - 1; i++) {
    let k = i;
    let p = d[i]!;
    for (let j = i + 1; j < n; j++)
      if (d[j]! < p) {
        k = j;
        p = d[j]!;
      }
    if (k !== i) {
      d[k] = d[i]!;
      d[i] = p;
      const ci = i * n;
      const ck = k * n;
      for (let j = 0; j < n; j++) {
        const t = V[ci + j]!;
        V[ci + j] = V[ck + j]!;
        V[ck + j] = t;
      }
    }
  }
}

/**
 * The orthogonal polar factor R = U·Wᵀ of a d×d matrix M = U·Σ·Wᵀ (row-major), with tr Σ. Σ and W come
 * from the eigen-decomposition of MᵀM; U's columns are M·w/σ, re-orthonormalised (Gram–Schmidt, twice)
 * from the largest σ down, which also repairs the columns whose σ was too small to divide by; a rank-
 * deficient M (fewer independent pairs than dimensions) gets U completed from the standard basis.
 */
export function polarFactor(M: Float64Array, d: number): { R: Float64Array; traceSigma: number } {
  // MᵀM from Mᵀ's rows, so every product walks contiguous memory
  const MT = new Float64Array(d * d);
  for (let r = 0; r < d; r++) for (let c = 0; c < d; c++) MT[c * d + r] = M[r * d + c]!;
  const S = new Float64Array(d * d);
  for (let i = 0; i < d; i++)
    for (let j = i; j < d; j++) {
      let s = 0;
      for (let k = 0; k < d; k++) s += MT[i * d + k]! * MT[j * d + k]!;
      S[i * d + j] = s;
      S[j * d + i] = s;
    }
  const { values, vectors: W } = symmetricEigen(S, d);
  const sigMax = Math.sqrt(Math.max(0, values[d - 1]!));
  const U = new Float64Array(d * d); // column j (of the j-th largest σ) at U[j·d …], i.e. column-major
  const order: number[] = [];
  let traceSigma = 0;
  for (let c = d - 1; c >= 0; c--) order.push(c);
  const u = new Float64Array(d);
  const covered = new Float64Array(d); // Σ over U's columns of u[r]²: how much of e_r they already span
  order.forEach((c, j) => {
    const w = W.subarray(c * d, c * d + d);
    const sigma = Math.sqrt(Math.max(0, values[c]!));
    traceSigma += sigma;
    // below ~√ε·σmax, σ² from MᵀM carries no digits: the column is left to the completion
    const usable = sigma > 1e-7 * sigMax && sigma > 0;
    for (let r = 0; r < d; r++) {
      let s = 0;
      if (usable) for (let k = 0; k < d; k++) s += M[r * d + k]! * w[k]!;
      u[r] = usable ? s / sigma : 0;
    }
    if (!orthonormalise(u, U, j, d)) {
      // the standard basis vector least covered by the columns so far: with j < d orthonormal columns its
      // residual is at least √((d − j)/d), so one try always succeeds (and the completion stays O(d³))
      let basis = 0;
      for (let r = 1; r < d; r++) if (covered[r]! < covered[basis]!) basis = r;
      u.fill(0);
      u[basis] = 1;
      if (!orthonormalise(u, U, j, d)) throw new Error('polarFactor: could not complete the basis');
    }
    for (let r = 0; r < d; r++) covered[r]! += u[r]! * u[r]!;
    U.set(u, j * d);
  });
  // R = Σ_j u_j w_jᵀ
  const R = new Float64Array(d * d);
  order.forEach((c, j) => {
    const uj = U.subarray(j * d, j * d + d);
    const wj = W.subarray(c * d, c * d + d);
    for (let r = 0; r < d; r++) {
      const ur = uj[r]!;
      if (ur === 0) continue;
      const row = r * d;
      for (let k = 0; k < d; k++) R[row + k]! += ur * wj[k]!;
    }
  });
  return { R, traceSigma };
}

function norm(u: Float64Array): number {
  let s = 0;
  for (let r = 0; r < u.length; r++) s += u[r]! * u[r]!;
  return Math.sqrt(s);
}

/** Makes u orthonormal to the first `count` columns of U (column-major); false when nothing of it is left. */
function orthonormalise(u: Float64Array, U: Float64Array, count: number, d: number): boolean {
  const n0 = norm(u);
  if (n0 === 0) return false;
  // a second pass only when the first removed much of u ("twice is enough", Kahan–Parlett): M·w/σ is
  // already nearly orthogonal to the columns before it, so usually one pass does
  for (let pass = 0, before = n0; pass < 2; pass++) {
    for (let j = 0; j < count; j++) {
      const o = j * d;
      let dot = 0;
      for (let r = 0; r < d; r++) dot += U[o + r]! * u[r]!;
      for (let r = 0; r < d; r++) u[r]! -= dot * U[o + r]!;
    }
    const after = norm(u);
    if (after > 0.7 * before) break;
    before = after;
  }
  const n1 = norm(u);
  if (n1 < 1e-6 * n0 || n1 === 0) return false;
  for (let r = 0; r < d; r++) u[r]! /= n1;
  return true;
}

/** Solves (G + λI)·W = C for W (G dx×dx SPD, C dx×dy, both row-major) by Cholesky. */
function ridgeSolve(G: Float64Array, C: Float64Array, dx: number, dy: number, lambda: number): Float64Array {
  const Lc = Float64Array.from(G);
  for (let i = 0; i < dx; i++) Lc[i * dx + i]! += lambda;
  // in-place Cholesky, lower triangle: A = L·Lᵀ
  for (let j = 0; j < dx; j++) {
    const rj = j * dx;
    let s = Lc[rj + j]!;
    for (let k = 0; k < j; k++) s -= Lc[rj + k]! * Lc[rj + k]!;
    if (!(s > 0)) throw new Error('fitVersionMap: the ridge system is not positive definite (raise opts.ridge)');
    const ljj = Math.sqrt(s);
    Lc[rj + j] = ljj;
    for (let i = j + 1; i < dx; i++) {
      const ri = i * dx;
      let t = Lc[ri + j]!;
      for (let k = 0; k < j; k++) t -= Lc[ri + k]! * Lc[rj + k]!;
      Lc[ri + j] = t / ljj;
    }
  }
  const W = Float64Array.from(C);
  // forward: L·Z = C, then back: Lᵀ·W = Z, all dy right-hand sides at once (rows of W)
  for (let i = 0; i < dx; i++) {
    const ri = i * dx;
    for (let k = 0; k < i; k++) {
      const l = Lc[ri + k]!;
      if (l === 0) continue;
      for (let c = 0; c < dy; c++) W[i * dy + c]! -= l * W[k * dy + c]!;
    }
    const lii = Lc[ri + i]!;
    for (let c = 0; c < dy; c++) W[i * dy + c]! /= lii;
  }
  for (let i = dx - 1; i >= 0; i--) {
    for (let k = i + 1; k < dx; k++) {
      const l = Lc[k * dx + i]!;
      if (l === 0) continue;
      for (let c = 0; c < dy; c++) W[i * dy + c]! -= l * W[k * dy + c]!;
    }
    const lii = Lc[i * dx + i]!;
    for (let c = 0; c < dy; c++) W[i * dy + c]! /= lii;
  }
  return W;
}

interface MapState {
  kind: VersionMapKind;
  fromDim: number;
  toDim: number;
  pairs: number;
  fitError: number;
  /** y = x·linear + bias; linear is fromDim×toDim, row-major */
  linear: Float64Array;
  bias: Float64Array;
  /** what it was fitted with, for the record */
  params: { scale?: number; scaleMode?: string; ridge?: number };
}

function makeMap(s: MapState): VersionMap {
  const { fromDim, toDim, linear, bias } = s;
  return {
    kind: s.kind,
    fromDim,
    toDim,
    pairs: s.pairs,
    fitError: s.fitError,
    apply(v: Float32Array): Float32Array {
      if (!(v instanceof Float32Array) || v.length !== fromDim)
        throw new Error(
          `VersionMap.apply: expected a Float32Array of dimension ${fromDim}, got ${v instanceof Float32Array ? v.length : typeof v}`,
        );
      const out = Float64Array.from(bias);
      for (let i = 0; i < fromDim; i++) {
        const x = v[i]!;
        if (x === 0) continue;
        const row = i * toDim;
        for (let j = 0; j < toDim; j++) out[j]! += x * linear[row + j]!;
      }
      return Float32Array.from(out);
    },
    toJSON() {
      return {
        format: FORMAT,
        v: 1,
        kind: s.kind,
        fromDim,
        toDim,
        pairs: s.pairs,
        fitError: s.fitError,
        ...s.params,
        // float64 little-endian, base64: exact, and a third the size of the numbers as JSON text
        linear: f64ToBase64(linear),
        bias: f64ToBase64(bias),
      };
    },
  };
}

/** Fits the map from `from[i]` (old space) to `to[i]` (new space), the same item's two vectors. */
export function fitVersionMap(from: Float32Array[], to: Float32Array[], opts: VersionMapOptions = {}): VersionMap {
  const { n, dx, dy } = checkPairs(from, to);
  const ridge = opts.ridge ?? DEFAULT_RIDGE;
  if (!Number.isFinite(ridge) || ridge < 0) throw new Error(`fitVersionMap: opts.ridge must be a finite number ≥ 0, got ${ridge}`);
  const scaleMode = opts.scale ?? 'ls';
  if (!['ls', 'norm', 'none'].includes(scaleMode)) throw new Error(`fitVersionMap: opts.scale must be ls, norm or none, got ${scaleMode}`);
  const want = opts.kind ?? 'auto';
  if (!['auto', 'procrustes', 'ridge'].includes(want))
    throw new Error(`fitVersionMap: opts.kind must be auto, procrustes or ridge, got ${want}`);
  if (want === 'procrustes' && dx !== dy) throw new Error(`fitVersionMap: Procrustes needs equal dimensions, got ${dx} → ${dy}`);
  // centering spends one pair, so a rotation is pinned down only with more pairs than dimensions
  const kind: VersionMapKind = want === 'auto' ? (dx === dy && n > dx ? 'procrustes' : 'ridge') : want;
  const mx = mean(from, dx);
  const my = mean(to, dy);
  const { C, G, xx, yy } = moments(from, to, mx, my, kind === 'ridge');
  if (xx === 0) throw new Error(`fitVersionMap: the ${n} from vectors are all the same; a map needs at least two different ones`);

  let linear: Float64Array;
  let residual: number;
  let params: MapState['params'];
  if (kind === 'procrustes') {
    const { R, traceSigma } = polarFactor(C, dx);
    const scale = scaleMode === 'none' ? 1 : scaleMode === 'norm' ? Math.sqrt(yy / xx) : traceSigma / xx;
    linear = R;
    for (let k = 0; k < linear.length; k++) linear[k]! *= scale;
    // ‖Yc − s·Xc·R‖² = ‖Yc‖² − 2s·tr(RᵀC) + s²‖Xc‖², with tr(RᵀC) = tr Σ
    residual = yy - 2 * scale * traceSigma + scale * scale * xx;
    params = { scale, scaleMode };
  } else {
    const lambda = (ridge * xx) / dx;
    linear = ridgeSolve(G!, C, dx, dy, lambda);
    // ‖Yc − Xc·W‖² = ‖Yc‖² − 2 tr(WᵀC) + tr(WᵀGW)
    let wc = 0;
    let wgw = 0;
    const gw = new Float64Array(dy);
    for (let i = 0; i < dx; i++) {
      gw.fill(0);
      for (let k = 0; k < dx; k++) {
        const g = G![i * dx + k]!;
        if (g === 0) continue;
        for (let c = 0; c < dy; c++) gw[c]! += g * linear[k * dy + c]!;
      }
      for (let c = 0; c < dy; c++) {
        wc += linear[i * dy + c]! * C[i * dy + c]!;
        wgw += linear[i * dy + c]! * gw[c]!;
      }
    }
    residual = yy - 2 * wc + wgw;
    params = { ridge };
  }
  const bias = Float64Array.from(my);
  for (let i = 0; i < dx; i++) for (let j = 0; j < dy; j++) bias[j]! -= mx[i]! * linear[i * dy + j]!;
  // the closed forms cancel to rounding error when the fit is exact
  const fitError = yy > 0 ? Math.max(0, residual) / yy : 0;
  return makeMap({ kind, fromDim: dx, toDim: dy, pairs: n, fitError, linear, bias, params });
}

function f64ToBase64(a: Float64Array): string {
  const dv = new DataView(new ArrayBuffer(a.length * 8));
  for (let i = 0; i < a.length; i++) dv.setFloat64(i * 8, a[i]!, true);
  return Buffer.from(dv.buffer).toString('base64');
}

function base64ToF64(s: unknown, length: number, field: string): Float64Array {
  if (typeof s !== 'string') throw new Error(`versionMapFromJSON: ${field} must be a base64 string`);
  const buf = Buffer.from(s, 'base64');
  if (buf.length !== length * 8) throw new Error(`versionMapFromJSON: ${field} holds ${buf.length / 8} numbers, expected ${length}`);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const out = new Float64Array(length);
  for (let i = 0; i < length; i++) {
    out[i] = dv.getFloat64(i * 8, true);
    if (!Number.isFinite(out[i]!)) throw new Error(`versionMapFromJSON: ${field}[${i}] is not finite`);
  }
  return out;
}

/** The map `toJSON()` wrote (e.g. read back from a jsonb column); checks every field. */
export function versionMapFromJSON(j: unknown): VersionMap {
  if (typeof j !== 'object' || j === null || Array.isArray(j)) throw new Error('versionMapFromJSON: expected an object');
  const o = j as Record<string, unknown>;
  if (o.format !== FORMAT) throw new Error(`versionMapFromJSON: format must be "${FORMAT}", got ${JSON.stringify(o.format)}`);
  if (o.v !== 1) throw new Error(`versionMapFromJSON: unsupported version ${JSON.stringify(o.v)} (this code reads 1)`);
  if (o.kind !== 'procrustes' && o.kind !== 'ridge')
    throw new Error(`versionMapFromJSON: kind must be procrustes or ridge, got ${JSON.stringify(o.kind)}`);
  const posInt = (k: string): number => {
    const v = o[k];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new Error(`versionMapFromJSON: ${k} must be a positive integer`);
    return v;
  };
  const fromDim = posInt('fromDim');
  const toDim = posInt('toDim');
  const pairs = posInt('pairs');
  if (o.kind === 'procrustes' && fromDim !== toDim) throw new Error('versionMapFromJSON: a procrustes map has fromDim === toDim');
  if (typeof o.fitError !== 'number' || !Number.isFinite(o.fitError) || o.fitError < 0)
    throw new Error('versionMapFromJSON: fitError must be a finite number ≥ 0');
  const params: MapState['params'] = {};
  if (typeof o.scale === 'number') params.scale = o.scale;
  if (typeof o.scaleMode === 'string') params.scaleMode = o.scaleMode;
  if (typeof o.ridge === 'number') params.ridge = o.ridge;
  return makeMap({
    kind: o.kind,
    fromDim,
    toDim,
    pairs,
    fitError: o.fitError,
    linear: base64ToF64(o.linear, fromDim * toDim, 'linear'),
    bias: base64ToF64(o.bias, toDim, 'bias'),
    params,
  });
}
