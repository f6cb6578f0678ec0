// `--retrain`: the recommender retrains. The backbone is trained twice on the same ratings with
// different seeds (space 1: seed s, space 2: seed s + RETRAIN_SEED_OFFSET), two spaces whose axes
// have nothing to do with each other; every method is scored with backbone 2, as lookups after a
// promotion are.
// - `emerflow`: EmerFlow trained on space 2 from the start (what a fresh deployment would serve).
// - `emerflow-fastpath`: EmerFlow's state built in space 1 — cold, then refined with each warm set —
//   mapped into space 2 by fitVersionMap, fitted on the established items' two backbone vectors.
//   The promote job's fast path: no training, a usable v-vector for every item at once.
// - `emerflow-migrated`: what promotion ends with (the full path): a model trained on space 2's
//   established items; each emerging item re-derived from what the service stores — its text
//   gives the cold embedding (the embed job), its stored events, all of them so far, refine it in
//   one step from that cold embedding (embed.ts/refine.ts). Re-derived from scratch at the end of
//   every stage, as if the promotion ran then. By construction this is the native method's
//   computation: the model is trained on the same data with the same seed, and native refinement
//   already starts from the cold embedding with every event so far, which is what the service's
//   refine job does. It is computed through its own path anyway (its own training run, the events
//   replayed at promotion time rather than stage by stage), so the eval shows whether anything —
//   a non-deterministic training run, the event order, the event cap — makes them differ.
import { tf } from './tf.js';
import { fitVersionMap, type VersionMap, type VersionMapOptions } from '../model/index.js';
import type { Row } from './protocol.js';
import { EmerFlowMethod } from './emerflow.js';
import { fitted, pushTo, scatterEmerging, type MethodEnv, type WarmMethod } from './baselines/method.js';
import { emerflowInputs, type MethodTuning, type TextEnv } from './methods.js';

export const RETRAIN_METHODS = ['emerflow', 'emerflow-fastpath', 'emerflow-migrated'] as const;
export type RetrainMethod = (typeof RETRAIN_METHODS)[number];

/** rough relative run time, for the progress bar: each trains one EmerFlow model */
export const RETRAIN_COST: Record<RetrainMethod, number> = { emerflow: 4, 'emerflow-fastpath': 4, 'emerflow-migrated': 4 };

/** space 2's backbone is trained with seed + this */
export const RETRAIN_SEED_OFFSET = 1000;

/** the service's default REFINE_MAX_INTERACTIONS (src/config.ts): an item is refined on its most recent events */
export const REFINE_MAX_INTERACTIONS = 200;

/** Other maps scored beside the fast path's default (Procrustes, least-squares scale): what scale and rotation buy. */
export const MAP_VARIANTS: Record<string, VersionMapOptions> = {
  'procrustes, no scale': { kind: 'procrustes', scale: 'none' },
  'procrustes, norm scale': { kind: 'procrustes', scale: 'norm' },
  ridge: { kind: 'ridge' },
};

export interface MapInfo {
  seed: number;
  kind: string;
  pairs: number;
  fitError: number;
  scale: number | null;
  variants: Record<string, { fitError: number }>;
}

/** One row per item: the [nItems, dim] table of `bb` with the emerging rows replaced (in split.emerging order). */
function tableWith(env: MethodEnv, rows: Float32Array[]): tf.Tensor2D {
  const d = env.bb.dim;
  const flat = new Float32Array(rows.length * d);
  rows.forEach((v, j) => flat.set(v, j * d));
  return tf.tidy(() => scatterEmerging(env, env.bb.itemEmb, tf.tensor2d(flat, [rows.length, d])));
}

/** EmerFlow in space 1 (env1), its vectors mapped into space 2 (env2). */
export class FastpathMethod implements WarmMethod {
  readonly name = 'emerflow-fastpath';
  private readonly inner: EmerFlowMethod;
  private map: VersionMap | null = null;
  private variants = new Map<string, VersionMap>();
  private table: tf.Tensor2D | null = null;

  constructor(
    private readonly env1: MethodEnv,
    private readonly env2: MethodEnv,
    t: TextEnv,
    tuning: MethodTuning,
  ) {
    this.inner = new EmerFlowMethod(env1, { name: 'emerflow', ...emerflowInputs(t), ...tuning });
  }

  async fit(): Promise<void> {
    await this.inner.fit();
    // the pairs: items established in both versions, each with its vector from either backbone
    const idx = tf.tensor1d(
      this.env1.split.established.map((i) => i - 1),
      'int32',
    );
    const rows = (bb: MethodEnv['bb']) => {
      const g = tf.gather(bb.itemEmb, idx);
      const a = (g.arraySync() as number[][]).map((r) => Float32Array.from(r));
      g.dispose();
      return a;
    };
    const from = rows(this.env1.bb);
    const to = rows(this.env2.bb);
    idx.dispose();
    this.map = fitVersionMap(from, to);
    for (const [name, opts] of Object.entries(MAP_VARIANTS)) this.variants.set(name, fitVersionMap(from, to, opts));
    this.rebuild();
  }

  async warm(stage: number, rows: Row[]): Promise<void> {
    await this.inner.warm(stage, rows);
    this.rebuild();
  }

  private mapped(map: VersionMap): Float32Array[] {
    const v = this.inner.vectors();
    return this.env2.split.emerging.map((item) => map.apply(v.get(item)!)); // inner.fit() set every emerging item
  }

  private rebuild(): void {
    this.table?.dispose();
    this.table = tableWith(this.env2, this.mapped(fitted(this.map, this.name)));
  }

  embeddings(): tf.Tensor2D {
    return fitted(this.table, this.name);
  }

  /** the tables the other maps give at this stage; the caller disposes them */
  variantTables(): [string, tf.Tensor2D][] {
    return [...this.variants].map(([name, map]) => [name, tableWith(this.env2, this.mapped(map))]);
  }

  mapInfo(seed: number): MapInfo {
    const m = fitted(this.map, this.name);
    const j = m.toJSON() as { scale?: number };
    return {
      seed,
      kind: m.kind,
      pairs: m.pairs,
      fitError: m.fitError,
      scale: j.scale ?? null,
      variants: Object.fromEntries([...this.variants].map(([name, v]) => [name, { fitError: v.fitError }])),
    };
  }

  dispose(): void {
    this.table?.dispose();
    this.inner.dispose();
  }
}

/** Promotion into space 2: a model trained there, every item re-derived from its text and stored events. */
export class MigratedMethod implements WarmMethod {
  readonly name = 'emerflow-migrated';
  private readonly model: EmerFlowMethod;
  /** the space's stored events: they belong to the space, not to a version, so promotion reads them all */
  private readonly stored = new Map<number, Row[]>();
  private table: tf.Tensor2D | null = null;

  constructor(
    private readonly env2: MethodEnv,
    t: TextEnv,
    tuning: MethodTuning,
  ) {
    // the promote job's training run for the new version: its own run, on space 2's established items
    this.model = new EmerFlowMethod(env2, { name: 'emerflow', ...emerflowInputs(t), ...tuning });
  }

  async fit(): Promise<void> {
    await this.model.fit();
    await this.promote();
  }

  async warm(_stage: number, rows: Row[]): Promise<void> {
    // events are recorded, nothing is computed from them here: the promotion below reads them back
    for (const r of rows) pushTo(this.stored, r.item, r);
    await this.promote();
  }

  /** embed.ts for every emerging item: cold from its text, then refined at once from its most recent events */
  private async promote(): Promise<void> {
    const served = this.model.served();
    const items = this.env2.split.emerging;
    const cold = await served.cold(items);
    const rows = items.map((item, k) => {
      // oldest first, as the service loads them (a stable sort keeps arrival order among equal times)
      const events = [...(this.stored.get(item) ?? [])].sort((a, b) => a.ts - b.ts).slice(-REFINE_MAX_INTERACTIONS);
      return events.length ? served.refine(cold[k]!, events) : cold[k]!; // one cold vector per item
    });
    this.table?.dispose();
    this.table = tableWith(this.env2, rows);
  }

  embeddings(): tf.Tensor2D {
    return fitted(this.table, this.name);
  }

  dispose(): void {
    this.table?.dispose();
    this.model.dispose();
  }
}

/** `env2` scores (space 2); `env1` is space 1, where the fast path's state is built. */
export function createRetrainMethod(
  name: RetrainMethod,
  env1: MethodEnv,
  env2: MethodEnv,
  t: TextEnv,
  tuning: MethodTuning = {},
): WarmMethod {
  switch (name) {
    case 'emerflow':
      return new EmerFlowMethod(env2, { name: 'emerflow', ...emerflowInputs(t), ...tuning });
    case 'emerflow-fastpath':
      return new FastpathMethod(env1, env2, t, tuning);
    case 'emerflow-migrated':
      return new MigratedMethod(env2, t, tuning);
  }
}
