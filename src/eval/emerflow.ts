// EmerFlow through the service's own model code (src/model): encode each item's serialised text,
// train the aligner + meta-refiner on established items against the frozen backbone, then
// cold = align(encode(text)), warm stage s = refine(cold, the item's first 20·(s+1) interactions).
// `emerflow-nometa` swaps refine for plain gradient steps from the same aligned start.
import { tf } from './tf.js';
import {
  fitHashedTfidf,
  serializeFeatures,
  trainEmerFlow,
  loadModel,
  refinePlain,
  dotScorer,
  assembleTrainingData,
  byCodeUnits,
  type EmerFlowRuntime,
  type Scorer,
  type TextEncoder,
  type TrainingData,
  type TrainOptions,
} from '../model/index.js';
import type { Row } from './protocol.js';
import type { ItemText } from './text.js';
import { fitted, pushTo, type MethodEnv, type WarmMethod } from './baselines/method.js';
import type { Backbone } from './backbone.js';
import { crossFitUsers, type CrossFitOpts, type CrossFitUsers } from './crossfit.js';
import type { DeepFMBackbone } from './backbone-deepfm.js';

// the three EmerFlow rows of one seed share one backbone, so they share its out-of-fold user vectors
const crossFitCache = new WeakMap<Backbone, Promise<CrossFitUsers>>();

export interface EmerFlowEvalOpts {
  name: 'emerflow' | 'emerflow-raw' | 'emerflow-nometa';
  /** text per item number; `emerflow-raw` ignores enrichment */
  texts: Map<number, ItemText>;
  /** the dataset's item ids, by item number - 1: the ids the model's training data names items by */
  ids: readonly string[];
  /** hyper-parameters passed through to trainEmerFlow */
  hyper?: Partial<TrainOptions>;
  /** plain refinement for the no-meta ablation (tuned like the baselines' warm-up lr) */
  plain?: { steps: number; lr: number; pull: number };
  encoderDim?: number;
  scorer?: Scorer;
  /** per-fold context rows for non-dot backbones (crossfit.ts); the model cross-fits dot contexts itself */
  crossFit?: Omit<CrossFitOpts, 'seed'> | null;
}

const CROSSFIT_DEFAULTS: Omit<CrossFitOpts, 'seed'> = { folds: 4, epochs: 10, lr: 0.01, batch: 512, l2: 3e-2 };

// lr picked on seed 1 by warm-c AUC, the same rule as the baselines' warm-up lr: dot from {0.3, 1, 3, 10}
// with 5 steps; deepfm with 20 steps (as many as the rule takes there) from {0.1, 0.3} (0.7323 vs 0.7396)
const PLAIN_DEFAULTS: Record<Backbone['kind'], { steps: number; lr: number; pull: number }> = {
  dot: { steps: 5, lr: 3, pull: 0 },
  deepfm: { steps: 20, lr: 0.3, pull: 0 },
};

export class EmerFlowMethod implements WarmMethod {
  readonly name: string;
  private rt: EmerFlowRuntime | null = null;
  private encoder: TextEncoder | null = null;
  private cold = new Map<number, Float32Array>();
  private current = new Map<number, Float32Array>();
  private seen = new Map<number, Row[]>();
  private userVecs: Float32Array[] = [];
  private table: tf.Tensor2D | null = null;
  /** training metrics the model reports (for the results file) */
  metrics: Record<string, number> = {};
  artifact: unknown = null;

  constructor(
    private readonly env: MethodEnv,
    private readonly o: EmerFlowEvalOpts,
  ) {
    this.name = o.name;
  }

  private text(item: number): string {
    const t = this.o.texts.get(item);
    if (!t) return '';
    return serializeFeatures(t.raw, this.o.name === 'emerflow-raw' ? null : t.enrichment);
  }

  /** the frozen backbone as the model's Scorer: dot, or DeepFM with per-interaction context rows */
  private get scorer(): Scorer {
    return this.o.scorer ?? (this.env.bb.kind === 'deepfm' ? (this.env.bb as DeepFMBackbone).scorer : dotScorer);
  }

  private ctxRows(rows: Row[]): Float32Array[] {
    return this.env.bb.kind === 'deepfm' ? (this.env.bb as DeepFMBackbone).contexts(rows) : rows.map((r) => this.userVecs[r.user - 1]!);
  }

  /**
   * TrainingData as the service's training job assembles it from Postgres: items by id, each
   * item's events by time with ties in file order (trainBase is in time order, its ties in file
   * order, so a stable sort by item id keeps both), context rows in order of first use.
   */
  private serviceRecords(estR: Float32Array[], V: number[][]): TrainingData {
    const { split } = this.env;
    const id = (n: number) => this.o.ids[n - 1]!; // item numbers are 1..ids.length
    const items = split.established
      .map((n, j) => ({ id: id(n), r: estR[j]!, base: Float32Array.from(V[n - 1]!) })) // one r per established item
      .sort((a, b) => byCodeUnits(a.id, b.id));
    const events = [...split.trainBase]
      .sort((a, b) => byCodeUnits(id(a.item), id(b.item)))
      .map((r) => ({ itemId: id(r.item), userId: String(r.user), label: r.label, ts: r.ts * 1000 }));
    const users = new Map(this.userVecs.map((u, i) => [String(i + 1), u]));
    return assembleTrainingData({ dim: this.env.bb.dim, items, events, users }).data;
  }

  async fit(): Promise<void> {
    const { env, o } = this;
    const { bb, split } = env;
    const deep = bb.kind === 'deepfm';
    const U = bb.userEmb.arraySync();
    this.userVecs = U.map((r) => Float32Array.from(r));
    const V = bb.itemEmb.arraySync();
    // IDF comes from the whole catalogue's text (no interactions involved), as the service fits it on its items
    const catalogue = [...o.texts.keys()].sort((a, b) => a - b);
    const encoder = fitHashedTfidf(
      catalogue.map((i) => this.text(i)),
      o.encoderDim ? { dim: o.encoderDim } : {},
    );
    const estR = await encoder.encode(split.established.map((i) => this.text(i)));
    const byItem = new Map<number, Row[]>();
    for (const r of split.trainBase) pushTo(byItem, r.item, r);
    // dot: the model cross-fits the user vectors itself (trainEmerFlow's crossFitContexts), as in the
    // service. DeepFM's context rows are the caller's, so per-fold rows are built here (crossfit.ts).
    const cfOpts = deep ? (o.crossFit === undefined ? CROSSFIT_DEFAULTS : o.crossFit) : null;
    const baseRows = split.established.flatMap((item) => byItem.get(item) ?? []);
    const rowIndex = new Map<Row, number>(baseRows.map((r, i) => [r, i]));
    let cf: CrossFitUsers | null = null;
    if (cfOpts) {
      let pending = crossFitCache.get(bb);
      if (!pending) {
        pending = crossFitUsers(bb, split.trainBase, split.established, { ...cfOpts, seed: env.seed }, (f) => env.onProgress?.(0.2 * f));
        crossFitCache.set(bb, pending);
      }
      cf = await pending;
    }
    // rowIndex holds every established row, which are the rows interactions come from
    const ctxOf = (r: Row): number => (deep ? rowIndex.get(r)! : r.user - 1);
    // every established item has a fold; rows are [fold · nUsers + user]
    const cfUser =
      (u: CrossFitUsers) =>
      (r: Row): Float32Array =>
        u.contexts[u.foldOf.get(r.item)! * u.nUsers + r.user - 1]!;
    // dot: the records the service would hold (items and events in id order, the users' vectors),
    // assembled by the service's own function, so that the replay through the API (src/replay)
    // trains the same model from the same seed. DeepFM's contexts are per row, which the service has not.
    const data: TrainingData = deep
      ? {
          dim: bb.dim,
          contexts: (bb as DeepFMBackbone).contexts(baseRows, cf ? baseRows.map(cfUser(cf)) : undefined),
          items: split.established.map((item, j) => ({
            id: o.ids[item - 1]!, // item numbers are 1..ids.length
            r: estR[j]!, // one vector per established item
            base: Float32Array.from(V[item - 1]!),
            interactions: (byItem.get(item) ?? []).map((r) => ({ ctx: ctxOf(r), label: r.label, ts: r.ts })),
          })),
        }
      : this.serviceRecords(estR, V);
    const artifact = await trainEmerFlow(data, {
      seed: env.seed,
      encoder: encoder.state(),
      k: split.k,
      scorer: this.scorer,
      ...o.hyper,
      onProgress: (f) => env.onProgress?.(cf ? 0.2 + 0.8 * f : f),
    });
    this.metrics = artifact.metrics as Record<string, number>;
    this.artifact = artifact;
    this.rt = loadModel(artifact, this.scorer);
    this.encoder = encoder;
    const emR = await encoder.encode(split.emerging.map((i) => this.text(i)));
    this.rt.align(emR).forEach((cold, j) => {
      const item = split.emerging[j]!; // one aligned vector per emerging item
      this.cold.set(item, cold);
      this.current.set(item, cold);
    });
    this.rebuild();
  }

  async warm(_stage: number, rows: Row[]): Promise<void> {
    const rt = fitted(this.rt, this.name);
    for (const r of rows) pushTo(this.seen, r.item, r);
    const plain = this.o.plain ?? PLAIN_DEFAULTS[this.env.bb.kind];
    for (const [item, rs] of this.seen) {
      const ctx = this.ctxRows(rs);
      const inter = rs.map((r, i) => ({ ctx: ctx[i]!, label: r.label })); // one context row per row
      const cold = this.cold.get(item);
      if (!cold) throw new Error(`${this.name}: warm-up rows for item ${item}, which is not emerging`);
      // always from the cold embedding with every interaction so far (what the service's refine job does)
      this.current.set(
        item,
        this.o.name === 'emerflow-nometa' ? refinePlain(cold, inter, { ...plain, scorer: this.scorer }) : rt.refine(cold, inter),
      );
    }
    this.rebuild();
  }

  /** each emerging item's vector as the method serves it now (cold after fit(), refined after warm()) */
  vectors(): ReadonlyMap<number, Float32Array> {
    fitted(this.rt, this.name);
    return this.current;
  }

  /**
   * The trained model as the service holds it (after fit()): stored text → cold embedding (the embed
   * job), cold + an item's events → refined (the refine job). For re-deriving items elsewhere (retrain.ts).
   */
  served(): { cold(items: number[]): Promise<Float32Array[]>; refine(cold: Float32Array, rows: Row[]): Float32Array } {
    const rt = fitted(this.rt, this.name);
    const encoder = fitted(this.encoder, this.name);
    return {
      cold: async (items) => rt.align(await encoder.encode(items.map((i) => this.text(i)))),
      refine: (cold, rows) => {
        const ctx = this.ctxRows(rows);
        return rt.refine(
          cold,
          rows.map((r, i) => ({ ctx: ctx[i]!, label: r.label })),
        );
      },
    };
  }

  private rebuild(): void {
    const { bb, split } = this.env;
    const d = bb.dim;
    const flat = new Float32Array(split.emerging.length * d);
    split.emerging.forEach((item, j) => flat.set(this.current.get(item)!, j * d)); // fit() set every emerging item
    this.table?.dispose();
    this.table = tf.tidy(
      () =>
        tf.tensorScatterUpdate(
          bb.itemEmb,
          tf.tensor2d(
            Int32Array.from(split.emerging, (i) => i - 1),
            [split.emerging.length, 1],
            'int32',
          ),
          tf.tensor2d(flat, [split.emerging.length, d]),
        ) as tf.Tensor2D,
    );
  }

  embeddings(): tf.Tensor2D {
    return fitted(this.table, this.name);
  }
  dispose(): void {
    this.table?.dispose();
    this.rt?.dispose();
  }
}
