// Cold-start shrinkage towards the mean base embedding. With ~100 established items the aligner can
// learn text → embedding patterns that do not carry over to new items, and a validation set of ~15
// items does not always notice (ML-100k/DeepFM seed 3: cold AUC 0.6453 with the aligner, 0.6553 with
// the mean embedding). The out-of-fold predictions (oof.ts: each training item predicted by an
// aligner that never saw it) measure what the aligner is worth on items it has not seen: pick how
// far to move from the mean towards the aligner's output by the training items' logistic loss on
// their own interactions, and fold that into the aligner's weights.
import { tf } from './tf.js';
import { alignForward } from './aligner.js';
import type { Scorer } from './scorer.js';
import type { TrainContext } from './train-types.js';
import { readScalar, type Vars } from './vars.js';
import type { PreparedItem } from './tasks.js';
import { concat } from './plain-refine.js';

const SHRINK_GRID = [0, 0.25, 0.5, 0.75, 1];

/** mean logistic loss of cold embeddings E[i] ([d] each) on rows (item index i < E.length, ctx, label) */
function coldLoss(
  E: Float32Array[],
  d: number,
  rows: { i: number; ctx: Float32Array; y: number }[],
  ctxDim: number,
  scorer: Scorer,
): number {
  let sum = 0;
  for (let s = 0; s < rows.length; s += 8192) {
    const chunk = rows.slice(s, s + 8192);
    const l = tf.tidy(() => {
      const z = scorer.logits(
        tf.tensor2d(concat(chunk.map((r) => E[r.i]!)), [chunk.length, d]),
        tf.tensor2d(concat(chunk.map((r) => r.ctx)), [chunk.length, ctxDim]),
      );
      const y = tf.tensor1d(chunk.map((r) => r.y));
      return tf.sum(tf.sub(tf.softplus(z), tf.mul(y, z)));
    });
    sum += readScalar(l);
    l.dispose();
  }
  return sum / Math.max(1, rows.length);
}

/**
 * Picks α in SHRINK_GRID for cold = mean + α·(align(r) − mean), scored on out-of-fold predictions
 * (align(r) + delta), and rewrites the aligner so that align(r) is the shrunk embedding. Items
 * without `delta` (no cross-fitting) leave the aligner as it is (α = 1).
 */
export function shrinkAligner(
  vars: Vars,
  c: Pick<TrainContext, 'train' | 'ctxDim' | 'scorer' | 'meanBase'>,
  perItem: number,
): { alpha: number; losses: number[] } {
  const { train, ctxDim, scorer, meanBase } = c;
  const items = train.filter((it): it is PreparedItem & { delta: Float32Array } => it.delta !== undefined && it.ctx.length > 0);
  const first = items[0];
  if (!first || items.length < 2) return { alpha: 1, losses: [] };
  const bias = vars['align/b'];
  if (!bias) throw new Error('shrinkAligner: the aligner has no bias align/b');
  const d = meanBase.length;
  const out = tf.tidy(() => alignForward(vars, tf.tensor2d(concat(items.map((i) => i.r)), [items.length, first.r.length])));
  const flat = out.dataSync() as Float32Array;
  out.dispose();
  // Rows of flat, delta and meanBase all have d entries.
  const oof = items.map((it, i) => flat.subarray(i * d, (i + 1) * d).map((v, k) => v + it.delta[k]!));
  // labels has one entry per context row
  const rows = items.flatMap((it, i) => it.ctx.slice(0, perItem).map((ctx, j) => ({ i, ctx, y: it.labels[j]! })));
  const shrunk = (a: number) =>
    oof.map((e) =>
      e.map((v, k) => {
        const m = meanBase[k]!;
        return m + a * (v - m);
      }),
    );
  const losses = SHRINK_GRID.map((a) => coldLoss(shrunk(a), d, rows, ctxDim, scorer));
  // The first α of least loss; none (a NaN loss) keeps the aligner.
  const alpha = SHRINK_GRID[losses.indexOf(Math.min(...losses))] ?? 1;
  if (alpha !== 1) {
    tf.tidy(() => {
      for (const name of ['align/Wlin', 'align/W2']) {
        const w = vars[name];
        if (w) w.assign(tf.mul(w, alpha));
      }
      bias.assign(tf.add(tf.mul(bias, alpha), tf.mul(tf.tensor1d(meanBase), 1 - alpha)));
    });
    // meta-training starts from the shrunk out-of-fold prediction: m + α(oof − m) = shrunk + α·delta
    for (const it of train) if (it.delta) it.delta = it.delta.map((v) => v * alpha);
  }
  return { alpha, losses };
}
