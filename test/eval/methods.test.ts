import assert from 'node:assert/strict';
import { runEval } from '../../src/eval/run.js';
import { ALL_METHODS } from '../../src/eval/methods.js';
import { renderMarkdown } from '../../src/eval/report-md.js';
import { renderSvg } from '../../src/eval/report-svg.js';
import { dataTest, DEEPFM_EMERFLOW, SLICE } from './data.js';

dataTest('every method runs cold → warm-c on a small slice and the reports render', { timeout: 120_000 }, async (t) => {
  const r = await runEval({
    ...SLICE,
    methods: [...ALL_METHODS],
    warmLr: 0.01,
  });
  await t.test('no method failed', () => assert.deepEqual(r.errors, {}));
  await t.test('the slice and one row per method and stage', () => {
    assert.equal(r.counts.emerging, SLICE.maxEmerging);
    assert.equal(r.results.length, ALL_METHODS.length * 4);
  });
  await t.test('AUC and F1 are in [0, 1] everywhere, the oracle too', () => {
    for (const row of r.results) {
      assert.ok(row.auc >= 0 && row.auc <= 1, `${row.method} ${row.stage} auc ${row.auc}`);
      assert.ok(row.f1 >= 0 && row.f1 <= 1, `${row.method} ${row.stage} f1 ${row.f1}`);
    }
    assert.ok(r.oracle.auc > 0 && r.oracle.auc <= 1);
  });
  await t.test('the markdown and SVG reports render', () => {
    assert.match(renderMarkdown(r), /\| emerflow \|/);
    assert.match(renderSvg(r), /^<svg/);
  });
});

dataTest(
  'the deepfm backbone runs the baselines and EmerFlow (its scorer plugged into the model) on a small slice',
  { timeout: 120_000 },
  async () => {
    const r = await runEval({
      ...SLICE,
      seeds: [2],
      backbone: 'deepfm',
      text: 'none',
      methods: ['base', 'mwuf', 'emerflow'],
      emerflow: DEEPFM_EMERFLOW,
    });
    assert.deepEqual(r.errors, {});
    assert.equal(r.backbone, 'deepfm');
    for (const row of r.results) assert.ok(row.auc >= 0 && row.auc <= 1, `${row.method} ${row.stage}`);
  },
);
