// The map between two versions of a space: on pairs made by a known map, Procrustes recovers a
// rotation (a reflection included) with its scale and offset, ridge a general linear map between
// different dimensions; the reported fitError is the residual it claims; the JSON form reads back
// to the same map; bad input is refused with a message that says what is wrong.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fitVersionMap, versionMapFromJSON } from '../../src/model/version-map.js';
import { symmetricEigen, polarFactor } from '../../src/model/linalg.js';
import { makeRng, type Rng } from '../../src/model/prng.js';

const gauss = (rng: Rng, n: number) => Float32Array.from({ length: n }, () => rng.normal());

/** A random orthogonal d×d matrix (row-major): Gram–Schmidt on Gaussian rows. */
function randomOrthogonal(rng: Rng, d: number): Float64Array {
  const Q = new Float64Array(d * d);
  for (let i = 0; i < d; i++) {
    const v = Float64Array.from(gauss(rng, d));
    for (let j = 0; j < i; j++) {
      let dot = 0;
      for (let k = 0; k < d; k++) dot += v[k]! * Q[j * d + k]!;
      for (let k = 0; k < d; k++) v[k]! -= dot * Q[j * d + k]!;
    }
    const n = Math.hypot(...v);
    for (let k = 0; k < d; k++) Q[i * d + k] = v[k]! / n;
  }
  return Q;
}

/** y = x·A + b for row vectors x (A is dx×dy, row-major), in float64 then stored as float32 */
const linear = (x: Float32Array, A: Float64Array, b: Float64Array): Float32Array => {
  const dy = b.length;
  const y = Float64Array.from(b);
  for (let i = 0; i < x.length; i++) for (let j = 0; j < dy; j++) y[j]! += x[i]! * A[i * dy + j]!;
  return Float32Array.from(y);
};

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
};

test('symmetricEigen: V·Λ·Vᵀ gives the matrix back, V is orthonormal, values ascend', () => {
  const rng = makeRng(3);
  for (const n of [1, 2, 7, 40]) {
    const A = new Float64Array(n * n);
    for (let i = 0; i < n; i++)
      for (let j = i; j < n; j++) {
        const v = rng.normal();
        A[i * n + j] = v;
        A[j * n + i] = v;
      }
    const { values, vectors: V } = symmetricEigen(A, n);
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++) {
        let a = 0;
        let o = 0;
        for (let k = 0; k < n; k++) {
          a += V[k * n + i]! * values[k]! * V[k * n + j]!;
          o += V[i * n + k]! * V[j * n + k]!;
        }
        assert.ok(Math.abs(a - A[i * n + j]!) < 1e-10, `n=${n} A[${i},${j}]`);
        assert.ok(Math.abs(o - (i === j ? 1 : 0)) < 1e-10, `n=${n} orthonormal ${i},${j}`);
      }
    for (let k = 1; k < n; k++) assert.ok(values[k]! >= values[k - 1]!);
  }
});

test('polarFactor of a rank-deficient matrix is still orthogonal, and RᵀM is symmetric', () => {
  const rng = makeRng(4);
  const d = 12;
  // rank 3: M = a·bᵀ summed three times
  const M = new Float64Array(d * d);
  for (let r = 0; r < 3; r++) {
    const a = gauss(rng, d);
    const b = gauss(rng, d);
    for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) M[i * d + j]! += a[i]! * b[j]!;
  }
  const { R } = polarFactor(M, d);
  for (let i = 0; i < d; i++)
    for (let j = 0; j < d; j++) {
      let o = 0;
      let s1 = 0;
      let s2 = 0;
      for (let k = 0; k < d; k++) {
        o += R[k * d + i]! * R[k * d + j]!;
        s1 += R[k * d + i]! * M[k * d + j]!;
        s2 += R[k * d + j]! * M[k * d + i]!;
      }
      assert.ok(Math.abs(o - (i === j ? 1 : 0)) < 1e-9, `RᵀR[${i},${j}] = ${o}`);
      assert.ok(Math.abs(s1 - s2) < 1e-8, `RᵀM not symmetric at ${i},${j}`);
    }
});

test('Procrustes recovers a known rotation (with a reflection), scale and offset', () => {
  const rng = makeRng(1);
  const d = 16;
  const Q = randomOrthogonal(rng, d);
  for (let k = 0; k < d; k++) Q[k]! *= -1; // det −1: independently trained spaces may be mirrored
  const scale = 2.5;
  const A = Q.map((q) => q * scale);
  const b = Float64Array.from(gauss(rng, d));
  const from = Array.from({ length: 200 }, () => gauss(rng, d));
  const to = from.map((x) => linear(x, A, b));
  const map = fitVersionMap(from, to);
  assert.equal(map.kind, 'procrustes');
  assert.equal(map.pairs, 200);
  assert.deepEqual([map.fromDim, map.toDim], [16, 16]);
  assert.ok(map.fitError < 1e-10, `fitError ${map.fitError}`);
  const x = gauss(rng, d); // not one of the pairs
  assert.ok(maxAbsDiff(map.apply(x), linear(x, A, b)) < 1e-4);
  const j = map.toJSON() as { scale: number };
  assert.ok(Math.abs(j.scale - scale) < 1e-4, `scale ${j.scale}`);
});

test("Procrustes' scale: least squares finds the signal's, 'norm' matches the noisy spread, 'none' is a pure rotation", () => {
  const rng = makeRng(2);
  const d = 8;
  const Q = randomOrthogonal(rng, d);
  const from = Array.from({ length: 400 }, () => gauss(rng, d));
  const to = from.map((x) => {
    const y = linear(x, Q, new Float64Array(d));
    return y.map((v) => v + 0.5 * rng.normal());
  });
  const s = (mode: 'ls' | 'norm' | 'none') => (fitVersionMap(from, to, { scale: mode }).toJSON() as { scale: number }).scale;
  assert.equal(s('none'), 1);
  assert.ok(Math.abs(s('ls') - 1) < 0.05, `ls ${s('ls')}`); // the signal's own scale
  assert.ok(s('norm') > 1.05, `norm ${s('norm')}`); // ≈ √(1 + 0.25): the noise inflates the new spread
  // the least-squares scale is the one with the smallest residual
  const err = (mode: 'ls' | 'norm' | 'none') => fitVersionMap(from, to, { scale: mode }).fitError;
  assert.ok(err('ls') <= err('none') && err('ls') <= err('norm'));
});

test('fitError is the residual over the spread of the new vectors, as measured directly', () => {
  const rng = makeRng(5);
  const d = 6;
  const Q = randomOrthogonal(rng, d);
  const from = Array.from({ length: 300 }, () => gauss(rng, d));
  const to = from.map((x) => linear(x, Q, new Float64Array(d)).map((v) => v + 0.3 * rng.normal()));
  for (const kind of ['procrustes', 'ridge'] as const) {
    const map = fitVersionMap(from, to, { kind });
    const my = new Float64Array(d);
    for (const y of to) for (let k = 0; k < d; k++) my[k]! += y[k]! / to.length;
    let res = 0;
    let tot = 0;
    from.forEach((x, i) => {
      const p = map.apply(x);
      for (let k = 0; k < d; k++) {
        res += (to[i]![k]! - p[k]!) ** 2;
        tot += (to[i]![k]! - my[k]!) ** 2;
      }
    });
    assert.ok(Math.abs(map.fitError - res / tot) < 1e-5, `${kind}: ${map.fitError} vs ${res / tot}`);
    // signal variance 1, noise 0.09 per coordinate: about 0.09/1.09 is left unexplained
    assert.ok(map.fitError > 0.05 && map.fitError < 0.12, `${kind} fitError ${map.fitError}`);
  }
});

test('ridge recovers a known linear map between different dimensions', () => {
  const rng = makeRng(6);
  const dx = 10;
  const dy = 4;
  const A = Float64Array.from(gauss(rng, dx * dy));
  const b = Float64Array.from(gauss(rng, dy));
  const from = Array.from({ length: 100 }, () => gauss(rng, dx));
  const to = from.map((x) => linear(x, A, b));
  const map = fitVersionMap(from, to, { ridge: 1e-9 });
  assert.equal(map.kind, 'ridge');
  assert.deepEqual([map.fromDim, map.toDim], [10, 4]);
  assert.ok(map.fitError < 1e-8, `fitError ${map.fitError}`);
  const x = gauss(rng, dx);
  assert.ok(maxAbsDiff(map.apply(x), linear(x, A, b)) < 1e-4);
  // the default ridge (1e-3 of the mean variance) costs little on a map this well determined
  assert.ok(fitVersionMap(from, to).fitError < 1e-4);
});

test('too few pairs to pin a rotation: ridge, which still reproduces the pairs it saw', () => {
  const rng = makeRng(7);
  const d = 16;
  const from = Array.from({ length: 10 }, () => gauss(rng, d));
  const to = from.map(() => gauss(rng, d));
  const map = fitVersionMap(from, to, { ridge: 1e-8 });
  assert.equal(map.kind, 'ridge');
  assert.ok(map.fitError < 1e-6, `fitError ${map.fitError}`);
  assert.ok(maxAbsDiff(map.apply(from[3]!), to[3]!) < 1e-3);
});

test('JSON round trip (through text, as a jsonb column stores it) gives the same map', () => {
  const rng = makeRng(8);
  for (const [dx, dy] of [
    [12, 12],
    [12, 5],
  ] as const) {
    const from = Array.from({ length: 60 }, () => gauss(rng, dx));
    const to = from.map(() => gauss(rng, dy));
    const map = fitVersionMap(from, to);
    const back = versionMapFromJSON(JSON.parse(JSON.stringify(map.toJSON())));
    assert.deepEqual([back.kind, back.fromDim, back.toDim, back.pairs, back.fitError], [map.kind, dx, dy, 60, map.fitError]);
    const x = gauss(rng, dx);
    assert.deepEqual(back.apply(x), map.apply(x));
    assert.deepEqual(back.toJSON(), map.toJSON());
  }
});

test('bad input is refused with a message naming the problem', () => {
  const v = (...xs: number[]) => Float32Array.from(xs);
  assert.throws(() => fitVersionMap([], []), /no pairs/);
  assert.throws(() => fitVersionMap([v(1, 2)], [v(1, 2), v(3, 4)]), /from has 1 vectors, to has 2/);
  assert.throws(() => fitVersionMap([v(1, 2), v(1, 2, 3)], [v(1), v(2)]), /from\[1\] has dimension 3/);
  assert.throws(() => fitVersionMap([v(1, 2), v(3, 4)], [v(1), v(2, 3)]), /to\[1\] has dimension 2/);
  assert.throws(() => fitVersionMap([v(1, NaN), v(3, 4)], [v(1), v(2)]), /from\[0\]\[1\] is not finite/);
  assert.throws(() => fitVersionMap([v(1, 2), v(1, 2)], [v(1), v(2)]), /all the same/);
  assert.throws(() => fitVersionMap([v(1, 2), v(3, 4)], [v(1), v(2)], { ridge: -1 }), /opts.ridge/);
  assert.throws(() => fitVersionMap([v(1, 2), v(3, 4)], [v(1), v(2)], { kind: 'procrustes' }), /equal dimensions/);
  assert.throws(() => fitVersionMap([[1, 2] as unknown as Float32Array], [v(1)]), /not two Float32Arrays/);
  const map = fitVersionMap([v(1, 2), v(3, 5), v(0, 1)], [v(1), v(2), v(0)]);
  assert.throws(() => map.apply(v(1, 2, 3)), /dimension 2, got 3/);
  const j = map.toJSON() as Record<string, unknown>;
  assert.throws(() => versionMapFromJSON(null), /expected an object/);
  assert.throws(() => versionMapFromJSON({ ...j, format: 'x' }), /format/);
  assert.throws(() => versionMapFromJSON({ ...j, v: 2 }), /unsupported version 2/);
  assert.throws(() => versionMapFromJSON({ ...j, toDim: 3 }), /linear holds 2 numbers, expected 6/);
  assert.throws(() => versionMapFromJSON({ ...j, fromDim: 0 }), /fromDim must be a positive integer/);
  assert.throws(() => versionMapFromJSON({ ...j, kind: 'affine' }), /kind must be/);
});

test('d = 256 from 3,000 pairs fits in seconds and recovers the rotation', () => {
  const rng = makeRng(9);
  const d = 256;
  const Q = randomOrthogonal(rng, d);
  const from = Array.from({ length: 3000 }, () => gauss(rng, d));
  const to = from.map((x) => linear(x, Q, new Float64Array(d)));
  const t0 = performance.now();
  const map = fitVersionMap(from, to);
  const ms = performance.now() - t0;
  assert.equal(map.kind, 'procrustes');
  assert.ok(map.fitError < 1e-10, `fitError ${map.fitError}`);
  const x = gauss(rng, d);
  assert.ok(maxAbsDiff(map.apply(x), linear(x, Q, new Float64Array(d))) < 1e-4);
  // about 0.5 s here on one core; the bound only catches an accidental O(n·d³) or O(d⁴)
  assert.ok(ms < 20_000, `fit took ${ms.toFixed(0)} ms`);
});
