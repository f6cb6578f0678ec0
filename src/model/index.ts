// EmerFlow model: pure TF.js / JS, no I/O. Text → encoder vector (encoder.ts,
// categorical.ts) → aligned cold embedding (aligner.ts), refined by a
// meta-learned rule as interactions arrive (refine-rule.ts, runtime.ts);
// trainEmerFlow (train.ts) fits both. Call `await initBackend()` once per
// process before training or loading (it also registers tfjs-core's gradients,
// absent from the CJS bundle). Measured effects of the design choices:
// docs/eval/README.md. fitVersionMap (version-map.ts, plain JS) maps a space's
// vectors into the recommender's next version of it, for promotions.
export { initBackend, currentBackend, selectBackend, BACKEND_ORDER, type BackendInfo } from './backend.js';
export { serializeFeatures } from './serialize.js';
export {
  fitHashedTfidf,
  encoderFromState,
  encoderIdOf,
  type EncoderId,
  type TextEncoder,
  type EncoderState,
  type HashedTfidfEncoder,
  type HashedTfidfOptions,
} from './encoder.js';
export type { CategoricalOptions, CategoricalState } from './categorical.js';
export type { CrossFitOptions } from './crossfit.js';
export { dotScorer, type Scorer } from './scorer.js';
export { trainEmerFlow } from './train.js';
export { assembleTrainingData, byCodeUnits, type TrainingRecords } from './training-data.js';
export {
  TRAINING_PRESETS,
  type TrainingPreset,
  type TrainingItem,
  type TrainingData,
  type TrainOptions,
  type Hyper,
} from './train-types.js';
export { validateArtifact, type ModelArtifact } from './artifact.js';
export { loadModel, type EmerFlowRuntime } from './runtime.js';
export { refinePlain, type PlainRefineOptions } from './plain-refine.js';
export { makeRng, type Rng } from './prng.js';
export { fitVersionMap, versionMapFromJSON, type VersionMap, type VersionMapKind, type VersionMapOptions } from './version-map.js';
export { tf } from './tf.js';
