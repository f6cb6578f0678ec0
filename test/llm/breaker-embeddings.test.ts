// The circuit breaker over the endpoint, and the embeddings encoder.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { registry } from '../../src/metrics.js';
import { harness, MOVIE_AUX, rejects, toyStory } from './helpers.js';

const item = (hash: string) => ({ itemType: 'movie', auxFeatures: MOVIE_AUX, features: toyStory, contentHash: hash });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('breaker: opens after consecutive failures, refuses without a request, half-open probe closes it', async (t) => {
  const { fake, client } = await harness(t, { maxRetries: 0, breakerThreshold: 3, breakerCooldownMs: 400 });
  fake.script('chat', [
    { kind: 'status', code: 500 },
    { kind: 'status', code: 500 },
    { kind: 'status', code: 500 },
  ]);
  for (let i = 0; i < 3; i++) assert.equal((await rejects(client.enrichItem(item(`b${i}`)))).kind, 'server');
  assert.equal(client.breakerState(), 'open');
  assert.match(await registry.metrics(), /emerflow_llm_breaker_state\{model="fake-chat"\} 2/);

  const err = await rejects(client.enrichItem(item('refused')));
  assert.equal(err.kind, 'breaker_open');
  assert.equal(err.retryable, true);
  assert.ok(err.retryAfterMs > 0 && err.retryAfterMs <= 400);
  assert.equal(fake.requests.length, 3, 'an open breaker does not touch the network');

  await sleep(420);
  assert.equal(client.breakerState(), 'half_open');
  const e = await client.enrichItem(item('probe'));
  assert.equal(Object.keys(e.attributes).length, 3);
  assert.equal(client.breakerState(), 'closed');
  assert.equal(fake.requests.length, 4);
});

test('breaker: a failed half-open probe re-opens it; only one probe at a time', async (t) => {
  const { fake, client } = await harness(t, { maxRetries: 0, breakerThreshold: 1, breakerCooldownMs: 400 });
  fake.script('chat', [{ kind: 'status', code: 503 }]);
  await rejects(client.enrichItem(item('x')));
  assert.equal(client.breakerState(), 'open');
  await sleep(420);
  fake.script('chat', [{ kind: 'status', code: 503, delayMs: 50 }]);
  const [probe, other] = await Promise.all([rejects(client.enrichItem(item('p1'))), rejects(client.enrichItem(item('p2')))]);
  assert.equal(probe.kind, 'server');
  assert.equal(other.kind, 'breaker_open');
  assert.equal(client.breakerState(), 'open');
  assert.equal(fake.requests.length, 2);
});

test('breaker: answers that prove the endpoint alive (invalid output, 400) do not open it', async (t) => {
  const { fake, client } = await harness(t, { maxRetries: 0, breakerThreshold: 2 });
  fake.script('chat', [
    { kind: 'status', code: 400 },
    { kind: 'status', code: 400 },
    { kind: 'status', code: 400 },
  ]);
  fake.fallback('chat', { kind: 'raw', text: 'not json' });
  for (let i = 0; i < 5; i++) await rejects(client.enrichItem(item(`ok${i}`)));
  assert.equal(fake.requests.length, 7);
  assert.equal(client.breakerState(), 'closed');
});

test('a stalled body (headers sent, body never finished) still hits the timeout', async (t) => {
  const { fake, client } = await harness(t, { timeoutMs: 150, maxRetries: 0 });
  fake.script('chat', [{ kind: 'stall' }]);
  const err = await rejects(client.enrichItem(item('stall')));
  assert.equal(err.kind, 'timeout');
});

test('embedder: null without an embedding model', async (t) => {
  const { client } = await harness(t);
  assert.equal(client.embedder(), null);
});

test('embedder: batches, keeps order, sends the configured model as floats', async (t) => {
  const { fake, client } = await harness(t, { embeddingModel: 'fake-embed', embeddingDim: 8, embeddingBatchSize: 4 }, { dim: 8 });
  const enc = client.embedder()!;
  assert.deepEqual(enc.id, { name: 'openai:fake-embed', dim: 8, version: 'oai-emb-v1' });
  const texts = Array.from({ length: 10 }, (_, i) => `title: movie ${i}`);
  texts[3] = '';
  const vecs = await enc.encode(texts);
  assert.equal(vecs.length, 10);
  assert.ok(vecs.every((v) => v instanceof Float32Array && v.length === 8));
  const reqs = fake.requestsTo('embeddings');
  assert.deepEqual(
    reqs.map((r) => r.body.input.length),
    [4, 4, 2],
  );
  assert.ok(reqs.every((r) => r.body.model === 'fake-embed' && r.body.encoding_format === 'float'));
  assert.equal(reqs[0]!.body.input[3], ' ', 'empty texts are sent as one space');
  const again = await enc.encode(['title: movie 1']);
  assert.deepEqual(Array.from(again[0]!), Array.from(vecs[1]!));
});

test('embedder: an answer of the wrong dimension throws wrong_dimension, not retryable', async (t) => {
  const { fake, client } = await harness(t, { embeddingModel: 'fake-embed', embeddingDim: 8 }, { dim: 8 });
  fake.script('embeddings', [{ kind: 'dim', n: 12 }]);
  const err = await rejects(client.embedder()!.encode(['a', 'b']));
  assert.equal(err.kind, 'wrong_dimension');
  assert.equal(err.retryable, false);
  assert.equal(fake.requests.length, 1);
});

test('embedder without embeddingDim: the first answer fixes the dimension, a later change is refused', async (t) => {
  const { fake, client } = await harness(t, { embeddingModel: 'fake-embed' }, { dim: 6 });
  const enc = client.embedder()!;
  assert.equal(enc.id.dim, 0);
  await enc.encode(['a']);
  assert.equal(enc.id.dim, 6);
  fake.script('embeddings', [{ kind: 'dim', n: 7 }]);
  assert.equal((await rejects(enc.encode(['b']))).kind, 'wrong_dimension');
});

test('embedder: 429 then ok is retried; a garbled body is invalid_output', async (t) => {
  const { fake, client } = await harness(t, { embeddingModel: 'fake-embed', embeddingDim: 8 });
  fake.script('embeddings', [{ kind: 'status', code: 429, headers: { 'retry-after-ms': '20' } }, { kind: 'ok' }]);
  assert.equal((await client.embedder()!.encode(['a'])).length, 1);
  fake.script('embeddings', [{ kind: 'raw', text: '{"object":"list","data":[{"index":0,"embedding":"nope"}]}' }]);
  assert.equal((await rejects(client.embedder()!.encode(['a']))).kind, 'invalid_output');
  fake.script('embeddings', [{ kind: 'raw', text: 'not json at all' }]);
  assert.equal((await rejects(client.embedder()!.encode(['a']))).kind, 'invalid_output');
});
