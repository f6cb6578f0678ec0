// One evaluation: split, per seed train the backbone, run every method through cold → warm-a/b/c, and the oracle.
import { initEvalBackend } from './tf.js';
import { loadDataset } from './dataset/load.js';
import { warmUpSplit, sliceEmerging, thinBase, type Split } from './protocol.js';
import { itemTexts, type TextMode } from './text.js';
import { buildItemFeatures } from './features.js';
import type { Backbone, BackboneOpts } from './backbone.js';
import { trainBackbone, type BackboneKind } from './backbones.js';
import { evaluate } from './evaluate.js';
import { meanStd } from './metrics.js';
import { Progress } from './progress.js';
import { createMethod, METHOD_COST, WARM_LR, type MethodName, type MethodTuning } from './methods.js';
import type { MethodEnv, WarmMethod } from './baselines/method.js';
import {
  createRetrainMethod,
  FastpathMethod,
  RETRAIN_COST,
  RETRAIN_METHODS,
  RETRAIN_SEED_OFFSET,
  type MapInfo,
  type RetrainMethod,
} from './retrain.js';

export const STAGES = ['cold', 'warm-a', 'warm-b', 'warm-c'] as const;

export interface EvalOptions {
  /** `ml-100k` (built in, read from dataDir) or a directory in the generic layout (docs/datasets.md) */
  dataset: string;
  dataDir: string;
  /** rating ≥ positive is a positive interaction (default 4; datasets with a 0/1 label ignore it) */
  positive?: number;
  seeds: number[];
  backbone: BackboneKind;
  text: TextMode;
  methods: MethodName[];
  hotThreshold: number;
  k: number;
  /** keep only the first N emerging items (quick runs, tests) */
  maxEmerging?: number;
  /** keep every n-th established rating (tests) */
  baseStride?: number;
  /** hyper-parameters passed to the service's trainEmerFlow (and the no-meta ablation's plain steps) */
  emerflow?: MethodTuning;
  backboneOpts?: Partial<BackboneOpts>;
  /** one warm-up lr for every baseline; default: per method (methods.ts WARM_LR) */
  warmLr?: number;
  warmBatch: number;
  metaEpochs: number;
  quiet?: boolean;
  /** simulate the recommender retraining (retrain.ts): RETRAIN_METHODS instead of `methods`, scored in the second space */
  retrain?: boolean;
}

export interface ResultRow {
  method: string;
  stage: string;
  auc: number;
  aucStd: number;
  f1: number;
  f1Std: number;
  perSeed: { seed: number; auc: number; f1: number }[];
}

export interface EvalResults {
  dataset: string;
  backbone: string;
  text: string;
  protocol: {
    hotThreshold: number;
    k: number;
    seeds: number[];
    warmLr: Record<string, number>;
    warmBatch: number;
    metaEpochs: number;
    maxEmerging: number | null;
  };
  counts: {
    established: number;
    emerging: number;
    trainBase: number;
    warm: number[];
    test: number;
    dropped: number;
    emergingWithText: number;
  };
  results: ResultRow[];
  oracle: { auc: number; aucStd: number; f1: number; f1Std: number };
  backend: string;
  seconds: number;
  methodSeconds: Record<string, number>;
  /** methods that threw, with the first line of the error */
  errors: Record<string, string>;
  /** with --retrain: the second space's seed offset, the fast path's map per seed, and the other maps' scores */
  retrain?: { seedOffset: number; maps: MapInfo[]; mapVariants: ResultRow[] };
}

function rows(acc: Map<string, { seed: number; auc: number; f1: number }[]>, names: readonly string[]): ResultRow[] {
  const out: ResultRow[] = [];
  for (const name of names) {
    for (const stage of STAGES) {
      const xs = acc.get(`${name}\u0000${stage}`) ?? [];
      const a = meanStd(xs.map((x) => x.auc));
      const f = meanStd(xs.map((x) => x.f1));
      out.push({ method: name, stage, auc: a.mean, aucStd: a.std, f1: f.mean, f1Std: f.std, perSeed: xs });
    }
  }
  return out;
}

export const DEFAULT_BACKBONE: Record<BackboneKind, BackboneOpts> = {
  dot: { seed: 0, dim: 16, epochs: 10, lr: 0.01, batch: 512, l2: 3e-2 },
  deepfm: { seed: 0, dim: 16, epochs: 10, lr: 0.005, batch: 512, l2: 3e-2 },
};

export async function runEval(o: EvalOptions): Promise<EvalResults> {
  const t0 = Date.now();
  const backend = await initEvalBackend();
  const ds = loadDataset(o.dataset, { dataDir: o.dataDir, text: o.text, positive: o.positive });
  let split: Split = warmUpSplit(ds, o.hotThreshold, o.k);
  if (o.maxEmerging !== undefined) split = sliceEmerging(split, o.maxEmerging);
  if (o.baseStride !== undefined) split = thinBase(split, o.baseStride);
  const texts = itemTexts(ds);
  const feats = buildItemFeatures(ds);
  const data = { nUsers: ds.users.length, nItems: ds.items.length, ds, feats };

  // --retrain runs its own three methods, with a second backbone to train per seed
  const names: readonly string[] = o.retrain ? RETRAIN_METHODS : o.methods;
  const cost = (name: string): number => (o.retrain ? RETRAIN_COST[name as RetrainMethod] : METHOD_COST[name as MethodName]);
  const perSeedCost = (o.retrain ? 3 : 2) + names.reduce((a, m) => a + cost(m), 0);
  const bar = new Progress(perSeedCost * o.seeds.length, process.stderr, o.quiet);
  const acc = new Map<string, { seed: number; auc: number; f1: number }[]>();
  const oracle: { auc: number; f1: number }[] = [];
  const methodSeconds: Record<string, number> = {};
  const errors: Record<string, string> = {};
  const maps: MapInfo[] = [];
  const variantAcc = new Map<string, { seed: number; auc: number; f1: number }[]>();
  const push = (into: typeof acc, key: string, x: { seed: number; auc: number; f1: number }) =>
    into.set(key, [...(into.get(key) ?? []), x]);

  for (const seed of o.seeds) {
    let at = bar.position;
    const bo: BackboneOpts = { ...DEFAULT_BACKBONE[o.backbone], ...o.backboneOpts, seed };
    const bb: Backbone = await trainBackbone(o.backbone, split.trainBase, data, bo, (f) => bar.at(at, 1, f, `seed ${seed} backbone`));
    at += 1;
    // --retrain: the recommender's next version, the same ratings and recipe with another seed; scoring happens there
    let bb2: Backbone | null = null;
    if (o.retrain) {
      bb2 = await trainBackbone(o.backbone, split.trainBase, data, { ...bo, seed: seed + RETRAIN_SEED_OFFSET }, (f) =>
        bar.at(at, 1, f, `seed ${seed} backbone, second space`),
      );
      at += 1;
    }
    const target = bb2 ?? bb;
    // oracle: the same backbone recipe with the emerging items' warm ratings in training from the start
    const ob = await trainBackbone(
      o.backbone,
      [...split.trainBase, ...split.warm[0], ...split.warm[1], ...split.warm[2]],
      data,
      bb2 ? { ...bo, seed: seed + RETRAIN_SEED_OFFSET } : bo,
      (f) => bar.at(at, 1, f, `seed ${seed} oracle`),
    );
    oracle.push(evaluate(ob, ob.itemEmb, split.test));
    ob.dispose();
    at += 1;
    for (const name of names) {
      const w = cost(name);
      const ts = Date.now();
      const env: MethodEnv = {
        bb: target,
        split,
        feats,
        seed,
        warmLr: o.warmLr ?? (o.retrain ? 0 : WARM_LR[name as MethodName]),
        warmBatch: o.warmBatch,
        metaEpochs: o.metaEpochs,
      };
      const textEnv = { texts, ds };
      const m: WarmMethod = o.retrain
        ? createRetrainMethod(name as RetrainMethod, { ...env, bb }, env, textEnv, o.emerflow)
        : createMethod(name as MethodName, env, textEnv, o.emerflow);
      const start = at;
      env.onProgress = (f) => bar.at(start, w * 0.7, f, `seed ${seed} ${name} fit`);
      bar.at(start, w, 0, `seed ${seed} ${name} fit`);
      try {
        await m.fit();
        if (m instanceof FastpathMethod) maps.push(m.mapInfo(seed));
        for (let s = 0; s < STAGES.length; s++) {
          if (s > 0) await m.warm(s - 1, split.warm[s - 1]!);
          const sc = evaluate(target, m.embeddings(), split.test);
          push(acc, `${name}\u0000${STAGES[s]}`, { seed, ...sc });
          if (m instanceof FastpathMethod)
            for (const [variant, table] of m.variantTables()) {
              push(variantAcc, `${name} (${variant})\u0000${STAGES[s]}`, { seed, ...evaluate(target, table, split.test) });
              table.dispose();
            }
          bar.at(start, w, 0.7 + 0.1 * s, `seed ${seed} ${name} ${STAGES[s]}`);
        }
      } catch (e) {
        // one broken method must not cost the whole run: record it and carry on
        errors[name] = `seed ${seed}: ${(e as Error).message.split('\n')[0]}`;
      }
      m.dispose();
      methodSeconds[name] = (methodSeconds[name] ?? 0) + (Date.now() - ts) / 1000;
      at += w;
      bar.at(at, 0, 0);
    }
    bb.dispose();
    bb2?.dispose();
  }
  bar.finish();

  const results = rows(acc, names);
  const variantNames = [...new Set([...variantAcc.keys()].map((k) => k.split('\u0000')[0]!))];
  const oa = meanStd(oracle.map((x) => x.auc));
  const of = meanStd(oracle.map((x) => x.f1));
  feats.dispose();
  return {
    dataset: ds.name,
    backbone: o.backbone,
    text: o.text,
    protocol: {
      hotThreshold: o.hotThreshold,
      k: o.k,
      seeds: o.seeds,
      warmLr: Object.fromEntries(names.filter((m) => !m.startsWith('emerflow')).map((m) => [m, o.warmLr ?? WARM_LR[m as MethodName]])),
      warmBatch: o.warmBatch,
      metaEpochs: o.metaEpochs,
      maxEmerging: o.maxEmerging ?? null,
    },
    counts: {
      established: split.established.length,
      emerging: split.emerging.length,
      trainBase: split.trainBase.length,
      warm: split.warm.map((w) => w.length),
      test: split.test.length,
      dropped: split.dropped,
      emergingWithText: split.emerging.filter((i) => texts.get(i)?.enrichment).length,
    },
    results,
    oracle: { auc: oa.mean, aucStd: oa.std, f1: of.mean, f1Std: of.std },
    backend,
    seconds: Math.round((Date.now() - t0) / 100) / 10,
    methodSeconds,
    errors,
    ...(o.retrain ? { retrain: { seedOffset: RETRAIN_SEED_OFFSET, maps, mapVariants: rows(variantAcc, variantNames) } } : {}),
  };
}
