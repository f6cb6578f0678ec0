// How the recommender turns (item embedding, context) into a score. Kept an
// interface so a recommender whose score is not a dot product can plug in its
// own frozen TF.js model; it only has to be differentiable in `items`.
import { tf } from './tf.js';

export interface Scorer {
  readonly name: string;
  /** Row i of items is scored against row i of ctx; returns logits [N]. */
  logits(items: tf.Tensor2D, ctx: tf.Tensor2D): tf.Tensor1D;
  /**
   * True when logits(v, u) = u·v. Lets training use the closed-form inner
   * gradient and lets the runtime refine in plain JS (microseconds, no kernels).
   */
  readonly dotProduct?: boolean;
}

export const dotScorer: Scorer = {
  name: 'dot',
  dotProduct: true,
  logits: (items, ctx) => tf.sum(tf.mul(items, ctx), 1),
};

/**
 * Scores each of B items against its own n contexts: E [B,d], C [B,n,dc] → [B,n].
 * broadcastTo rather than tile: tile's gradient is a loop of slices (slow),
 * broadcastTo's is one sum.
 */
export function scoreEach(scorer: Scorer, E: tf.Tensor2D, C: tf.Tensor3D): tf.Tensor2D {
  const [B, n, dc] = C.shape;
  const d = E.shape[1];
  if (scorer.dotProduct) return tf.reshape(tf.matMul(C, tf.reshape(E, [B, d, 1])), [B, n]);
  const rows = tf.reshape(tf.broadcastTo(tf.reshape(E, [B, 1, d]), [B, n, d]), [B * n, d]) as tf.Tensor2D;
  return tf.reshape(scorer.logits(rows, tf.reshape(C, [B * n, dc]) as tf.Tensor2D), [B, n]);
}
