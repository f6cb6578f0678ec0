import { test } from 'node:test';
import assert from 'node:assert/strict';
import { selectBackend, initBackend, currentBackend, BACKEND_ORDER, tf } from '../../src/model/index.js';

test('selectBackend falls through failing loaders and says why', async () => {
  const tried: string[] = [];
  const info = await selectBackend(['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'], async (name) => {
    tried.push(name);
    if (name === 'tensorflow-gpu' || name === 'tensorflow') throw new Error(`no ${name} here`);
    return `${name} ok`;
  });
  assert.deepEqual(tried, ['tensorflow-gpu', 'tensorflow', 'wasm']);
  assert.equal(info.name, 'wasm');
  assert.match(info.detail, /wasm ok/);
  assert.match(info.detail, /tensorflow-gpu: no tensorflow-gpu here/);
});

test('selectBackend rejects when nothing loads', async () => {
  await assert.rejects(
    selectBackend(['wasm', 'cpu'], async () => {
      throw new Error('nope');
    }),
    /no TensorFlow.js backend loaded/,
  );
});

test('initBackend picks the first backend in the documented order that loads, and computes on it', async (t) => {
  const a = await initBackend();
  await t.test('idempotent: the same answer, remembered as the current backend', async () => {
    assert.equal(await initBackend(), a);
    assert.deepEqual(currentBackend(), a);
  });
  await t.test('every backend before it in BACKEND_ORDER was tried and named as skipped, with why', () => {
    const at = BACKEND_ORDER.indexOf(a.name);
    assert.ok(at >= 0, `${a.name} is in ${BACKEND_ORDER.join(', ')}`);
    const skipped = BACKEND_ORDER.slice(0, at);
    if (skipped.length === 0) assert.doesNotMatch(a.detail, /skipped/);
    for (const name of skipped) assert.ok(a.detail.includes(`${name}: `), `"${a.detail}" names ${name}`);
    // both native packages register as TF.js backend 'tensorflow'
    assert.equal(tf.getBackend(), a.name.startsWith('tensorflow') ? 'tensorflow' : a.name);
  });
  await t.test('a tensor op gives the right number', () => {
    const y = tf.tidy(() => tf.sum(tf.mul(tf.tensor1d([1, 2, 3]), tf.tensor1d([4, 5, 6]))).dataSync()[0]);
    assert.equal(y, 32);
  });
  await t.test('gradients are registered (the core bundle ships none)', () => {
    const g = tf.tidy(
      () =>
        tf
          .grad((x: tf.Tensor) => tf.sum(tf.square(x)))(tf.tensor1d([3]))
          .dataSync()[0],
    );
    assert.equal(g, 6);
  });
});

test('initBackend({ prefer, force }) switches, e.g. to plain cpu', async () => {
  const info = await initBackend({ prefer: ['cpu'], force: true });
  assert.equal(info.name, 'cpu');
  assert.equal(tf.getBackend(), 'cpu');
  assert.equal(currentBackend()?.name, 'cpu');
});
