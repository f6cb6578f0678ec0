// The quick training preset (TRAINING_PRESETS.quick), for service tests that are not about
// training, on the tiny world those tests use: 30 established items, 20 interactions each.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import {
  initBackend,
  trainEmerFlow,
  loadModel,
  fitHashedTfidf,
  serializeFeatures,
  makeRng,
  TRAINING_PRESETS,
  type TrainingData,
} from '../../src/model/index.js';
import { makeWorld } from '../support/fixtures.js';

before(async () => {
  await initBackend();
});

// As test/support/space.ts seeds a space and src/jobs/training-data.ts prepares it.
const world = makeWorld({ dim: 8, users: 40, items: 40 });
const n = 30;
const encoder = fitHashedTfidf(world.items.map((i) => serializeFeatures(i.features)));
const r = encoder.encodeSync(world.items.map((i) => serializeFeatures(i.features)));
const contexts = world.users.map((u) => Float32Array.from(u.vector));
const data: TrainingData = {
  dim: world.dim,
  contexts,
  items: world.items.slice(0, n).map((it, i) => ({
    id: it.id,
    r: r[i]!,
    base: Float32Array.from(it.vector),
    interactions: Array.from({ length: world.users.length / 2 }, (_, j) => ({
      ctx: 2 * j,
      label: world.label(2 * j, i),
      ts: Date.UTC(2026, 0, 1, 0, i, 2 * j),
    })),
  })),
};
// the emerging items, with a label from every user
const emerging = world.items.slice(n).map((_, j) => ({ r: r[n + j]!, labels: world.users.map((_, u) => world.label(u, n + j)) }));

/** AUC of u·e over every (user, emerging item) pair. */
function coldAuc(embeddings: Float32Array[]): number {
  const pairs = emerging.flatMap((e, j) =>
    contexts.map((c, u) => ({ s: c.reduce((a, x, k) => a + x * embeddings[j]![k]!, 0), y: e.labels[u]! })),
  );
  pairs.sort((a, b) => a.s - b.s);
  let pos = 0;
  let rank = 0;
  pairs.forEach((p, i) => {
    if (p.y === 1) {
      pos++;
      rank += i + 1;
    }
  });
  return (rank - (pos * (pos + 1)) / 2) / (pos * (pairs.length - pos));
}

test('the quick preset trains little and still learns usable cold embeddings', async (t) => {
  const started = performance.now();
  const art = await trainEmerFlow(data, { seed: 1, encoder: encoder.state(), preset: 'quick' });
  const ms = performance.now() - started;
  t.diagnostic(`quick training: ${ms.toFixed(0)} ms`);
  const model = loadModel(art);
  const cold = model.align(emerging.map((e) => e.r));
  model.dispose();
  await t.test('its hyper-parameters are applied over the defaults', () => {
    for (const [k, v] of Object.entries(TRAINING_PRESETS.quick)) assert.equal(art.hyper[k], v, k);
    assert.ok(art.metrics.alignEpochs! <= TRAINING_PRESETS.quick.alignEpochs);
    assert.ok(art.metrics.metaSteps! <= TRAINING_PRESETS.quick.metaSteps);
  });
  await t.test('cold embeddings are finite and rank users better than random embeddings', () => {
    assert.ok(cold.every((e) => e.length === world.dim && e.every(Number.isFinite)));
    const rng = makeRng(7);
    const random = coldAuc(emerging.map(() => Float32Array.from({ length: world.dim }, () => rng.normal())));
    const auc = coldAuc(cold);
    assert.ok(auc > 0.65 && auc > random + 0.1, `cold AUC ${auc.toFixed(3)}, random ${random.toFixed(3)}`);
  });
});

test('hyper-parameters the caller sets win over the preset; an unknown preset is refused', async () => {
  const art = await trainEmerFlow(data, { seed: 1, encoder: encoder.state(), preset: 'quick', metaSteps: 3 });
  assert.equal(art.hyper.metaSteps, 3);
  assert.equal(art.hyper.alignEpochs, TRAINING_PRESETS.quick.alignEpochs);
  await assert.rejects(
    trainEmerFlow(data, { seed: 1, encoder: encoder.state(), preset: 'fast' as 'quick' }),
    /unknown training preset "fast"/,
  );
});
