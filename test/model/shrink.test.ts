import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { initBackend, dotScorer } from '../../src/model/index.js';
import { tf } from '../../src/model/tf.js';
import { shrinkAligner } from '../../src/model/shrink.js';
import { toVariables, disposeVars } from '../../src/model/vars.js';
import { alignForward } from '../../src/model/aligner.js';
import { makeRng } from '../../src/model/prng.js';
import type { PreparedItem } from '../../src/model/tasks.js';

before(async () => {
  await initBackend();
});

// 40 items whose features r are their true embeddings; labels drawn from σ(c·e) on 60 contexts each.
// A linear aligner align(r) = r is then exactly right; `delta` says how wrong its out-of-fold
// predictions were.
function world(noise: number) {
  const rng = makeRng(7);
  const g = () => rng.normal();
  const d = 4;
  const items: PreparedItem[] = Array.from({ length: 40 }, (_, i) => {
    const e = Float32Array.from({ length: d }, () => g());
    const ctx = Array.from({ length: 60 }, () => Float32Array.from({ length: d }, () => g()));
    const labels = Uint8Array.from(ctx, (c) => (rng.next() < 1 / (1 + Math.exp(-c.reduce((a, x, k) => a + x * e[k]!, 0))) ? 1 : 0));
    return { id: String(i), r: e, base: e, ctx, labels, delta: Float32Array.from({ length: d }, () => noise * g()) };
  });
  const eye = new Float32Array(d * d);
  for (let k = 0; k < d; k++) eye[k * d + k] = 1;
  const vars = toVariables({ 'align/b': { shape: [d], values: new Float32Array(d) }, 'align/Wlin': { shape: [d, d], values: eye } });
  return { items, vars, mean: new Float32Array(d) };
}

test('out-of-fold predictions as good as the truth keep the aligner as it is', () => {
  const { items, vars, mean } = world(0);
  const before = vars['align/Wlin']!.dataSync().slice();
  const s = shrinkAligner(vars, { train: items, ctxDim: 4, scorer: dotScorer, meanBase: mean }, 200);
  assert.equal(s.alpha, 1);
  assert.deepEqual(vars['align/Wlin']!.dataSync(), before);
  disposeVars(vars);
});

test('out-of-fold predictions that are mostly noise shrink the aligner to the mean', () => {
  const { items, vars, mean } = world(20);
  const delta0 = Float32Array.from(items[0]!.delta!);
  const s = shrinkAligner(vars, { train: items, ctxDim: 4, scorer: dotScorer, meanBase: mean }, 200);
  assert.ok(s.alpha < 0.5, `alpha ${s.alpha}, losses ${s.losses.join(', ')}`);
  const out = tf.tidy(() => alignForward(vars, tf.tensor2d(items[0]!.r, [1, 4])));
  // align(r) = mean + α(r − mean): with mean 0, α·r
  Array.from(out.dataSync()).forEach((v, k) => assert.ok(Math.abs(v - s.alpha * items[0]!.r[k]!) < 1e-5));
  out.dispose();
  // the meta stage's out-of-fold starts shrink with it
  Array.from(items[0]!.delta!).forEach((v, k) => assert.ok(Math.abs(v - s.alpha * delta0[k]!) < 1e-5));
  disposeVars(vars);
});
