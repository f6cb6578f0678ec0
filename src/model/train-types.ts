// Public training types (kept apart so data-prep modules can import them
// without pulling in the training loops).
import type { EncoderState } from './encoder.js';
import type { Scorer } from './scorer.js';
import type { CrossFitOptions } from './crossfit.js';
import type { PreparedItem } from './tasks.js';
import type { Rng } from './prng.js';

export interface TrainingItem {
  id: string;
  r: Float32Array;
  base: Float32Array;
  interactions: { ctx: number; label: 0 | 1; ts: number }[];
}

export interface TrainingData {
  dim: number;
  items: TrainingItem[];
  /** Context rows (e.g. user vectors); interaction.ctx indexes this. */
  contexts: Float32Array[];
}

export interface Hyper {
  k: number; // phase size: interactions per phase
  queryK: number; // query interactions scored after each phase
  valQueryK: number; // query horizon on validation items (early stopping)
  maxPhases: number; // phases replayed: n = 0, K, …, (maxPhases-1)·K
  steps: number; // inner gradient steps
  initStep: number; // initial per-dimension step, as a fraction of the Gauss–Newton step
  initIsotropic: boolean; // one initial step size for every dimension (from the mean curvature)
  initPull: number; // initial pull towards the aligned embedding, in units of the mean curvature
  initGateA: number; // initial trust gate gate(n) = σ(a·log(1+n) + b): a
  initGateB: number; // … and b
  initLrSlope: number; // initial growth of the step with n: × ((1+n)/(1+k))^slope
  order: 'first' | 'second'; // MAML order
  hidden: number; // aligner hidden units (0 = linear aligner)
  weightDecay: number; // L2 coefficient on weight matrices (sum of squares)
  dropout: number; // input dropout on r while training
  mseWeight: number; // weight of ‖align(r) − base‖² (normalised) next to the logistic loss
  alignLr: number;
  alignInteractions: number; // interactions per item per epoch in the aligner's logistic loss
  alignEpochs: number;
  alignPatience: number;
  metaSteps: number;
  metaBatch: number;
  metaLr: number; // step size for the rule's own parameters
  metaAlignLr: number; // step size for the aligner during meta-training
  evalEvery: number;
  metaPatience: number; // in evaluations
  valFraction: number;
  shrinkCold: boolean; // shrink the aligner towards the mean by out-of-fold loss (shrink.ts)
  folds: number; // cross-fitting folds for out-of-fold adaptation starts (0/1 = off)
}

export const DEFAULT_HYPER: Hyper = {
  k: 20,
  queryK: 20,
  valQueryK: 60,
  maxPhases: 6,
  steps: 5,
  initStep: 0.03,
  initIsotropic: false,
  initPull: 5,
  initGateA: 0,
  initGateB: 2,
  initLrSlope: 0,
  order: 'second',
  hidden: 32,
  weightDecay: 1e-4,
  dropout: 0.1,
  mseWeight: 0, // 0 beat 1 on ML-100k at every stage (docs/eval/README.md)
  alignLr: 0.01,
  alignInteractions: 64,
  alignEpochs: 400,
  alignPatience: 40,
  metaSteps: 300,
  metaBatch: 32,
  metaLr: 0.05,
  metaAlignLr: 0.0002,
  evalEvery: 10,
  metaPatience: 15,
  valFraction: 0.15,
  shrinkCold: false,
  folds: 4,
};

/**
 * Named hyper-parameter sets, applied over the defaults (and the non-dot scorer's defaults) and
 * under any hyper-parameter the caller sets. `quick` is for tests of the service around training,
 * not of training itself: at most 40 aligner epochs (patience 10) and 20 meta steps, no
 * out-of-fold starts. On the service tests' tiny space (30 items, 20 interactions each, 2 cores,
 * wasm) it trains in 0.2–0.4 s instead of about 2 s, and its cold embeddings still rank users far
 * better than random ones (test/model/preset.test.ts); it is no model to serve.
 */
export const TRAINING_PRESETS = {
  default: {},
  quick: { alignEpochs: 40, alignPatience: 10, metaSteps: 20, evalEvery: 5, metaPatience: 2, folds: 0 },
} as const satisfies Record<string, Partial<Hyper>>;

export type TrainingPreset = keyof typeof TRAINING_PRESETS;

export interface TrainOptions extends Partial<Hyper> {
  seed: number;
  /** a named set of hyper-parameters (TRAINING_PRESETS; default 'default'); explicit ones win */
  preset?: TrainingPreset;
  scorer?: Scorer;
  /**
   * Meta-train against cross-fitted context rows (crossfit.ts): per fold of
   * established items, context rows refitted without that fold's interactions.
   * Default: on for a dot-product scorer whose contexts are per-user rows of
   * the embedding size; such a scorer cannot be cross-fitted here otherwise
   * (the caller may pass per-fold rows itself: interactions index `contexts`).
   */
  crossFitContexts?: boolean | CrossFitOptions;
  encoder: EncoderState;
  onProgress?: (fraction: number, phase: string) => void;
  signal?: AbortSignal;
}

/**
 * What every training stage reads (train-aligner.ts, oof.ts, train-meta.ts, shrink.ts): built once
 * by trainEmerFlow after the train/validation split, and passed whole. A stage that works on a
 * subset (a cross-fitting fold) passes a copy with `train` replaced.
 */
export interface TrainContext {
  train: PreparedItem[];
  val: PreparedItem[];
  /** encoder vector size (the aligner's input) and embedding size */
  inputDim: number;
  dim: number;
  /** context row size: the embedding size for a dot scorer, anything for others */
  ctxDim: number;
  scorer: Scorer;
  h: Hyper;
  /** mean squared norm of the training items' base embeddings (normalises the MSE term) */
  baseScale: number;
  /** mean base embedding of the training items (the aligner's starting bias, the shrinkage target) */
  meanBase: Float32Array;
  /** the run's one seeded stream: stages draw from it in a fixed order */
  rng: Rng;
  signal?: AbortSignal;
}
