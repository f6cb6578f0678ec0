import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mergeResults } from '../../src/eval/merge.js';
import type { EvalResults } from '../../src/eval/run.js';

function part(seed: number, auc: number, oracle: number, over: Partial<EvalResults> = {}): EvalResults {
  return {
    dataset: 'ml-100k',
    backbone: 'deepfm',
    text: 'llm',
    protocol: { hotThreshold: 200, k: 20, seeds: [seed], warmLr: {}, warmBatch: 128, metaEpochs: 4, maxEmerging: null },
    counts: { established: 117, emerging: 419, trainBase: 1, warm: [1, 1, 1], test: 1, dropped: 0, emergingWithText: 0 },
    results: [{ method: 'emerflow', stage: 'cold', auc, aucStd: 0, f1: 0.5, f1Std: 0, perSeed: [{ seed, auc, f1: 0.5 }] }],
    oracle: { auc: oracle, aucStd: 0, f1: 0.6, f1Std: 0 },
    backend: 'wasm',
    seconds: 10,
    methodSeconds: { emerflow: 7 },
    errors: {},
    ...over,
  };
}

test('merging per-seed runs gives the means and population stds of one run', () => {
  const m = mergeResults([part(2, 0.7, 0.8), part(1, 0.6, 0.7)]);
  assert.deepEqual(m.protocol.seeds, [1, 2]);
  const row = m.results[0]!;
  assert.deepEqual(
    row.perSeed.map((x) => x.seed),
    [1, 2],
  );
  assert.ok(Math.abs(row.auc - 0.65) < 1e-12);
  assert.ok(Math.abs(row.aucStd - 0.05) < 1e-12); // population std of {0.6, 0.7}
  assert.ok(Math.abs(m.oracle.auc - 0.75) < 1e-12);
  assert.ok(Math.abs(m.oracle.aucStd - 0.05) < 1e-12);
  assert.equal(m.methodSeconds.emerflow, 14);
});

test('merging refuses different evaluations and repeated seeds', () => {
  assert.throws(() => mergeResults([part(1, 0.6, 0.7), part(2, 0.6, 0.7, { backbone: 'dot' })]), /backbone differs/);
  assert.throws(() => mergeResults([part(1, 0.6, 0.7), part(1, 0.6, 0.7)]), /seed listed twice/);
  assert.throws(() => mergeResults([]), /nothing to merge/);
});
