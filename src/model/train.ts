// trainEmerFlow: data + seed → ModelArtifact. Stage 1 fits the aligner
// (train-aligner.ts), stage 2 meta-learns the refinement together with the
// aligner (train-meta.ts). Same data, seed and backend → same weights: every
// random choice comes from the seeded PRNG.
import { tf, ensureGradients } from './tf.js';
import { packWeights, type ModelArtifact, type NamedWeight } from './artifact.js';
import { initAligner } from './aligner.js';
import { dotScorer, type Scorer } from './scorer.js';
import { concat } from './plain-refine.js';
import { makeRng } from './prng.js';
import { prepareItems, splitItems, type PreparedItem } from './tasks.js';
import { toVariables, snapshot, disposeVars, need, readPair, readScalar } from './vars.js';
import { trainAligner } from './train-aligner.js';
import { setOutOfFoldDeltas } from './oof.js';
import { shrinkAligner } from './shrink.js';
import { crossFitDotContexts } from './crossfit.js';
import { trainMeta, evalPhases } from './train-meta.js';
import { gateOf } from './refine-rule.js';
import { DEFAULT_HYPER, TRAINING_PRESETS, type Hyper, type TrainContext, type TrainingData, type TrainOptions } from './train-types.js';

/**
 * Defaults for scorers that are not a dot product (DeepFM-like), where the context row is not the
 * gradient: 20 inner steps of one step size for every dimension (0.05 of the Gauss–Newton step at
 * the mean curvature), a step that grows with the interaction count (×2 from 20 to 60), no pull, a
 * gate that opens with n (0.88 at 20, 0.99 at 60), cold-start shrinkage, and no meta stage (replaying
 * established items misleads it when the scorer's other inputs were fitted on those same items).
 * Picked on ML-100k/DeepFM seed 1 by warm-up AUC; the measurements: docs/eval/README.md.
 */
export const NON_DOT_DEFAULTS: Partial<Hyper> = {
  steps: 20,
  initStep: 0.05,
  initIsotropic: true,
  initPull: 0,
  initGateA: 2.8,
  initGateB: -6.5,
  initLrSlope: 0.65,
  metaSteps: 0,
  shrinkCold: true,
};

/**
 * E[(∂s/∂e_k)²] per dimension over interactions of `items`, at their base
 * embeddings: c_k² for a dot scorer; through the scorer (autodiff, on a sample
 * of up to 4096 interactions) otherwise, where the context row is not the
 * gradient (DeepFM: the other fields' sum plus the MLP's slope).
 */
function gradSquares(items: PreparedItem[], dim: number, scorer: Scorer): { sq: Float64Array; m: number } {
  const sq = new Float64Array(dim);
  let m = 0;
  if (scorer.dotProduct) {
    // k < dim = sq.length, the size of a dot scorer's context rows
    for (const it of items)
      for (const c of it.ctx) {
        for (let k = 0; k < dim; k++) sq[k] = sq[k]! + c[k]! ** 2;
        m++;
      }
    return { sq, m };
  }
  const total = items.reduce((a, it) => a + it.ctx.length, 0);
  const stride = Math.max(1, Math.ceil(total / 4096));
  const E: Float32Array[] = [];
  const C: Float32Array[] = [];
  let j = 0;
  for (const it of items)
    for (const c of it.ctx)
      if (j++ % stride === 0) {
        E.push(it.base);
        C.push(c);
      }
  const first = C[0];
  if (!first) return { sq, m };
  const dc = first.length;
  // Read outside tidy: tidy walks a returned typed array element by element.
  const g = tf.tidy(() => {
    const f = (e: tf.Tensor) => tf.sum(scorer.logits(e as tf.Tensor2D, tf.tensor2d(concat(C), [C.length, dc])));
    return tf.grad(f)(tf.tensor2d(concat(E), [E.length, dim]));
  });
  const flat = g.dataSync() as Float32Array;
  g.dispose();
  // flat is [C.length, dim]
  for (let i = 0; i < C.length; i++) for (let k = 0; k < dim; k++) sq[k] = sq[k]! + flat[i * dim + k]! ** 2;
  return { sq, m: C.length };
}

/** Initial rule from the hyper-parameters: a fraction of the Gauss–Newton step (per dimension or one for all), pull, gate and slope. */
function initMeta(
  items: PreparedItem[],
  dim: number,
  scorer: Scorer,
  h: Pick<Hyper, 'initStep' | 'initIsotropic' | 'initPull' | 'initGateA' | 'initGateB' | 'initLrSlope'>,
): Record<string, NamedWeight> {
  const { sq, m } = gradSquares(items, dim, scorer);
  // Hessian of the mean BCE ≈ 0.2·E[(∂s/∂e_k)²] per dimension (Gauss–Newton). Start at a small
  // fraction of a Newton step (a full one on 20 interactions overfits them),
  // with the gate nearly open: the outer loop then only has to improve on
  // plain gradient descent, not first undo a bad start.
  const meanH = sq.reduce((a, s) => a + 0.2 * (s / Math.max(1, m)), 0) / dim;
  const logLr = Float32Array.from(sq, (s) => Math.log(h.initStep / ((h.initIsotropic ? meanH : 0.2 * (s / Math.max(1, m))) + 1e-6)));
  return {
    'meta/logLr': { shape: [dim], values: logLr },
    'meta/logPull': { shape: [1], values: Float32Array.of(Math.log(h.initPull * meanH + 1e-6)) },
    'meta/gate': { shape: [2], values: Float32Array.of(h.initGateA, h.initGateB) },
    'meta/lrSlope': { shape: [1], values: Float32Array.of(h.initLrSlope) },
  };
}

export async function trainEmerFlow(data: TrainingData, opts: TrainOptions): Promise<ModelArtifact> {
  await ensureGradients();
  const scorer = opts.scorer ?? dotScorer;
  // Defaults by scorer kind, then the preset, then what the caller set.
  const preset: Partial<Hyper> | undefined = TRAINING_PRESETS[opts.preset ?? 'default'];
  if (!preset) throw new Error(`unknown training preset "${opts.preset}"; known: ${Object.keys(TRAINING_PRESETS).join(', ')}`);
  const h: Hyper = { ...DEFAULT_HYPER, ...(scorer.dotProduct ? {} : NON_DOT_DEFAULTS), ...preset };
  for (const key of Object.keys(DEFAULT_HYPER) as (keyof Hyper)[]) {
    if (opts[key] !== undefined) (h as unknown as Record<string, unknown>)[key] = opts[key];
  }
  const started = Date.now();
  const rng = makeRng(opts.seed);
  const cfMetrics: Record<string, number> = { crossFitFolds: 0 };
  const cfWanted = opts.crossFitContexts ?? (scorer.dotProduct === true && data.contexts.every((c) => c.length === data.dim));
  if (cfWanted) {
    if (!scorer.dotProduct) throw new Error('crossFitContexts needs a dot-product scorer; pass per-fold context rows instead');
    const t = Date.now();
    // Own PRNG stream: the split and initialisation below stay what they were.
    const cf = crossFitDotContexts(data, cfWanted === true ? {} : cfWanted, makeRng(opts.seed * 7919 + 17));
    data = cf.data;
    Object.assign(cfMetrics, {
      crossFitFolds: cf.folds,
      crossFitLambda: cf.lambda,
      crossFitTargetNorm2: cf.targetNorm2,
      crossFitNorm2: cf.fittedNorm2,
      crossFitMs: Date.now() - t,
    });
  }
  const items = prepareItems(data);
  const first = items[0];
  if (!first || items.length < 2) throw new Error(`training needs at least 2 established items, got ${items.length}`);
  const inputDim = first.r.length;
  if (items.some((it) => it.r.length !== inputDim)) throw new Error('training items have encoder vectors of different sizes');
  const ctxDim = data.contexts[0]?.length ?? data.dim;
  const { train, val } = splitItems(items, h.valFraction, rng);
  const dim = data.dim;
  const meanBase = new Float32Array(dim);
  let baseScale = 0;
  // k < dim: prepareItems checked every base's size
  for (const it of train)
    it.base.forEach((v, k) => {
      meanBase[k] = meanBase[k]! + v / train.length;
      baseScale += (v * v) / train.length;
    });
  baseScale = Math.max(baseScale, 1e-6);

  const vars = toVariables({ ...initAligner(inputDim, dim, h.hidden, meanBase, rng), ...initMeta(train, dim, scorer, h) });
  const ctx: TrainContext = { train, val, inputDim, dim, ctxDim, scorer, h, baseScale, meanBase, rng, signal: opts.signal };
  const progress = opts.onProgress ?? (() => {});
  try {
    const t0 = Date.now();
    const a = trainAligner(vars, ctx, (f) => progress(0.2 * f, 'align'));
    const oofFlops = setOutOfFoldDeltas(vars, ctx, (f) => progress(0.2 + 0.3 * f, 'cross-fit'));
    const shrink = h.shrinkCold ? shrinkAligner(vars, ctx, 200) : null;
    const t1 = Date.now();
    const coldVal = val.length ? evalPhases(vars, ctx, val, h.maxPhases, false) : [];
    const m = trainMeta(vars, ctx, (f) => progress(0.5 + 0.5 * f, 'meta'));
    const t2 = Date.now();
    const lrs = Array.from(need(vars, 'meta/logLr').dataSync(), Math.exp);
    const [ga, gb] = readPair(need(vars, 'meta/gate'));
    const ruleMetrics: Record<string, number> = {
      ruleLrMin: Math.min(...lrs),
      ruleLrMax: Math.max(...lrs),
      rulePull: Math.exp(readScalar(need(vars, 'meta/logPull'))),
      ruleGate_n20: gateOf(ga, gb, 20),
      ruleGate_n60: gateOf(ga, gb, 60),
      ruleLrSlope: readScalar(need(vars, 'meta/lrSlope')),
    };
    const finalCold = val.length ? evalPhases(vars, ctx, val, m.perPhase.length, false) : [];
    progress(1, 'done');
    const metrics: Record<string, number> = {
      items: items.length,
      trainItems: train.length,
      valItems: val.length,
      alignEpochs: a.epochs,
      alignBestEpoch: a.bestEpoch,
      alignValLoss: a.valLoss,
      alignValLogistic: a.valLogistic,
      alignValMse: a.valMse,
      metaSteps: m.steps,
      metaBestStep: m.bestStep,
      metaValLoss: m.valLoss,
      phases: m.phases,
      alignMs: t1 - t0,
      metaMs: t2 - t1,
      trainMs: Date.now() - started,
      approxGflop: (a.flops + oofFlops + m.flops) / 1e9,
      ...cfMetrics,
      ...ruleMetrics,
      ...(shrink ? { coldShrink: shrink.alpha } : {}),
    };
    m.perPhase.forEach((l, p) => {
      metrics[`valQueryLoss_n${p * h.k}`] = l;
    });
    // Same phases scored with the stage-1 aligner and no refinement: the gain the meta stage bought.
    coldVal.slice(0, m.perPhase.length).forEach((l, p) => {
      metrics[`valQueryLossStage1Cold_n${p * h.k}`] = l;
    });
    finalCold.forEach((l, p) => {
      metrics[`valQueryLossCold_n${p * h.k}`] = l;
    });
    return {
      format: 'emerflow/1',
      dim,
      inputDim,
      encoder: opts.encoder,
      seed: opts.seed,
      weights: packWeights(snapshot(vars)),
      hyper: { ...h, scorer: scorer.name, backend: tf.getBackend() },
      metrics,
      trainedAt: new Date().toISOString(),
    };
  } finally {
    disposeVars(vars);
  }
}
