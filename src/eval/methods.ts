// Method registry: names on the command line → implementations.
import type { MethodEnv, WarmMethod } from './baselines/method.js';
import type { Dataset } from './dataset/types.js';
import type { ItemText } from './text.js';
import { BaseMethod } from './baselines/base.js';
import { MetaEmbMethod } from './baselines/metaemb.js';
import { MwufMethod } from './baselines/mwuf.js';
import { CvarMethod } from './baselines/cvar.js';
import { EmerFlowMethod, type EmerFlowEvalOpts } from './emerflow.js';

export const ALL_METHODS = ['base', 'metaemb', 'mwuf', 'cvar', 'emerflow', 'emerflow-raw', 'emerflow-nometa'] as const;
export type MethodName = (typeof ALL_METHODS)[number];

/**
 * Adam step size for updating emerging items' id embeddings on each warm set (1 epoch, batch 128).
 * Picked per method on seed 1 from {0.003, 0.01, 0.03, 0.1} by warm-c AUC (base and metaemb
 * peaked at 0.03, mwuf and cvar at 0.01); --warm-lr overrides all.
 */
export const WARM_LR: Record<MethodName, number> = {
  base: 0.03,
  metaemb: 0.03,
  mwuf: 0.01,
  cvar: 0.01,
  emerflow: 0,
  'emerflow-raw': 0,
  'emerflow-nometa': 0,
};

/** rough relative run time, for the progress bar */
export const METHOD_COST: Record<MethodName, number> = {
  base: 1,
  metaemb: 2,
  mwuf: 2,
  cvar: 3,
  emerflow: 4,
  'emerflow-raw': 4,
  'emerflow-nometa': 4,
};

export interface TextEnv {
  texts: Map<number, ItemText>;
  ds: Dataset;
}

/** What every EmerFlow row is built from: the items' text and the dataset's own item ids. */
export const emerflowInputs = (t: TextEnv): Pick<EmerFlowEvalOpts, 'texts' | 'ids'> => ({
  texts: t.texts,
  ids: t.ds.items.map((it) => it.id),
});

/** what a caller may tune in EmerFlow's rows; `crossFit` is for the tests' quick DeepFM runs (the CLI keeps the defaults) */
export type MethodTuning = Pick<EmerFlowEvalOpts, 'hyper' | 'plain' | 'encoderDim' | 'crossFit'>;

export function createMethod(name: MethodName, env: MethodEnv, t: TextEnv, tuning: MethodTuning = {}): WarmMethod {
  switch (name) {
    case 'base':
      return new BaseMethod(env);
    case 'metaemb':
      return new MetaEmbMethod(env);
    case 'mwuf':
      return new MwufMethod(env);
    case 'cvar':
      return new CvarMethod(env);
    case 'emerflow':
    case 'emerflow-raw':
    case 'emerflow-nometa':
      return new EmerFlowMethod(env, { name, ...emerflowInputs(t), ...tuning });
  }
}
