// --retrain on a small slice: two backbones, the three methods per stage, each scored in the second
// space with a finite AUC; the fast path's map is reported; the migrated items, re-derived through
// their own training run and event replay, come out as the native method's (deterministic training).
import assert from 'node:assert/strict';
import { runEval } from '../../src/eval/run.js';
import { RETRAIN_METHODS, MAP_VARIANTS } from '../../src/eval/retrain.js';
import { STAGES } from '../../src/eval/run.js';
import { renderMarkdown } from '../../src/eval/report-md.js';
import { mergeResults } from '../../src/eval/merge.js';
import { dataTest, SLICE } from './data.js';

dataTest('--retrain runs emerflow, emerflow-fastpath and emerflow-migrated per stage on a small slice', { timeout: 120_000 }, async (t) => {
  const r = await runEval({
    ...SLICE,
    // the items' raw features are EmerFlow's text: the same path from text to embedding in both spaces,
    // without fitting the encoder on the LLM paragraphs three times (once per method)
    text: 'none',
    methods: [],
    retrain: true,
  });
  await t.test('no method failed', () => assert.deepEqual(r.errors, {}));
  await t.test('the three methods at every stage, with finite AUCs in [0, 1]', () => {
    assert.deepEqual(
      r.results.map((x) => `${x.method} ${x.stage}`),
      RETRAIN_METHODS.flatMap((m) => STAGES.map((s) => `${m} ${s}`)),
    );
    for (const row of r.results)
      assert.ok(Number.isFinite(row.auc) && row.auc >= 0 && row.auc <= 1, `${row.method} ${row.stage} ${row.auc}`);
  });
  await t.test('the fast path reports its map and the other maps are scored too', () => {
    const rt = r.retrain!;
    assert.equal(rt.maps.length, 1);
    assert.equal(rt.maps[0]!.kind, 'procrustes');
    assert.equal(rt.maps[0]!.pairs, r.counts.established);
    assert.ok(rt.maps[0]!.fitError >= 0 && Number.isFinite(rt.maps[0]!.fitError));
    assert.equal(rt.mapVariants.length, Object.keys(MAP_VARIANTS).length * STAGES.length);
    for (const row of rt.mapVariants) assert.ok(Number.isFinite(row.auc), row.method);
  });
  await t.test('migrated matches native (same data, same seed, the same computation by another path)', () => {
    for (const s of STAGES) {
      const get = (m: string) => r.results.find((x) => x.method === m && x.stage === s)!.auc;
      assert.ok(Math.abs(get('emerflow-migrated') - get('emerflow')) < 1e-9, s);
    }
  });
  await t.test('the report shows the gaps, and a merge keeps the retrain section', () => {
    assert.match(renderMarkdown(r), /AUC minus native `emerflow`/);
    const other = { ...r, protocol: { ...r.protocol, seeds: [2] } };
    other.results = r.results.map((x) => ({ ...x, perSeed: x.perSeed.map((p) => ({ ...p, seed: 2 })) }));
    other.retrain = { ...r.retrain!, maps: r.retrain!.maps.map((m) => ({ ...m, seed: 2 })) };
    other.retrain.mapVariants = r.retrain!.mapVariants.map((x) => ({ ...x, perSeed: x.perSeed.map((p) => ({ ...p, seed: 2 })) }));
    const m = mergeResults([r, other]);
    assert.deepEqual(
      m.retrain!.maps.map((x) => x.seed),
      [1, 2],
    );
    assert.equal(m.retrain!.mapVariants[0]!.perSeed.length, 2);
  });
});
