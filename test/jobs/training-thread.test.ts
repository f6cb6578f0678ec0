// Training threads are reused between runs (run-training.ts): a run on a warm thread must
// give exactly what a run on a fresh one gives, and a failed run must not spoil the next.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runTrainingThread } from '../../src/jobs/run-training.js';
import { fitHashedTfidf, serializeFeatures, type TrainingData } from '../../src/model/index.js';
import { makeWorld } from '../support/fixtures.js';

const world = makeWorld({ dim: 8, users: 30, items: 30 });
const texts = world.items.map((i) => serializeFeatures(i.features));
const encoder = fitHashedTfidf(texts);
const r = encoder.encodeSync(texts);
const data: TrainingData = {
  dim: world.dim,
  contexts: world.users.map((u) => Float32Array.from(u.vector)),
  items: world.items.map((it, i) => ({
    id: it.id,
    r: r[i]!,
    base: Float32Array.from(it.vector),
    interactions: Array.from({ length: 15 }, (_, j) => ({ ctx: 2 * j, label: world.label(2 * j, i), ts: Date.UTC(2026, 0, 1, 0, i, j) })),
  })),
};
const input = { data, seed: 3, encoder: encoder.state(), preset: 'quick' as const };
/** What a run learned: its weights (its timings and timestamp differ between runs). */
const weights = (out: { artifact: unknown }) => (out.artifact as { weights: unknown }).weights;

test('a warm training thread gives the same model as a fresh one, and a failed run does not spoil the next', async (t) => {
  const phases = new Set<string>();
  const first = await runTrainingThread(input, (_, phase) => phases.add(phase));
  await t.test('progress is relayed from the thread', () => {
    assert.ok(phases.size > 0, 'no progress message reached the caller');
  });
  const second = await runTrainingThread(input, () => undefined);
  await t.test('the second run, on the kept thread, gives identical weights', () => {
    assert.deepEqual(weights(second), weights(first));
  });
  await t.test('a run that throws in the thread rejects with its error', async () => {
    const bad = { ...input, data: { ...data, contexts: null } } as unknown as typeof input;
    await assert.rejects(
      runTrainingThread(bad, () => undefined),
      /TypeError: Cannot read properties of null/,
    );
  });
  await t.test('the run after a failure trains as before', async () => {
    const third = await runTrainingThread(input, () => undefined);
    assert.deepEqual(weights(third), weights(first));
  });
});
