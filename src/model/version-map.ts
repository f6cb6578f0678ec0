// A linear map between two embedding spaces of the same items: when the recommender retrains, its
// new space is unrelated axis by axis to the old one, but items established in both give pairs
// (old vector, new vector) to fit y ≈ μy + (x − μx)·L on. Dot-product recommenders trained with L2
// on both sides are determined up to a rotation, so with an unchanged dimension the map is an
// orthogonal Procrustes rotation times one global scale; otherwise (or with too few pairs to pin a
// rotation) a ridge regression. Pure JS on Float64Array: fitting is one pass over the pairs
// (O(n·d²)) plus O(d³) on d×d matrices; apply is O(d²). No TF.js, so the service can fit and apply
// it anywhere (a promote job, a request handler) without a tensor backend.
import { polarFactor, ridgeSolve } from './linalg.js';

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
