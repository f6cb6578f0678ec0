import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { initBackend, trainEmerFlow, loadModel, validateArtifact, type ModelArtifact, type Scorer } from '../../src/model/index.js';
import { NON_DOT_DEFAULTS } from '../../src/model/train.js';
import { tf } from '../../src/model/tf.js';
import { syntheticSpace } from '../../src/model/synthetic.js';

before(async () => {
  await initBackend();
});

// Tiny and quick: these tests check plumbing, not quality.
const space = syntheticSpace({
  seed: 3,
  dim: 8,
  inputDim: 16,
  users: 60,
  established: 24,
  perEstablished: 80,
  emerging: 3,
  perEmerging: 30,
});
const encoder = { kind: 'external' as const, id: { name: 'test', dim: 16, version: '1' } };
const quick = { alignEpochs: 15, metaSteps: 12, evalEvery: 4, folds: 2, k: 10, queryK: 10, valQueryK: 20, maxPhases: 3 };

test('same data and seed give the same weights; another seed does not', async () => {
  const a = await trainEmerFlow(space.data, { seed: 5, encoder, ...quick });
  const b = await trainEmerFlow(space.data, { seed: 5, encoder, ...quick });
  const c = await trainEmerFlow(space.data, { seed: 6, encoder, ...quick });
  assert.deepEqual(a.weights, b.weights);
  assert.notDeepEqual(a.weights, c.weights);
  assert.equal(a.seed, 5);
});

test('artifact survives JSON and reloads to the same outputs', async (t) => {
  const progress: number[] = [];
  const art = await trainEmerFlow(space.data, { seed: 9, encoder, ...quick, onProgress: (f) => progress.push(f) });
  const back = JSON.parse(JSON.stringify(art)) as ModelArtifact;
  const item = space.emerging[0]!;
  const inter = item.interactions.slice(0, 12).map((x) => ({ ctx: space.users[x.ctx]!, label: x.label }));
  await t.test('progress ends at 1', () => assert.equal(progress.at(-1), 1));
  await t.test('the JSON copy validates and keeps format, sizes, encoder and metrics', () => {
    validateArtifact(back);
    assert.equal(back.format, 'emerflow/1');
    assert.equal(back.dim, 8);
    assert.equal(back.inputDim, 16);
    assert.deepEqual(back.encoder, encoder);
    assert.ok(Number.isFinite(back.metrics.metaValLoss));
  });
  await t.test('original and reloaded copy align and refine alike', () => {
    const m1 = loadModel(art);
    const m2 = loadModel(back);
    const [c1] = m1.align([item.r]);
    const [c2] = m2.align([item.r]);
    assert.deepEqual(c1, c2);
    assert.deepEqual(m1.refine(c1!, inter), m2.refine(c2!, inter));
    m1.dispose();
    m2.dispose();
  });
  await t.test('no interactions: refine returns the cold embedding', () => {
    const m = loadModel(back);
    const [c] = m.align([item.r]);
    assert.deepEqual(m.refine(c!, []), c);
    m.dispose();
  });
  await t.test('a disposed runtime refuses to work', () => {
    const m = loadModel(back);
    m.dispose();
    assert.throws(() => m.align([item.r]), /dispose/);
    assert.throws(() => m.refine(new Float32Array(8), inter), /dispose/);
  });
});

test('training can be aborted', async () => {
  const ac = new AbortController();
  ac.abort();
  await assert.rejects(trainEmerFlow(space.data, { seed: 1, encoder, ...quick, signal: ac.signal }), { name: 'AbortError' });
});

test('invalid artifacts are refused with a clear message', () => {
  assert.throws(() => validateArtifact({ format: 'other' } as unknown as ModelArtifact), /emerflow\/1/);
});

test('a non-dot scorer gets the non-dot defaults unless told otherwise; the learned slope is stored', async (t) => {
  // the dot product written as a plain scorer (no dotProduct flag): the model treats it as non-dot
  const plainDot: Scorer = { name: 'plain-dot', logits: (e, c) => tf.sum(tf.mul(e, c), 1) as tf.Tensor1D };
  const { metaSteps: _m, ...rest } = quick;
  await t.test('non-dot defaults: their step count and no meta stage, the slope kept at its start', async () => {
    const a = await trainEmerFlow(space.data, { seed: 2, encoder, ...rest, scorer: plainDot, crossFitContexts: false });
    assert.equal(a.hyper.steps, NON_DOT_DEFAULTS.steps);
    assert.equal(a.hyper.metaSteps, 0);
    assert.equal(a.metrics.metaSteps, 0);
    assert.ok(
      Math.abs(a.metrics.ruleLrSlope! - NON_DOT_DEFAULTS.initLrSlope!) < 1e-6,
      'slope kept at its initial value without a meta stage',
    );
  });
  await t.test('what the caller sets wins over the non-dot defaults', async () => {
    const b = await trainEmerFlow(space.data, { seed: 2, encoder, ...quick, steps: 3, scorer: plainDot, crossFitContexts: false });
    assert.equal(b.hyper.steps, 3);
    assert.equal(b.metrics.metaSteps, quick.metaSteps);
  });
  await t.test('dot: the slope is learned with the rest of the rule and stored', async () => {
    const c = await trainEmerFlow(space.data, { seed: 2, encoder, ...quick });
    assert.ok(c.weights['meta/lrSlope'], 'slope stored in the artifact');
    assert.equal(c.hyper.steps, 5);
  });
});
