// The ablation baseline: start from the aligned embedding and take plain
// gradient steps on the item's interactions (mean logistic loss, optional L2
// pull back to the start). No learned step sizes, pull or trust schedule.
import { tf } from './tf.js';
import { dotScorer, type Scorer } from './scorer.js';
import { adaptTf, refineDotJs } from './refine-rule.js';

export interface PlainRefineOptions {
  steps?: number; // default 5
  lr?: number; // default 1
  pull?: number; // default 0
  scorer?: Scorer;
}

export function refinePlain(
  start: Float32Array,
  interactions: { ctx: Float32Array; label: 0 | 1 }[],
  opts: PlainRefineOptions = {},
): Float32Array {
  const steps = opts.steps ?? 5;
  const lr = opts.lr ?? 1;
  const pull = opts.pull ?? 0;
  const scorer = opts.scorer ?? dotScorer;
  const d = start.length;
  const first = interactions[0];
  if (!first) return Float32Array.from(start);
  // Expressed in the meta rule's terms: constant step, gate fully open
  // (a=0, b=+∞ ≈ 30), and a pull that does not fade with n (hence × (1+n)).
  const n = interactions.length;
  const meta = { lr: new Float32Array(d).fill(lr), pull: pull * (1 + n), gateA: 0, gateB: 30, lrSlope: 0, refN: 0 };
  if (scorer.dotProduct) {
    return refineDotJs(
      meta,
      steps,
      start,
      interactions.map((i) => i.ctx),
      interactions.map((i) => i.label),
    );
  }
  const dc = first.ctx.length; // context rows need not have the embedding's size
  // Read outside tidy: tidy walks a returned typed array element by element.
  const out = tf.tidy(() => {
    const C = tf.tensor3d(concat(interactions.map((i) => i.ctx)), [1, n, dc]);
    const Y = tf.tensor2d(
      interactions.map((i) => i.label),
      [1, n],
    );
    return adaptTf(
      {
        logLr: tf.fill([d], Math.log(lr)) as tf.Tensor1D,
        logPull: tf.tensor1d([Math.log(Math.max(meta.pull, 1e-30))]),
        gate: tf.tensor1d([0, 30]),
      },
      tf.tensor2d(start, [1, d]),
      C,
      Y,
      { steps, scorer },
    );
  });
  const values = out.dataSync() as Float32Array;
  out.dispose();
  return values;
}

export function concat(rows: Float32Array[]): Float32Array {
  const d = rows[0]?.length ?? 0;
  const out = new Float32Array(rows.length * d);
  rows.forEach((r, i) => out.set(r, i * d));
  return out;
}
