// Stage 1: fit align(r) on established items. Loss = the scorer's logistic
// loss of align(r) on all the item's interactions (users frozen) + a
// normalised squared distance to the base embedding + weight decay, so that
// aligned embeddings score well, not only lie close. Full-batch Adam with
// input dropout; early stopping on held-out items restores the best weights.
import { tf } from './tf.js';
import { alignForward, l2Penalty } from './aligner.js';
import { scoreEach } from './scorer.js';
import type { TrainContext } from './train-types.js';
import { sampledInteractions, type PreparedItem } from './tasks.js';
import { dropoutMask, snapshot, assign, throwIfAborted, readScalar, withPrefix, type Vars } from './vars.js';
import { concat } from './plain-refine.js';
import type { Rng } from './prng.js';

interface StageData {
  R: tf.Tensor2D;
  base: tf.Tensor2D;
  C: tf.Tensor3D; // [items, L, ctxDim]
  Y: tf.Tensor2D; // [items, L]
  M: tf.Tensor2D; // [items, L] mask
}

function stageData(items: PreparedItem[], c: TrainContext, cap: number, rng: Rng): StageData {
  const { ctxDim } = c;
  const s = sampledInteractions(items, cap, ctxDim, rng);
  return {
    R: tf.tensor2d(concat(items.map((i) => i.r)), [items.length, c.inputDim]),
    base: tf.tensor2d(concat(items.map((i) => i.base)), [items.length, c.dim]),
    C: tf.tensor3d(s.ctx, [items.length, s.L, ctxDim]),
    Y: tf.tensor2d(s.y, [items.length, s.L]),
    M: tf.tensor2d(s.mask, [items.length, s.L]),
  };
}

function disposeStage(d: StageData): void {
  tf.dispose([d.R, d.base, d.C, d.Y, d.M]);
}

/** Loss terms of the aligner on a set of items; `rMask` applies input dropout. */
function alignLoss(vars: Vars, d: StageData, c: TrainContext, rMask?: tf.Tensor2D) {
  const { scorer, h, baseScale } = c;
  const R = rMask ? (tf.mul(d.R, rMask) as tf.Tensor2D) : d.R;
  const A = alignForward(vars, R);
  const z = scoreEach(scorer, A, d.C);
  const per = tf.mul(tf.sub(tf.softplus(z), tf.mul(d.Y, z)), d.M);
  const logistic = tf.div(tf.sum(per), tf.sum(d.M)) as tf.Scalar;
  const mse = tf.div(tf.mean(tf.sum(tf.square(tf.sub(A, d.base)), 1)), baseScale) as tf.Scalar;
  return { logistic, mse, total: tf.add(logistic, tf.mul(mse, h.mseWeight)) as tf.Scalar };
}

export interface AlignStageResult {
  epochs: number;
  bestEpoch: number;
  trainLoss: number;
  valLoss: number;
  valLogistic: number;
  valMse: number;
  flops: number;
}

/** Fits the aligner's weights in `vars` on `c.train`, early-stopped on `c.val`. */
export function trainAligner(vars: Vars, c: TrainContext, progress: (f: number) => void): AlignStageResult {
  const { train, val, h, rng, signal } = c;
  // Validation keeps one fixed sample so its loss is comparable across epochs.
  const va = val.length ? stageData(val, c, h.alignInteractions, rng) : null;
  let tr: StageData | null = null;
  const opt = tf.train.adam(h.alignLr);
  const alignVars = withPrefix(vars, 'align/');
  const { inputDim, dim } = c;
  const fwd = 2 * train.length * inputDim * (dim + h.hidden) + 4 * train.length * h.alignInteractions * dim;
  let best = { loss: Infinity, epoch: -1, logistic: NaN, mse: NaN, weights: snapshot(vars) };
  let lastTrain = NaN;
  let epoch = 0;
  try {
    for (; epoch < h.alignEpochs; epoch++) {
      throwIfAborted(signal);
      if (tr) disposeStage(tr);
      tr = stageData(train, c, h.alignInteractions, rng);
      const data = tr;
      const mask = h.dropout > 0 ? tf.tensor2d(dropoutMask(train.length, inputDim, h.dropout, rng), [train.length, inputDim]) : undefined;
      const cost = opt.minimize(
        () => tf.add(alignLoss(vars, data, c, mask).total, tf.mul(l2Penalty(vars), h.weightDecay)) as tf.Scalar,
        true,
        alignVars,
      );
      lastTrain = cost ? readScalar(cost) : NaN;
      cost?.dispose();
      mask?.dispose();
      if (va) {
        const v = tf.tidy(() => {
          const t = alignLoss(vars, va, c);
          return { total: readScalar(t.total), logistic: readScalar(t.logistic), mse: readScalar(t.mse) };
        });
        if (v.total < best.loss - 1e-5) best = { loss: v.total, epoch, logistic: v.logistic, mse: v.mse, weights: snapshot(vars) };
        else if (epoch - best.epoch >= h.alignPatience) break;
      }
      progress((epoch + 1) / h.alignEpochs);
    }
    if (va) assign(vars, best.weights);
  } finally {
    if (tr) disposeStage(tr);
    if (va) disposeStage(va);
    opt.dispose();
  }
  return {
    epochs: epoch,
    bestEpoch: va ? best.epoch : epoch - 1,
    trainLoss: lastTrain,
    valLoss: best.loss,
    valLogistic: best.logistic,
    valMse: best.mse,
    flops: 3 * fwd * epoch, // forward + backward ≈ 3× forward
  };
}
