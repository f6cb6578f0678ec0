// EmerFlow through the service's own model code (src/model): encode each item's serialised text,
// train the aligner + meta-refiner on established items against the frozen backbone, then
// cold = align(encode(text)), warm stage s = refine(cold, the item's first 20·(s+1) interactions).
// `emerflow-nometa` swaps refine for plain gradient steps from the same aligned start.
import { tf } from './tf.js';
import {
  fitHashedTfidf, serializeFeatures, trainEmerFlow, loadModel, refinePlain, dotScorer,
  type EmerFlowRuntime, type Scorer, type TrainingData, type TrainOptions,
} from '../model/index.js';
import type { Row } from './protocol.js';
import type { ItemText } from './text.js';
import type { MethodEnv, WarmMethod } from './baselines/method.js';

export interface EmerFlowEvalOpts {
  name: 'emerflow' | 'emerflow-raw' | 'emerflow-nometa';
  /** text per item id; `emerflow-raw` ignores enrichment */
  texts: Map<number, ItemText>;
  /** hyper-parameters passed through to trainEmerFlow */
  hyper?: Partial<TrainOptions>;
  /** plain refinement for the no-meta ablation (tuned like the baselines' warm-up lr) */
  plain?: { steps: number; lr: number; pull: number };
  encoderDim?: number;
  scorer?: Scorer;
}

export const PLAIN_DEFAULTS = { steps: 5, lr: 1, pull: 0 };

export class EmerFlowMethod implements WarmMethod {
  readonly name: string;
  private rt: EmerFlowRuntime | null = null;
  private cold = new Map<number, Float32Array>();
  private current = new Map<number, Float32Array>();
  private seen = new Map<number, Row[]>();
  private userVecs: Float32Array[] = [];
  private table: tf.Tensor2D | null = null;
  /** training metrics the model reports (for the results file) */
  metrics: Record<string, number> = {};

  constructor(private readonly env: MethodEnv, private readonly o: EmerFlowEvalOpts) {
    this.name = o.name;
  }

  private text(item: number): string {
    const t = this.o.texts.get(item);
    if (!t) return '';
    return serializeFeatures(t.raw, this.o.name === 'emerflow-raw' ? null : t.enrichment);
  }

  async fit(): Promise<void> {
    const { env, o } = this;
    const { bb, split } = env;
    const U = bb.userEmb.arraySync();
    this.userVecs = U.map((r) => Float32Array.from(r));
    const V = bb.itemEmb.arraySync();
    // IDF comes from the whole catalogue's text (no interactions involved), as the service fits it on its items
    const catalogue = [...o.texts.keys()].sort((a, b) => a - b);
    const encoder = fitHashedTfidf(catalogue.map((i) => this.text(i)), o.encoderDim ? { dim: o.encoderDim } : {});
    const estR = await encoder.encode(split.established.map((i) => this.text(i)));
    const byItem = new Map<number, Row[]>();
    for (const r of split.trainBase) (byItem.get(r.item) ?? byItem.set(r.item, []).get(r.item)!).push(r);
    const data: TrainingData = {
      dim: bb.dim,
      contexts: this.userVecs,
      items: split.established.map((item, j) => ({
        id: String(item),
        r: estR[j]!,
        base: Float32Array.from(V[item - 1]!),
        interactions: (byItem.get(item) ?? []).map((r) => ({ ctx: r.user - 1, label: r.label, ts: r.ts })),
      })),
    };
    const artifact = await trainEmerFlow(data, {
      seed: env.seed,
      encoder: encoder.state(),
      k: split.k,
      ...(o.scorer ? { scorer: o.scorer } : {}),
      ...o.hyper,
      onProgress: (f) => env.onProgress?.(f),
    });
    this.metrics = artifact.metrics as Record<string, number>;
    this.rt = loadModel(artifact, o.scorer ?? dotScorer);
    const emR = await encoder.encode(split.emerging.map((i) => this.text(i)));
    const aligned = this.rt.align(emR);
    split.emerging.forEach((item, j) => { this.cold.set(item, aligned[j]!); this.current.set(item, aligned[j]!); });
    this.rebuild();
  }

  async warm(_stage: number, rows: Row[]): Promise<void> {
    for (const r of rows) (this.seen.get(r.item) ?? this.seen.set(r.item, []).get(r.item)!).push(r);
    const plain = this.o.plain ?? PLAIN_DEFAULTS;
    for (const [item, rs] of this.seen) {
      const inter = rs.map((r) => ({ ctx: this.userVecs[r.user - 1]!, label: r.label }));
      const cold = this.cold.get(item)!;
      // always from the cold embedding with every interaction so far (what the service's refine job does)
      this.current.set(item, this.o.name === 'emerflow-nometa'
        ? refinePlain(cold, inter, { ...plain, ...(this.o.scorer ? { scorer: this.o.scorer } : {}) })
        : this.rt!.refine(cold, inter));
    }
    this.rebuild();
  }

  private rebuild(): void {
    const { bb, split } = this.env;
    const d = bb.dim;
    const flat = new Float32Array(split.emerging.length * d);
    split.emerging.forEach((item, j) => flat.set(this.current.get(item)!, j * d));
    this.table?.dispose();
    this.table = tf.tidy(() => tf.tensorScatterUpdate(bb.itemEmb,
      tf.tensor2d(Int32Array.from(split.emerging, (i) => i - 1), [split.emerging.length, 1], 'int32'),
      tf.tensor2d(flat, [split.emerging.length, d])) as tf.Tensor2D);
  }

  embeddings(): tf.Tensor2D { return this.table!; }
  dispose(): void { this.table?.dispose(); this.rt?.dispose(); }
}
