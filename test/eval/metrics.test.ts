import { test } from 'node:test';
import assert from 'node:assert/strict';
import { auc, f1AtMean, meanStd } from '../../src/eval/metrics.js';

test('AUC matches hand-computed values, ties count one half', () => {
  // positives {0.8, 0.4}, negatives {0.6, 0.2}: pairs (0.8>0.6),(0.8>0.2),(0.4<0.6),(0.4>0.2) → 3/4
  assert.equal(auc([1, 0, 1, 0], [0.8, 0.6, 0.4, 0.2]), 0.75);
  // perfect and reversed rankings
  assert.equal(auc([0, 0, 1, 1], [0.1, 0.2, 0.3, 0.4]), 1);
  assert.equal(auc([1, 1, 0, 0], [0.1, 0.2, 0.3, 0.4]), 0);
  // one tie between a positive and a negative: pairs (0.5=0.5)→½, (0.5>0.1)→1, (0.9>0.5), (0.9>0.1) → 3.5/4
  assert.equal(auc([1, 0, 1, 0], [0.5, 0.5, 0.9, 0.1]), 0.875);
  // all scores equal → 0.5 (sklearn gives the same)
  assert.equal(auc([1, 0, 1, 0, 0], [0.3, 0.3, 0.3, 0.3, 0.3]), 0.5);
  assert.ok(Number.isNaN(auc([1, 1], [0.2, 0.3])), 'one class only → undefined');
});

test('F1 thresholds at the mean score, as CVAR/EmerG test()', () => {
  // scores mean 0.5: predicted positive = {0.9, 0.7}; labels 1,0,1,0 → tp 1 (0.9), fp 1 (0.7), fn 1 (0.2)
  assert.equal(f1AtMean([1, 0, 0, 1], [0.9, 0.7, 0.2, 0.2]), (2 * 1) / (2 * 1 + 1 + 1));
  // strict ">" at the mean: a score equal to the mean is predicted negative
  assert.equal(f1AtMean([1, 0], [0.5, 0.5]), 0);
  assert.equal(f1AtMean([1, 1, 0], [0.9, 0.8, 0.1]), 1);
});

test('mean and population std over seeds', () => {
  const r = meanStd([0.7, 0.72, 0.74]);
  assert.ok(Math.abs(r.mean - 0.72) < 1e-12);
  assert.ok(Math.abs(r.std - Math.sqrt((0.0004 + 0 + 0.0004) / 3)) < 1e-12);
  assert.equal(meanStd([0.5]).std, 0);
});
