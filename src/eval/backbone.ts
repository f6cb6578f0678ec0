// What every warm-up method needs from the frozen "existing recommender".
import type { tf } from './tf.js';

export interface Batch {
  users: tf.Tensor1D; // int32 user rows (id - 1)
  items: tf.Tensor1D; // int32 item rows (id - 1)
  labels: tf.Tensor1D; // float32 0/1
}

export interface Backbone {
  readonly kind: 'dot' | 'deepfm';
  readonly dim: number;
  readonly nUsers: number;
  readonly nItems: number;
  /** trained item-id embeddings [nItems, dim]; only established rows are meaningful */
  readonly itemEmb: tf.Tensor2D;
  /** trained user-id embeddings [nUsers, dim] */
  readonly userEmb: tf.Tensor2D;
  /**
   * logit per row, with each row's item-id embedding supplied (differentiable in `itemRowEmb`);
   * `userRowEmb` overrides the user-id embeddings (out-of-fold user vectors, see crossfit.ts)
   */
  logits(itemRowEmb: tf.Tensor2D, users: tf.Tensor1D, items: tf.Tensor1D, userRowEmb?: tf.Tensor2D): tf.Tensor1D;
  dispose(): void;
}

export interface BackboneOpts {
  seed: number;
  dim: number;
  epochs: number;
  lr: number;
  batch: number;
  l2: number;
}
