// Out-of-fold user vectors for EmerFlow's training data on the DeepFM backbone. (For the dot
// backbone the model does this itself: trainEmerFlow's crossFitContexts, src/model/crossfit.ts,
// as the service runs it; DeepFM's context rows are built by the caller, so per-fold rows are too.)
//
// Why: the backbone's user vectors were fitted on the established items' ratings, so when the
// meta-learner replays an established item's early life, the "future" interactions it is scored on
// are in-sample for those vectors. It then learns to trust a few interactions far more than pays
// off on emerging items, whose ratings the backbone never saw (seen on ML-100k: learned step sizes
// ~15 vs a best plain step of 1–3). Here the established items are split into folds; for each fold
// the user vectors are refitted with the backbone's item table frozen (so they stay in the same
// space) on every rating except that fold's. A fold's items are then trained against user vectors
// that never saw their ratings — as emerging items are served.
import { tf, lookup } from './tf.js';
import type { Backbone } from './backbone.js';
import type { Row } from './protocol.js';
import { forBatches } from './batches.js';
import { mulberry32, shuffled } from '../model/prng.js';

export interface CrossFitOpts {
  folds: number;
  epochs: number;
  lr: number;
  batch: number;
  l2: number;
  seed: number;
}
export interface CrossFitUsers {
  contexts: Float32Array[];
  foldOf: Map<number, number>;
  nUsers: number;
}

export async function crossFitUsers(
  bb: Backbone,
  trainBase: Row[],
  established: number[],
  o: CrossFitOpts,
  onProgress?: (f: number) => void,
): Promise<CrossFitUsers> {
  const foldOf = new Map<number, number>();
  shuffled(established, mulberry32(o.seed * 313 + 7)).forEach((item, j) => foldOf.set(item, j % o.folds));
  const contexts: Float32Array[] = [];
  for (let f = 0; f < o.folds; f++) {
    const rows = trainBase.filter((r) => foldOf.get(r.item) !== f);
    const U = tf.variable(tf.randomNormal([bb.nUsers, bb.dim], 0, 0.1, 'float32', o.seed * 17 + f));
    const opt = tf.train.adam(o.lr);
    await forBatches(
      rows,
      o.batch,
      o.epochs,
      mulberry32(o.seed * 131 + f),
      (b) => {
        opt.minimize(
          () => {
            const u = lookup(U as unknown as tf.Tensor2D, b.users);
            const logits = bb.logits(tf.gather(bb.itemEmb, b.items) as tf.Tensor2D, b.users, b.items, u);
            return tf.add(tf.losses.sigmoidCrossEntropy(b.labels, logits), tf.mul(o.l2, tf.mean(tf.sum(tf.square(u), 1)))) as tf.Scalar;
          },
          false,
          [U],
        );
      },
      (e) => onProgress?.((f + (e + 1) / o.epochs) / o.folds),
    );
    opt.dispose();
    const arr = U.arraySync() as number[][];
    for (const row of arr) contexts.push(Float32Array.from(row));
    U.dispose();
  }
  return { contexts, foldOf, nUsers: bb.nUsers };
}
