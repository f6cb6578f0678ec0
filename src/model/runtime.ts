// A loaded model as the workers and the evaluation use it: synchronous align
// and refine. Dot-scorer refinement runs in plain JS (no tensor kernels: an
// item with 200 interactions costs ~S·n·d ≈ 40k multiply-adds); other scorers
// go through the batched TF.js rule.
import { tf, gradientsReady } from './tf.js';
import { unpackWeights, validateArtifact, type ModelArtifact } from './artifact.js';
import { alignForward, type Params } from './aligner.js';
import type { EncoderState } from './encoder.js';
import { dotScorer, type Scorer } from './scorer.js';
import { adaptTf, refineDotJs, type MetaValues } from './refine-rule.js';
import { concat } from './plain-refine.js';

export interface EmerFlowRuntime {
  readonly dim: number;
  readonly inputDim: number;
  readonly encoder: EncoderState;
  align(r: Float32Array[]): Float32Array[];
  refine(cold: Float32Array, interactions: { ctx: Float32Array; label: 0 | 1 }[]): Float32Array;
  dispose(): void;
}

export function loadModel(artifact: ModelArtifact, scorer: Scorer = dotScorer): EmerFlowRuntime {
  validateArtifact(artifact);
  const w = unpackWeights(artifact.weights);
  const { dim, inputDim } = artifact;
  const steps = Number(artifact.hyper.steps ?? 5);
  const metaWeight = (name: string, size: number): Float32Array => {
    const values = w[name]?.values;
    if (values?.length !== size) throw new Error(`model artifact: weight ${name} needs ${size} values, has ${values?.length ?? 'none'}`);
    return values;
  };
  const logLr = metaWeight('meta/logLr', dim);
  const logPull = metaWeight('meta/logPull', 1);
  const gate = metaWeight('meta/gate', 2);
  const lrSlope = w['meta/lrSlope']?.values[0] ?? 0;
  const refN = Number(artifact.hyper.k ?? 20);
  // Sizes checked by metaWeight().
  const metaValues: MetaValues = { lr: logLr.map(Math.exp), pull: Math.exp(logPull[0]!), gateA: gate[0]!, gateB: gate[1]!, lrSlope, refN };
  const params: Params = {};
  for (const [name, v] of Object.entries(w)) {
    if (name.startsWith('align/')) params[name] = tf.keep(tf.tensor(v.values, v.shape));
  }
  let disposed = false;
  const live = () => {
    if (disposed) throw new Error('EmerFlow runtime used after dispose()');
  };

  return {
    dim,
    inputDim,
    encoder: artifact.encoder,
    align(r) {
      live();
      if (r.length === 0) return [];
      for (const x of r) if (x.length !== inputDim) throw new Error(`align: input has ${x.length} dims, model expects ${inputDim}`);
      // Read outside tidy: tidy walks a returned typed array element by element.
      const out = tf.tidy(() => alignForward(params, tf.tensor2d(concat(r), [r.length, inputDim])));
      const flat = out.dataSync() as Float32Array;
      out.dispose();
      return r.map((_, i) => flat.slice(i * dim, (i + 1) * dim));
    },
    refine(cold, interactions) {
      live();
      if (cold.length !== dim) throw new Error(`refine: embedding has ${cold.length} dims, model expects ${dim}`);
      const first = interactions[0];
      if (!first) return Float32Array.from(cold);
      if (scorer.dotProduct) {
        return refineDotJs(
          metaValues,
          steps,
          cold,
          interactions.map((i) => i.ctx),
          interactions.map((i) => i.label),
        );
      }
      if (!gradientsReady()) throw new Error('refine with a custom scorer needs initBackend() first');
      const n = interactions.length;
      // Read outside tidy: tidy walks a returned typed array element by element.
      const out = tf.tidy(() => {
        const meta = {
          logLr: tf.tensor1d(logLr),
          logPull: tf.tensor1d(logPull),
          gate: tf.tensor1d(gate),
          lrSlope: tf.tensor1d([lrSlope]),
        };
        const C = tf.tensor3d(concat(interactions.map((i) => i.ctx)), [1, n, first.ctx.length]);
        const Y = tf.tensor2d(
          interactions.map((i) => i.label),
          [1, n],
        );
        return adaptTf(meta, tf.tensor2d(cold, [1, dim]), C, Y, { steps, scorer, refN });
      });
      const values = out.dataSync() as Float32Array;
      out.dispose();
      return values;
    },
    dispose() {
      if (disposed) return;
      disposed = true;
      for (const t of Object.values(params)) t.dispose();
    },
  };
}
