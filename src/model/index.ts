// EmerFlow model: pure TF.js / JS, no I/O. Status (for the team):
// - DONE: backend selection (initBackend), serialisation, hashed TF-IDF encoder,
//   dot scorer, aligner (linear + small MLP, logistic + MSE loss, weight decay,
//   input dropout, early stopping), meta-learned refinement (MAML over phases of
//   K interactions: per-dimension step sizes, pull, trust gate g(n), first- or
//   second-order), JSON artifact, runtime (sync align/refine), plain baseline.
// - Meta-training starts adaptation from out-of-fold cold embeddings (oof.ts):
//   from in-sample ones the rule learns not to adapt. Default order 'second'
//   (first order measured no faster here and marginally worse).
// - Meta-training scores against cross-fitted contexts (crossfit.ts; default on
//   for the dot scorer): against the recommender's in-sample user vectors the
//   rule learns to over-trust a few interactions (ML-100k warm-c AUC 0.728 →
//   0.745 with cross-fitting, seed 1).
// - The hashed encoder appends a structured channel (categorical.ts): short
//   list fields and numeric fields found in the `name: content` lines, one-/
//   multi-hot without IDF (ML-100k cold AUC +0.03). mseWeight defaults to 0.
// - Non-dot scorers: the initial step sizes come from the scorer's own
//   gradient (autodiff), not from the context rows.
// - Call `await initBackend()` once per process before training or loading
//   (it also registers tfjs-core's gradients, absent from the CJS bundle).
export { initBackend, currentBackend, selectBackend, BACKEND_ORDER, type BackendInfo, type BackendLoader } from './backend.js';
export { serializeFeatures } from './serialize.js';
export {
  fitHashedTfidf,
  encoderFromState,
  encoderIdOf,
  sameEncoder,
  tokenize,
  type EncoderId,
  type TextEncoder,
  type EncoderState,
  type HashedTfidfEncoder,
  type HashedTfidfOptions,
} from './encoder.js';
export type { CategoricalOptions, CategoricalState } from './categorical.js';
export { crossFitDotContexts, type CrossFitOptions, type CrossFitResult } from './crossfit.js';
export { dotScorer, type Scorer } from './scorer.js';
export { trainEmerFlow, DEFAULT_HYPER, type TrainingItem, type TrainingData, type TrainOptions, type Hyper } from './train.js';
export { validateArtifact, type ModelArtifact } from './artifact.js';
export { loadModel, type EmerFlowRuntime } from './runtime.js';
export { refinePlain, type PlainRefineOptions } from './plain-refine.js';
export { makeRng, type Rng } from './prng.js';
export { tf } from './tf.js';
