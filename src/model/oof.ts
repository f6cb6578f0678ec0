// Out-of-fold starts for meta-training. The aligner has seen every training
// item (and fits them far better than it will fit a new item), so adapting
// from its in-sample output teaches the rule that adaptation is not needed.
// Cross-fitting fixes that: for each fold, an aligner trained without the
// fold predicts it; the difference to the in-sample prediction is stored on
// the item as `delta` and added to the adaptation start in train-meta.ts.
import { tf } from './tf.js';
import { alignForward, initAligner } from './aligner.js';
import type { Scorer } from './scorer.js';
import type { Hyper } from './train-types.js';
import type { PreparedItem } from './tasks.js';
import { trainAligner } from './train-aligner.js';
import { toVariables, disposeVars, throwIfAborted, type Vars } from './vars.js';
import { concat } from './plain-refine.js';
import { shuffle, type Rng } from './prng.js';

function predict(vars: Vars, items: PreparedItem[]): Float32Array[] {
  const dim = items[0]!.base.length;
  // Read outside tidy: tidy walks a returned typed array element by element.
  const out = tf.tidy(() => alignForward(vars, tf.tensor2d(concat(items.map((i) => i.r)), [items.length, items[0]!.r.length])));
  const flat = out.dataSync() as Float32Array;
  out.dispose();
  return items.map((_, i) => flat.slice(i * dim, (i + 1) * dim));
}

/** Sets `delta` on every training item; returns the flops spent. */
export function setOutOfFoldDeltas(
  finalVars: Vars,
  train: PreparedItem[],
  val: PreparedItem[],
  ctxDim: number,
  scorer: Scorer,
  h: Hyper,
  baseScale: number,
  meanBase: Float32Array,
  rng: Rng,
  progress: (f: number) => void,
  signal?: AbortSignal,
): number {
  const folds = Math.min(h.folds, train.length);
  if (folds < 2) return 0;
  const order = shuffle(train.map((_, i) => i), rng);
  const inputDim = train[0]!.r.length;
  const dim = train[0]!.base.length;
  let flops = 0;
  for (let f = 0; f < folds; f++) {
    throwIfAborted(signal);
    const held = order.filter((_, j) => j % folds === f).map((i) => train[i] as PreparedItem);
    const rest = order.filter((_, j) => j % folds !== f).map((i) => train[i] as PreparedItem);
    const vars = toVariables(initAligner(inputDim, dim, h.hidden, meanBase, rng));
    if (h.hidden === 0) for (const k of ['align/W1', 'align/b1', 'align/W2']) { vars[k]!.dispose(); delete vars[k]; }
    try {
      flops += trainAligner(vars, rest, val, ctxDim, scorer, h, baseScale, rng, () => {}, signal).flops;
      const oof = predict(vars, held);
      const ins = predict(finalVars, held);
      held.forEach((it, i) => {
        it.delta = oof[i]!.map((v, k) => v - (ins[i]![k] as number));
      });
    } finally {
      disposeVars(vars);
    }
    progress((f + 1) / folds);
  }
  return flops;
}
