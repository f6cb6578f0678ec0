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
