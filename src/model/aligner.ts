// align(r) → e: a linear map plus a small ReLU residual branch, starting from
// the mean base embedding. Linear + small MLP because the training set is
// small (often ~100 established items): the linear path generalises, the
// hidden path picks up interactions between features when data allows.
import { tf } from './tf.js';
import type { NamedWeight } from './artifact.js';
import { normalArray, type Rng } from './prng.js';

export type Params = Record<string, tf.Tensor>;

/** Initial aligner weights; `hidden` 0 gives the linear aligner (no residual branch). */
export function initAligner(inputDim: number, dim: number, hidden: number, meanBase: Float32Array, rng: Rng): Record<string, NamedWeight> {
  const linear: Record<string, NamedWeight> = {
    'align/b': { shape: [dim], values: Float32Array.from(meanBase) },
    'align/Wlin': { shape: [inputDim, dim], values: normalArray(inputDim * dim, 0.01, rng) },
  };
  // With no hidden units the branch's weights are empty and draw nothing from rng.
  if (hidden === 0) return linear;
  return {
    ...linear,
    'align/W1': { shape: [inputDim, hidden], values: normalArray(inputDim * hidden, Math.sqrt(2 / inputDim), rng) },
    'align/b1': { shape: [hidden], values: new Float32Array(hidden) },
    'align/W2': { shape: [hidden, dim], values: normalArray(hidden * dim, 0.01, rng) },
  };
}

/** Weight matrices that weight decay applies to (biases are left free). */
const DECAYED = ['align/Wlin', 'align/W1', 'align/W2'];

export function alignForward(p: Params, r: tf.Tensor2D): tf.Tensor2D {
  const lin = tf.add(tf.matMul(r, p['align/Wlin'] as tf.Tensor2D), p['align/b'] as tf.Tensor1D);
  if (!p['align/W1']) return lin as tf.Tensor2D;
  const h = tf.relu(tf.add(tf.matMul(r, p['align/W1'] as tf.Tensor2D), p['align/b1'] as tf.Tensor1D));
  return tf.add(lin, tf.matMul(h as tf.Tensor2D, p['align/W2'] as tf.Tensor2D)) as tf.Tensor2D;
}

export function l2Penalty(p: Params): tf.Scalar {
  let acc: tf.Scalar = tf.scalar(0);
  for (const name of DECAYED) {
    const w = p[name];
    if (w) acc = tf.add(acc, tf.sum(tf.square(w))) as tf.Scalar;
  }
  return acc;
}
