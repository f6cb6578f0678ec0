// Where the eval tests find MovieLens-100k, and what they do without it. CI always has the
// shared data beside its checkout, so there a missing data set fails the tests that need it;
// elsewhere they are skipped, with the reason in the test report.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { EvalOptions } from '../../src/eval/run.js';

export const DATA = resolve(process.env.EMERFLOW_DATA ?? '../shared/data');

const ci = !['', '0', 'false'].includes((process.env.CI ?? '').toLowerCase());
const missing = existsSync(join(DATA, 'ml-100k', 'u.data'))
  ? null
  : `MovieLens-100k not found at ${DATA} (set EMERFLOW_DATA or put the shared data beside the checkout)`;

/** test() for a test that reads the data: runs it, skips it with the reason, or (under CI) fails it. */
export function dataTest(name: string, opts: { timeout?: number }, fn: (t: TestContext) => void | Promise<void>): void {
  if (!missing) test(name, opts, fn);
  else if (ci) test(name, opts, () => assert.fail(`${missing}; CI always has it beside its checkout`));
  else test(name, { ...opts, skip: missing }, fn);
}

/**
 * The small slice the ml-100k eval tests run on: tests of plumbing (every method and stage runs, the
 * results line up, two paths agree), not of quality, so as little work as still runs every path. One
 * seed; the 32 items with more than 300 ratings as established, every 25th of their ratings (504 rows,
 * 9 to 27 per item: enough for MetaEmb's four chunks and for EmerFlow's tasks); 4 emerging items; one
 * epoch or step wherever training loops (a tenth of a meta-epoch is MetaEmb's 10 steps; MWUF still
 * runs its one epoch). EmerFlow's query horizons are cut to 4 interactions so that its meta stage
 * (and its early-stopping check) still has tasks on so few rows per item.
 */
export const SLICE: Omit<EvalOptions, 'methods'> = {
  dataset: 'ml-100k',
  dataDir: DATA,
  seeds: [1],
  backbone: 'dot',
  text: 'llm',
  hotThreshold: 300,
  k: 20,
  maxEmerging: 4,
  baseStride: 25,
  backboneOpts: { epochs: 1 },
  warmBatch: 128,
  metaEpochs: 0.1,
  quiet: true,
  emerflow: { hyper: { alignEpochs: 1, metaSteps: 1, folds: 0, evalEvery: 1, queryK: 4, valQueryK: 4 } },
};

/** DeepFM's EmerFlow on a slice: two inner steps instead of 20, and two one-epoch folds for its out-of-fold user vectors. */
export const DEEPFM_EMERFLOW: NonNullable<EvalOptions['emerflow']> = {
  hyper: { ...SLICE.emerflow?.hyper, steps: 2 },
  crossFit: { folds: 2, epochs: 1, lr: 0.01, batch: 512, l2: 3e-2 },
};
