// EmerFlow model: pure TF.js / JS, no I/O. Status (for the team):
// - DONE: backend selection (initBackend), serialisation, hashed TF-IDF encoder,
//   dot scorer, aligner (linear + small MLP, logistic + MSE loss, weight decay,
//   input dropout, early stopping), meta-learned refinement (MAML over phases of
//   K interactions: per-dimension step sizes, pull, trust gate g(n), first- or
//   second-order), JSON artifact, runtime (sync align/refine), plain baseline.
// - Meta-training starts adaptation from out-of-fold cold embeddings (oof.ts):
//   from in-sample ones the rule learns not to adapt. Default order 'second'
//   (first order measured no faster here and marginally worse).
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
} from './encoder.js';
export { dotScorer, type Scorer } from './scorer.js';
export { trainEmerFlow, DEFAULT_HYPER, type TrainingItem, type TrainingData, type TrainOptions, type Hyper } from './train.js';
export { validateArtifact, type ModelArtifact } from './artifact.js';
export { loadModel, type EmerFlowRuntime } from './runtime.js';
export { refinePlain, type PlainRefineOptions } from './plain-refine.js';
export { makeRng, type Rng } from './prng.js';
export { tf } from './tf.js';
