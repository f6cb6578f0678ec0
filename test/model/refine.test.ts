// On synthetic items whose true embeddings are known: after K interactions
// the meta-learned refinement lands closer to the truth than the same number
// of plain gradient steps from the aligned start, and both beat the start.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { initBackend, trainEmerFlow, loadModel, refinePlain, tf } from '../../src/model/index.js';
import { syntheticSpace } from '../../src/model/synthetic.js';

before(async () => {
  await initBackend();
});

const dist = (a: Float32Array, b: Float32Array) => Math.sqrt(a.reduce((s, x, i) => s + (x - b[i]!) ** 2, 0));

test('meta refinement after K interactions beats plain steps, and both beat the aligned start', async (t) => {
  const space = syntheticSpace({ seed: 1, established: 100, perEstablished: 140, emerging: 40, perEmerging: 60 });
  const K = 20;
  const art = await trainEmerFlow(space.data, {
    seed: 7,
    encoder: { kind: 'external', id: { name: 'synthetic', dim: 64, version: '1' } },
    k: K,
    alignEpochs: 200,
    metaSteps: 150,
    maxPhases: 4,
  });
  const model = loadModel(art);
  const steps = Number(art.hyper.steps);
  for (const n of [K, 2 * K])
    await t.test(`after ${n} interactions`, () => {
      let cold = 0,
        plain = 0,
        meta = 0;
      for (const it of space.emerging) {
        const start = model.align([it.r])[0]!;
        const seen = [...it.interactions]
          .sort((a, b) => a.ts - b.ts)
          .slice(0, n)
          .map((x) => ({ ctx: space.users[x.ctx]!, label: x.label }));
        cold += dist(start, it.base);
        plain += dist(refinePlain(start, seen, { steps }), it.base);
        meta += dist(model.refine(start, seen), it.base);
      }
      const k = space.emerging.length;
      const msg = `n=${n}: cold ${(cold / k).toFixed(3)}, plain ${(plain / k).toFixed(3)}, meta ${(meta / k).toFixed(3)}`;
      assert.ok(plain < cold, msg);
      assert.ok(meta < plain, msg);
    });
  model.dispose();
});

test('refinePlain with a non-dot scorer whose context rows are wider than the embedding', () => {
  // logit = e·c[0:2] + c[2]: contexts carry a bias column, as a DeepFM-style scorer's do
  const scorer = {
    name: 'dot-plus-bias',
    logits: (items: tf.Tensor2D, ctx: tf.Tensor2D) =>
      tf.add(tf.sum(tf.mul(items, tf.slice(ctx, [0, 0], [-1, 2])), 1), tf.reshape(tf.slice(ctx, [0, 2], [-1, 1]), [-1])) as tf.Tensor1D,
  };
  const start = Float32Array.of(0, 0);
  const inter = [
    { ctx: Float32Array.of(1, 0, 0.5), label: 1 as const },
    { ctx: Float32Array.of(0, 1, -0.5), label: 0 as const },
  ];
  const out = refinePlain(start, inter, { scorer, steps: 3, lr: 1 });
  assert.equal(out.length, 2);
  assert.ok(out[0]! > 0 && out[1]! < 0, `moved towards the labels: ${Array.from(out)}`);
});
