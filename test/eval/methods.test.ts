import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { runEval } from '../../src/eval/run.js';
import { ALL_METHODS } from '../../src/eval/methods.js';
import { renderMarkdown } from '../../src/eval/report-md.js';
import { renderSvg } from '../../src/eval/report-svg.js';

const DATA = resolve(process.env.EMERFLOW_DATA ?? '../shared/data');
const skip = existsSync(join(DATA, 'ml-100k', 'u.data')) ? false : `MovieLens-100k not found at ${DATA}`;

test('every method runs cold → warm-c on a small slice and the reports render', { skip, timeout: 120_000 }, async () => {
  const r = await runEval({
    dataset: 'ml-100k', dataDir: DATA, seeds: [1], backbone: 'dot', text: 'llm', methods: [...ALL_METHODS],
    hotThreshold: 200, k: 20, maxEmerging: 12, baseStride: 8, backboneOpts: { epochs: 2 },
    warmLr: 0.01, warmBatch: 128, metaEpochs: 1, quiet: true,
    emerflow: { hyper: { alignEpochs: 3, metaSteps: 3, folds: 0, evalEvery: 1 } },
  });
  assert.equal(r.counts.emerging, 12);
  assert.equal(r.results.length, ALL_METHODS.length * 4);
  for (const row of r.results) {
    assert.ok(row.auc >= 0 && row.auc <= 1, `${row.method} ${row.stage} auc ${row.auc}`);
    assert.ok(row.f1 >= 0 && row.f1 <= 1);
  }
  assert.ok(r.oracle.auc > 0 && r.oracle.auc <= 1);
  assert.match(renderMarkdown(r), /\| emerflow \|/);
  assert.match(renderSvg(r), /^<svg/);
});

test('the deepfm backbone runs the baselines and EmerFlow (its scorer plugged into the model) on a small slice', { skip, timeout: 120_000 }, async () => {
  const r = await runEval({
    dataset: 'ml-100k', dataDir: DATA, seeds: [2], backbone: 'deepfm', text: 'none', methods: ['base', 'mwuf', 'emerflow'],
    hotThreshold: 200, k: 20, maxEmerging: 8, baseStride: 8, backboneOpts: { epochs: 1 },
    warmBatch: 128, metaEpochs: 1, quiet: true,
    emerflow: { hyper: { alignEpochs: 2, metaSteps: 2, folds: 0, evalEvery: 1 } },
  });
  assert.deepEqual(r.errors, {});
  assert.equal(r.backbone, 'deepfm');
  for (const row of r.results) assert.ok(row.auc >= 0 && row.auc <= 1, `${row.method} ${row.stage}`);
});
