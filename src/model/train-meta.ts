// Stage 2: meta-learn the refinement by replaying established items' early
// life. A task is (item, phase p): adapt from align(r) on the first p·K
// interactions with the rule in refine-rule.ts, then score the next Q. The
// outer loss trains the aligner (as initialiser), the per-dimension step
// sizes, the pull and the trust gate together. p = 0 is the cold start.
import { tf } from './tf.js';
import { alignForward, l2Penalty } from './aligner.js';
import { adaptTf, type MetaTensors } from './refine-rule.js';
import { scoreEach } from './scorer.js';
import type { Hyper, TrainContext } from './train-types.js';
import { eligible, phaseBatch, type PreparedItem } from './tasks.js';
import { bce, snapshot, assign, throwIfAborted, need, readScalar, withPrefix, type Vars } from './vars.js';
import { shuffle } from './prng.js';

function metaOf(vars: Vars): MetaTensors {
  const r1 = (v: tf.Variable) => v as tf.Variable<tf.Rank.R1>; // initMeta (train.ts) makes them [d], [1], [2], [1]
  const slope = vars['meta/lrSlope'];
  return {
    logLr: r1(need(vars, 'meta/logLr')),
    logPull: r1(need(vars, 'meta/logPull')),
    gate: r1(need(vars, 'meta/gate')),
    ...(slope ? { lrSlope: r1(slope) } : {}),
  };
}

/** Outer loss of one phase batch: query BCE of the adapted embeddings + align MSE. */
function phaseLoss(vars: Vars, c: TrainContext, items: PreparedItem[], n: number, q: number, firstOrder: boolean, adapt = true) {
  const { h, scorer, ctxDim, dim } = c;
  const b = phaseBatch(items, n, q, ctxDim);
  const A = alignForward(vars, tf.tensor2d(b.r, [b.B, c.inputDim]));
  const E0 = tf.add(A, tf.tensor2d(b.delta, [b.B, dim])) as tf.Tensor2D;
  const E = adaptTf(metaOf(vars), E0, tf.tensor3d(b.cs, [b.B, n, ctxDim]), tf.tensor2d(b.ys, [b.B, n]), {
    steps: h.steps,
    scorer,
    firstOrder,
    refN: h.k,
  });
  const Eq = adapt ? E : E0;
  const query = bce(scoreEach(scorer, Eq, tf.tensor3d(b.cq, [b.B, b.q, ctxDim])), tf.tensor2d(b.yq, [b.B, b.q]));
  const mse = tf.div(tf.mean(tf.sum(tf.square(tf.sub(A, tf.tensor2d(b.base, [b.B, dim]))), 1)), c.baseScale) as tf.Scalar;
  return { query, mse };
}

export interface MetaStageResult {
  steps: number;
  bestStep: number;
  valLoss: number;
  perPhase: number[]; // best validation query loss per phase
  flops: number;
  phases: number;
}

function phasesAvailable(items: PreparedItem[], h: Hyper, q = h.queryK): number {
  let p = 0;
  while (p < h.maxPhases && eligible(items, p * h.k, q).length > 0) p++;
  return p;
}

/**
 * Mean query loss per phase on `items` (no gradients), over the next
 * `valQueryK` interactions (a longer horizon than training's, for a less noisy
 * early-stopping signal). `adapt: false` scores the aligned embedding alone.
 */
export function evalPhases(vars: Vars, c: TrainContext, items: PreparedItem[], phases: number, adapt = true): number[] {
  const { h } = c;
  const out: number[] = [];
  for (let p = 0; p < phases; p++) {
    const its = eligible(items, p * h.k, h.valQueryK);
    if (!its.length) break;
    out.push(tf.tidy(() => readScalar(phaseLoss(vars, c, its, p * h.k, h.valQueryK, true, adapt).query)));
  }
  return out;
}

/** Meta-trains the rule (and the aligner as its initialiser) on `c.train`, early-stopped on `c.val`. */
export function trainMeta(vars: Vars, c: TrainContext, progress: (f: number) => void): MetaStageResult {
  const { train, val, h, rng, signal } = c;
  const phases = phasesAvailable(train, h);
  const metaVars = ['meta/logLr', 'meta/logPull', 'meta/gate', 'meta/lrSlope'].flatMap((k) => vars[k] ?? []);
  const alignVars = withPrefix(vars, 'align/');
  const optMeta = tf.train.adam(h.metaLr);
  const optAlign = tf.train.adam(h.metaAlignLr);
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  const valPhases = Math.min(phases, phasesAvailable(val, h, h.valQueryK));
  let best = { loss: Infinity, step: -1, perPhase: [] as number[], weights: snapshot(vars) };
  if (valPhases > 0) {
    const pp = evalPhases(vars, c, val, valPhases);
    best = { loss: mean(pp), step: 0, perPhase: pp, weights: snapshot(vars) };
  }
  const { inputDim, dim } = c;
  let flops = 0;
  let order: number[] = [];
  let step = 0;
  try {
    for (; step < h.metaSteps && phases > 0; step++) {
      throwIfAborted(signal);
      if (!order.length) order = shuffle([...Array(phases).keys()], rng);
      const p = order.pop()!; // refilled just above when empty, and phases > 0
      const pool = shuffle([...eligible(train, p * h.k, h.queryK)], rng).slice(0, h.metaBatch);
      const { value, grads } = tf.variableGrads(() => {
        const { query, mse } = phaseLoss(vars, c, pool, p * h.k, h.queryK, h.order === 'first');
        return tf.addN([query, tf.mul(mse, h.mseWeight), tf.mul(l2Penalty(vars), h.weightDecay)]) as tf.Scalar;
      }, [...metaVars, ...alignVars]);
      const pick = (vs: tf.Variable[]) => vs.map((v) => ({ name: v.name, tensor: grads[v.name] as tf.Tensor }));
      optMeta.applyGradients(pick(metaVars));
      optAlign.applyGradients(pick(alignVars));
      tf.dispose(grads);
      value.dispose();
      const n = p * h.k;
      // forward: aligner + S inner steps (2 matvecs each) + query; backward ≈ 2× (first order) or 3× (second).
      const fwd = 2 * pool.length * (inputDim * (dim + h.hidden) + h.steps * 2 * n * dim + h.queryK * dim);
      flops += fwd * (h.order === 'first' ? 3 : 5);
      if (valPhases > 0 && (step + 1) % h.evalEvery === 0) {
        const pp = evalPhases(vars, c, val, valPhases);
        const l = mean(pp);
        if (l < best.loss - 1e-5) best = { loss: l, step: step + 1, perPhase: pp, weights: snapshot(vars) };
        else if ((step + 1 - best.step) / h.evalEvery >= h.metaPatience) {
          step++;
          break;
        }
      }
      progress((step + 1) / h.metaSteps);
    }
    if (valPhases > 0) assign(vars, best.weights);
  } finally {
    optMeta.dispose();
    optAlign.dispose();
  }
  return { steps: step, bestStep: best.step, valLoss: best.loss, perPhase: best.perPhase, flops, phases };
}
