// The meta-learned update rule, written twice with the same arithmetic:
// batched TF.js (differentiable, used by training and by non-dot scorers) and
// plain JS for the dot scorer (what the runtime uses: ~S·n·d flops, no kernels).
//
//   e ← e0;  repeat S times:
//     g = (1/n) Σ_j (σ(s(e, c_j)) − y_j) ∂s/∂e + pull/(1+n) · (e − e0)
//     e ← e − exp(logLr) · ((1+n)/(1+K))^slope ⊙ g
//   out = e0 + gate(n) · (e − e0),  gate(n) = σ(a·log(1+n) + b)
//
// K is the phase size the rule was trained at (hyper.k): at n = K the step is
// exp(logLr). With slope > 0 the same number of steps goes further when there
// is more evidence (early stopping that loosens as interactions accumulate).
//
// The pull term is a prior around the aligned embedding whose weight fades as
// interactions accumulate; the gate is how far to trust the adapted embedding
// at a given count. Both, and the per-dimension step sizes, are learned.
import { tf } from './tf.js';
import { scoreEach, type Scorer } from './scorer.js';

export interface MetaTensors {
  logLr: tf.Tensor1D; // [d]
  logPull: tf.Tensor1D; // [1]
  gate: tf.Tensor1D; // [2]: a, b
  lrSlope?: tf.Tensor1D; // [1]; absent = 0 (artifacts from before it existed)
}

export interface MetaValues {
  lr: Float32Array; // exp(logLr)
  pull: number;
  gateA: number;
  gateB: number;
  lrSlope: number;
  /** n at which the step is exactly lr (the training phase size) */
  refN: number;
}

/** log((1+n)/(1+refN)): the step is × exp(slope · this), growing with the number of interactions */
function logCount(n: number, refN: number): number {
  return Math.log((1 + n) / (1 + refN));
}

export function gateOf(a: number, b: number, n: number): number {
  return 1 / (1 + Math.exp(-(a * Math.log1p(n) + b)));
}

/** Blocks gradients through x (first-order MAML): identity forward, zero backward. */
const stopGradient = tf.customGrad(((x: tf.Tensor) => ({
  value: tf.clone(x),
  gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy),
})) as unknown as Parameters<typeof tf.customGrad>[0]) as (x: tf.Tensor) => tf.Tensor;

/** Mean-over-interactions BCE gradient w.r.t. E [B,d] for C [B,n,d], Y [B,n]. */
function lossGrad(E: tf.Tensor2D, C: tf.Tensor3D, Y: tf.Tensor2D, scorer: Scorer): tf.Tensor2D {
  const [B, n] = C.shape;
  const d = E.shape[1];
  if (scorer.dotProduct) {
    // Closed form: (1/n) Cᵀ(σ(C e) − y); cheaper and still twice differentiable.
    const z = tf.reshape(tf.matMul(C, tf.reshape(E, [B, d, 1])), [B, n]);
    const resid = tf.sub(tf.sigmoid(z), Y);
    return tf.reshape(tf.matMul(tf.reshape(tf.div(resid, n), [B, 1, n]), C), [B, d]) as tf.Tensor2D;
  }
  const f = (e: tf.Tensor): tf.Scalar => {
    const z = scoreEach(scorer, e as tf.Tensor2D, C);
    return tf.sum(tf.sub(tf.softplus(z), tf.mul(Y, z))) as tf.Scalar;
  };
  return tf.mul(tf.grad(f)(E), 1 / n) as tf.Tensor2D;
}

export function adaptTf(
  meta: MetaTensors,
  E0: tf.Tensor2D,
  C: tf.Tensor3D,
  Y: tf.Tensor2D,
  opts: { steps: number; scorer: Scorer; firstOrder?: boolean; refN?: number },
): tf.Tensor2D {
  const n = C.shape[1];
  if (n === 0) return E0;
  const logLr = meta.lrSlope ? tf.add(meta.logLr, tf.mul(meta.lrSlope, logCount(n, opts.refN ?? 0))) : meta.logLr;
  const lr = tf.exp(logLr);
  const pull = tf.div(tf.exp(meta.logPull), 1 + n);
  let E = E0;
  for (let s = 0; s < opts.steps; s++) {
    // First order: treat the data gradient as a constant (no Hessian terms);
    // the pull term stays differentiable so its strength is still learned.
    let lg: tf.Tensor = lossGrad(E, C, Y, opts.scorer);
    if (opts.firstOrder) lg = stopGradient(lg);
    const g = tf.add(lg, tf.mul(pull, tf.sub(E, E0)));
    E = tf.sub(E, tf.mul(lr, g)) as tf.Tensor2D;
  }
  const ab = tf.unstack(meta.gate);
  const gate = tf.sigmoid(tf.add(tf.mul(ab[0] as tf.Tensor, Math.log1p(n)), ab[1] as tf.Tensor));
  return tf.add(E0, tf.mul(gate, tf.sub(E, E0))) as tf.Tensor2D;
}

/** Dot-scorer refinement in plain JS; same arithmetic as adaptTf. */
export function refineDotJs(
  meta: MetaValues,
  steps: number,
  e0: Float32Array,
  ctx: Float32Array[],
  labels: ArrayLike<number>,
): Float32Array {
  const n = ctx.length;
  const d = e0.length;
  if (n === 0) return Float32Array.from(e0);
  const e = Float64Array.from(e0);
  const g = new Float64Array(d);
  const pull = meta.pull / (1 + n);
  const scale = Math.exp(meta.lrSlope * logCount(n, meta.refN));
  // Indices in range: j < n = ctx.length = labels.length; k < d, the size of e0, e, g, meta.lr
  // and (for a dot scorer) of every context row.
  for (let s = 0; s < steps; s++) {
    g.fill(0);
    for (let j = 0; j < n; j++) {
      const c = ctx[j]!;
      let z = 0;
      for (let k = 0; k < d; k++) z += c[k]! * e[k]!;
      const r = (1 / (1 + Math.exp(-z)) - labels[j]!) / n;
      for (let k = 0; k < d; k++) g[k] = g[k]! + r * c[k]!;
    }
    for (let k = 0; k < d; k++) {
      const gk = g[k]! + pull * (e[k]! - e0[k]!);
      e[k] = e[k]! - scale * meta.lr[k]! * gk;
    }
  }
  const gate = gateOf(meta.gateA, meta.gateB, n);
  return e0.map((x, k) => x + gate * (e[k]! - x));
}
