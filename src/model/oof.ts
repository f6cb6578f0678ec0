// Out-of-fold starts for meta-training. The aligner has seen every training
// item (and fits them far better than it will fit a new item), so adapting
// from its in-sample output teaches the rule that adaptation is not needed.
// Cross-fitting fixes that: for each fold, an aligner trained without the
// fold predicts it; the difference to the in-sample prediction is stored on
// the item as `delta` and added to the adaptation start in train-meta.ts.
import { tf } from './tf.js';
import { alignForward, initAligner } from './aligner.js';
import type { TrainContext } from './train-types.js';
import type { PreparedItem } from './tasks.js';
import { trainAligner } from './train-aligner.js';
import { toVariables, disposeVars, throwIfAborted, type Vars } from './vars.js';
import { concat } from './plain-refine.js';
import { shuffle } from './prng.js';

/** align(r) of `items`, row after row ([items.length · dim]). */
function predict(vars: Vars, items: PreparedItem[], inputDim: number): Float32Array {
  // Read outside tidy: tidy walks a returned typed array element by element.
  const out = tf.tidy(() => alignForward(vars, tf.tensor2d(concat(items.map((i) => i.r)), [items.length, inputDim])));
  const flat = Float32Array.from(out.dataSync());
  out.dispose();
  return flat;
}

/** Sets `delta` on every training item (`finalVars` is the in-sample aligner); returns the flops spent. */
export function setOutOfFoldDeltas(finalVars: Vars, c: TrainContext, progress: (f: number) => void): number {
  const { train, h, rng } = c;
  const folds = Math.min(h.folds, train.length);
  if (folds < 2) return 0;
  const order = shuffle([...train], rng);
  const { inputDim, dim } = c;
  let flops = 0;
  for (let f = 0; f < folds; f++) {
    throwIfAborted(c.signal);
    const held = order.filter((_, j) => j % folds === f);
    const rest = order.filter((_, j) => j % folds !== f);
    const vars = toVariables(initAligner(inputDim, dim, h.hidden, c.meanBase, rng));
    try {
      // The fold's aligner trains silently: this stage reports progress per fold.
      flops += trainAligner(vars, { ...c, train: rest }, () => {}).flops;
      const ins = predict(finalVars, held, inputDim);
      const delta = predict(vars, held, inputDim).map((v, j) => v - ins[j]!); // same length as ins
      held.forEach((it, i) => {
        it.delta = delta.slice(i * dim, (i + 1) * dim);
      });
    } finally {
      disposeVars(vars);
    }
    progress((f + 1) / folds);
  }
  return flops;
}
