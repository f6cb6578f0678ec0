import { test } from 'node:test';
import assert from 'node:assert/strict';
import { selectBackend, initBackend, currentBackend, tf } from '../../src/model/index.js';

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
  await assert.rejects(selectBackend(['wasm', 'cpu'], async () => { throw new Error('nope'); }), /no TensorFlow.js backend loaded/);
});

test('initBackend picks a working backend here (native packages absent), idempotently', async () => {
  const a = await initBackend();
  const b = await initBackend();
  assert.equal(a, b);
  assert.ok(['wasm', 'cpu', 'tensorflow', 'tensorflow-gpu'].includes(a.name));
  assert.deepEqual(currentBackend(), a);
  // The optional native packages are not installed on this machine: the
  // fallback must have skipped them and named the reason.
  if (a.name === 'wasm') assert.match(a.detail, /skipped tensorflow-gpu/);
  const y = tf.tidy(() => tf.sum(tf.mul(tf.tensor1d([1, 2, 3]), tf.tensor1d([4, 5, 6]))).dataSync()[0]);
  assert.equal(y, 32);
  // Gradients are registered by initBackend (the core bundle ships none).
  const g = tf.grad((x: tf.Tensor) => tf.sum(tf.square(x)))(tf.tensor1d([3]));
  assert.equal(g.dataSync()[0], 6);
});

test('initBackend({ prefer, force }) switches, e.g. to plain cpu', async () => {
  const info = await initBackend({ prefer: ['cpu'], force: true });
  assert.equal(info.name, 'cpu');
  assert.equal(tf.getBackend(), 'cpu');
  assert.equal(currentBackend()?.name, 'cpu');
});
