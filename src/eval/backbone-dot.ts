// The `dot` backbone: user and item embeddings, p = sigmoid(u·v) — what the service's dot scorer serves.
import { tf, lookup } from './tf.js';
import type { Backbone, BackboneOpts } from './backbone.js';
import type { Row } from './protocol.js';
import { forBatches } from './batches.js';
import { mulberry32 } from '../model/prng.js';

class DotBackbone implements Backbone {
  readonly kind = 'dot' as const;
  constructor(
    readonly itemEmb: tf.Tensor2D,
    readonly userEmb: tf.Tensor2D,
  ) {}
  get dim(): number {
    return this.itemEmb.shape[1];
  }
  get nUsers(): number {
    return this.userEmb.shape[0];
  }
  get nItems(): number {
    return this.itemEmb.shape[0];
  }
  logits(itemRowEmb: tf.Tensor2D, users: tf.Tensor1D, _items?: tf.Tensor1D, userRowEmb?: tf.Tensor2D): tf.Tensor1D {
    return tf.sum(tf.mul(itemRowEmb, userRowEmb ?? tf.gather(this.userEmb, users)), 1) as tf.Tensor1D;
  }
  dispose(): void {
    this.itemEmb.dispose();
    this.userEmb.dispose();
  }
}

export async function trainDot(
  rows: Row[],
  nUsers: number,
  nItems: number,
  o: BackboneOpts,
  onProgress?: (f: number) => void,
): Promise<Backbone> {
  const U = tf.variable(tf.randomNormal([nUsers, o.dim], 0, 0.1, 'float32', o.seed * 7 + 1));
  const V = tf.variable(tf.randomNormal([nItems, o.dim], 0, 0.1, 'float32', o.seed * 7 + 2));
  const opt = tf.train.adam(o.lr);
  await forBatches(
    rows,
    o.batch,
    o.epochs,
    mulberry32(o.seed * 101 + 5),
    (b) => {
      opt.minimize(
        () => {
          const u = lookup(U as unknown as tf.Tensor2D, b.users);
          const v = lookup(V as unknown as tf.Tensor2D, b.items);
          const loss = tf.losses.sigmoidCrossEntropy(b.labels, tf.sum(tf.mul(u, v), 1));
          // L2 on the rows in the batch (per-example weight decay, as torch's sparse-embedding practice)
          const reg = tf.mul(o.l2, tf.add(tf.mean(tf.sum(tf.square(u), 1)), tf.mean(tf.sum(tf.square(v), 1))));
          return tf.add(loss, reg) as tf.Scalar;
        },
        false,
        [U, V],
      );
    },
    (e) => onProgress?.((e + 1) / o.epochs),
  );
  opt.dispose();
  const bb = new DotBackbone(tf.clone(V) as tf.Tensor2D, tf.clone(U) as tf.Tensor2D);
  U.dispose();
  V.dispose();
  return bb;
}
