// One evaluation: split, per seed train the backbone, run every method through cold → warm-a/b/c, and the oracle.
import { initEvalBackend } from './tf.js';
import { loadMl100k } from './movielens.js';
import { warmUpSplit, sliceEmerging, thinBase, type Split } from './protocol.js';
import { itemTexts, type TextMode } from './text.js';
import { buildItemFeatures } from './features.js';
import type { Backbone, BackboneOpts } from './backbone.js';
import { trainBackbone, type BackboneKind } from './backbones.js';
import { evaluate } from './evaluate.js';
import { meanStd } from './metrics.js';
import { Progress } from './progress.js';
import { createMethod, METHOD_COST, WARM_LR, type MethodName, type MethodTuning } from './methods.js';
import type { MethodEnv } from './baselines/method.js';

export const STAGES = ['cold', 'warm-a', 'warm-b', 'warm-c'] as const;

export interface EvalOptions {
  dataset: 'ml-100k';
  dataDir: string;
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
}

const DEFAULT_BACKBONE: Record<BackboneKind, BackboneOpts> = {
  dot: { seed: 0, dim: 16, epochs: 10, lr: 0.01, batch: 512, l2: 3e-2 },
  deepfm: { seed: 0, dim: 16, epochs: 10, lr: 0.005, batch: 512, l2: 3e-2 },
};

export async function runEval(o: EvalOptions): Promise<EvalResults> {
  const t0 = Date.now();
  const backend = await initEvalBackend();
  const ml = loadMl100k(o.dataDir);
  let split: Split = warmUpSplit(ml, o.hotThreshold, o.k);
  if (o.maxEmerging !== undefined) split = sliceEmerging(split, o.maxEmerging);
  if (o.baseStride !== undefined) split = thinBase(split, o.baseStride);
  const texts = itemTexts(ml.movies, o.text, o.dataDir);
  const feats = buildItemFeatures(ml.movies, ml.genreNames);
  const nUsers = Math.max(...ml.users.map((u) => u.id));
  const nItems = Math.max(...ml.movies.map((m) => m.id));

  const perSeedCost = 2 + o.methods.reduce((a, m) => a + METHOD_COST[m], 0);
  const bar = new Progress(perSeedCost * o.seeds.length, process.stderr, o.quiet);
  const acc = new Map<string, { seed: number; auc: number; f1: number }[]>();
  const oracle: { auc: number; f1: number }[] = [];
  const methodSeconds: Record<string, number> = {};
  const errors: Record<string, string> = {};

  for (const seed of o.seeds) {
    let at = bar.position;
    const bo: BackboneOpts = { ...DEFAULT_BACKBONE[o.backbone], ...o.backboneOpts, seed };
    const bb: Backbone = await trainBackbone(o.backbone, split.trainBase, { nUsers, nItems, ml, feats }, bo, (f) =>
      bar.at(at, 1, f, `seed ${seed} backbone`),
    );
    at += 1;
    // oracle: the same backbone recipe with the emerging items' warm ratings in training from the start
    const ob = await trainBackbone(
      o.backbone,
      [...split.trainBase, ...split.warm[0], ...split.warm[1], ...split.warm[2]],
      { nUsers, nItems, ml, feats },
      bo,
      (f) => bar.at(at, 1, f, `seed ${seed} oracle`),
    );
    oracle.push(evaluate(ob, ob.itemEmb, split.test));
    ob.dispose();
    at += 1;
    for (const name of o.methods) {
      const w = METHOD_COST[name];
      const ts = Date.now();
      const env: MethodEnv = {
        bb,
        split,
        feats,
        seed,
        warmLr: o.warmLr ?? WARM_LR[name],
        warmBatch: o.warmBatch,
        metaEpochs: o.metaEpochs,
      };
      const m = createMethod(name, env, { texts, ml, dataDir: o.dataDir, text: o.text }, o.emerflow);
      const start = at;
      env.onProgress = (f) => bar.at(start, w * 0.7, f, `seed ${seed} ${name} fit`);
      bar.at(start, w, 0, `seed ${seed} ${name} fit`);
      try {
        await m.fit();
        for (let s = 0; s < STAGES.length; s++) {
          if (s > 0) await m.warm(s - 1, split.warm[s - 1]!);
          const sc = evaluate(bb, m.embeddings(), split.test);
          const key = `${name}\u0000${STAGES[s]}`;
          acc.set(key, [...(acc.get(key) ?? []), { seed, ...sc }]);
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
  }
  bar.finish();

  const results: ResultRow[] = [];
  for (const name of o.methods) {
    for (const stage of STAGES) {
      const xs = acc.get(`${name}\u0000${stage}`) ?? [];
      const a = meanStd(xs.map((x) => x.auc));
      const f = meanStd(xs.map((x) => x.f1));
      results.push({ method: name, stage, auc: a.mean, aucStd: a.std, f1: f.mean, f1Std: f.std, perSeed: xs });
    }
  }
  const oa = meanStd(oracle.map((x) => x.auc));
  const of = meanStd(oracle.map((x) => x.f1));
  feats.year.dispose();
  feats.genres.dispose();
  feats.title.dispose();
  return {
    dataset: o.dataset,
    backbone: o.backbone,
    text: o.text,
    protocol: {
      hotThreshold: o.hotThreshold,
      k: o.k,
      seeds: o.seeds,
      warmLr: Object.fromEntries(o.methods.filter((m) => !m.startsWith('emerflow')).map((m) => [m, o.warmLr ?? WARM_LR[m]])),
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
  };
}
