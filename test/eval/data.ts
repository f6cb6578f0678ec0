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

/** The small slice the eval tests run on: one seed, a dozen emerging items, a few epochs everywhere. */
export const SLICE: Omit<EvalOptions, 'methods'> = {
  dataset: 'ml-100k',
  dataDir: DATA,
  seeds: [1],
  backbone: 'dot',
  text: 'llm',
  hotThreshold: 200,
  k: 20,
  maxEmerging: 12,
  baseStride: 16,
  backboneOpts: { epochs: 2 },
  warmBatch: 128,
  metaEpochs: 1,
  quiet: true,
  emerflow: { hyper: { alignEpochs: 3, metaSteps: 3, folds: 0, evalEvery: 1 } },
};
