// Dense linear algebra on row-major Float64Array matrices, in plain JS (no TF.js): the
// symmetric eigen-decomposition, the orthogonal polar factor and a ridge solve by Cholesky
// that model/version-map.ts fits its maps with.

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
export function ridgeSolve(G: Float64Array, C: Float64Array, dx: number, dy: number, lambda: number): Float64Array {
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
