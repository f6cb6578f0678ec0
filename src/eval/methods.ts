// Method registry: names on the command line → implementations.
import type { MethodEnv, WarmMethod } from './baselines/method.js';
import type { MovieLens } from './movielens.js';
import type { ItemText, TextMode } from './text.js';
import { BaseMethod } from './baselines/base.js';

export const ALL_METHODS = ['base', 'metaemb', 'mwuf', 'cvar', 'emerflow', 'emerflow-raw', 'emerflow-nometa'] as const;
export type MethodName = (typeof ALL_METHODS)[number];

/** rough relative run time, for the progress bar */
export const METHOD_COST: Record<MethodName, number> = { base: 1, metaemb: 2, mwuf: 2, cvar: 3, emerflow: 4, 'emerflow-raw': 4, 'emerflow-nometa': 4 };

export interface TextEnv { texts: Map<number, ItemText>; ml: MovieLens; dataDir: string; text: TextMode }

export function createMethod(name: MethodName, env: MethodEnv, _t: TextEnv): WarmMethod {
  switch (name) {
    case 'base': return new BaseMethod(env);
    default: throw new Error(`method ${name} not implemented yet`);
  }
}
