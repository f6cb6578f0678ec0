// The small pieces on their own: Retry-After parsing, backoff, buckets and the
// limiter, name normalisation, schema validation, sanitising, cache keys, and
// the fake server's defaults.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CircuitBreaker } from '../../src/llm/breaker.js';
import {
  cacheKey,
  enrichmentSchema,
  MemoryLlmCache,
  normaliseAuxFeatures,
  normaliseFeatureName,
  parseRetryAfter,
  sanitiseText,
  validateAgainstSchema,
} from '../../src/llm/index.js';
import { RateLimiter, TokenBucket } from '../../src/llm/rate-limit.js';
import { backoffDelay } from '../../src/llm/retry.js';
import { redact } from '../../src/llm/errors.js';
import { fillSchema } from '../support/fake-openai.js';
import { parseJsonAnswer } from '../../src/llm/schema.js';
import { API_KEY, harness, MOVIE_AUX, rejects, toyStory } from './helpers.js';

test('parseRetryAfter: seconds, HTTP-date, retry-after-ms, garbage', () => {
  const now = Date.parse('2025-01-01T00:00:00Z');
  assert.equal(parseRetryAfter(new Headers({ 'retry-after': '2' }), now), 2_000);
  assert.equal(parseRetryAfter(new Headers({ 'retry-after': '0.5' }), now), 500);
  assert.equal(parseRetryAfter(new Headers({ 'retry-after': 'Wed, 01 Jan 2025 00:00:30 GMT' }), now), 30_000);
  assert.equal(parseRetryAfter(new Headers({ 'retry-after': 'Tue, 31 Dec 2024 00:00:00 GMT' }), now), 0);
  assert.equal(parseRetryAfter(new Headers({ 'retry-after-ms': '250', 'retry-after': '9' }), now), 250);
  assert.equal(parseRetryAfter(new Headers({ 'retry-after': 'soon' }), now), undefined);
  assert.equal(parseRetryAfter(new Headers(), now), undefined);
});

test('backoff: full jitter within [0, min(cap, base·2^n)]', () => {
  assert.equal(
    backoffDelay(0, 100, 10_000, () => 0.999),
    99,
  );
  assert.equal(
    backoffDelay(3, 100, 10_000, () => 0.5),
    400,
  );
  assert.equal(
    backoffDelay(20, 100, 10_000, () => 0.999),
    9_990,
  );
  assert.equal(
    backoffDelay(5, 100, 10_000, () => 0),
    0,
  );
});

test('token bucket: debt model, refill, correction', () => {
  let now = 0;
  const b = new TokenBucket(60, () => now); // one per second
  assert.equal(b.waitFor(60), 0);
  b.take(60);
  assert.equal(b.waitFor(1), 1_000);
  now += 500;
  assert.equal(b.waitFor(1), 500);
  b.adjust(-30); // used 30 fewer than reserved
  assert.equal(b.waitFor(30), 0);
  assert.equal(new TokenBucket(0).waitFor(1e9), 0, '0 disables');
  assert.equal(b.waitFor(1e9) <= 60_000, true, 'an oversized request waits at most a full refill');
});

test('rate limiter: bounded wait and concurrency', async () => {
  const rl = new RateLimiter({ requestsPerMinute: 1, tokensPerMinute: 0, concurrency: 1 });
  const p1 = await rl.acquire(10, 100);
  const slow = rejects(rl.acquire(10, 50));
  assert.equal((await slow).kind, 'rate_limit', 'no slot within the wait bound');
  p1.release(5);
  const err = await rejects(rl.acquire(10, 100));
  assert.equal(err.kind, 'rate_limit');
  assert.ok(err.retryAfterMs > 50_000, 'requests bucket empty for about a minute');
  rl.close();
});

test('client: local limits refuse fast without a request, and serialise by concurrency', async (t) => {
  // a timeout well above a loaded machine's latency, and far below the minute the limiter would wait
  const { fake, client } = await harness(t, { requestsPerMinute: 1, timeoutMs: 2_000 });
  await client.enrichItem({ itemType: 'movie', auxFeatures: MOVIE_AUX, features: toyStory, contentHash: 'r1' });
  const err = await rejects(client.enrichItem({ itemType: 'movie', auxFeatures: MOVIE_AUX, features: toyStory, contentHash: 'r2' }));
  assert.equal(err.kind, 'rate_limit');
  assert.equal(err.retryable, true);
  assert.equal(fake.requests.length, 1);

  const h2 = await harness(t, { concurrency: 1 });
  h2.fake.fallback('chat', { kind: 'ok', delayMs: 60 });
  await Promise.all(
    [1, 2].map((i) => h2.client.enrichItem({ itemType: 'movie', auxFeatures: MOVIE_AUX, features: toyStory, contentHash: `c${i}` })),
  );
  const [a, b] = h2.fake.requests.map((r) => r.at);
  assert.ok(b! - a! >= 55, 'the second request waited for the first');
});

test('breaker unit: threshold counts consecutive failures only', () => {
  let now = 0;
  const states: string[] = [];
  const b = new CircuitBreaker(
    2,
    1_000,
    (s) => states.push(s),
    () => now,
  );
  b.acquire()('failure');
  b.acquire()('success');
  b.acquire()('failure');
  assert.equal(b.state(), 'closed');
  b.acquire()('failure');
  assert.equal(b.state(), 'open');
  now += 1_000;
  const probe = b.acquire();
  probe('neutral');
  assert.equal(b.state(), 'half_open');
  b.acquire()('success');
  assert.deepEqual(states, ['open', 'half_open', 'closed']);
});

test('feature names: snake_case, dedupe, no raw repeats, at most 16', () => {
  assert.equal(normaliseFeatureName('Target Audience'), 'target_audience');
  assert.equal(normaliseFeatureName('mainCast'), 'main_cast');
  assert.equal(normaliseFeatureName('  Réalisateur / Director!! '), 'realisateur_director');
  assert.equal(normaliseFeatureName('3D format'), 'f_3d_format');
  assert.equal(normaliseFeatureName('***'), '');
  const out = normaliseAuxFeatures(
    [
      { name: 'Genres', description: 'x' },
      { name: 'Mood', description: 'a\u0000b' },
      { name: 'mood', description: 'dup' },
      ...Array.from({ length: 30 }, (_, i) => ({ name: `f${i}`, description: '' })),
    ],
    ['genres'],
  );
  assert.equal(out[0]!.name, 'mood');
  assert.equal(out[0]!.description, 'ab');
  assert.equal(out.length, 16);
});

test('schema validation and sanitising', () => {
  const s = enrichmentSchema(MOVIE_AUX);
  assert.deepEqual(validateAgainstSchema(s, { director: 'a', themes: 'b', mood: 'c' }), []);
  assert.equal(validateAgainstSchema(s, { director: 'a', themes: 'b' }).length, 1);
  assert.equal(validateAgainstSchema(s, [1]).length, 1);
  assert.equal(sanitiseText(' a\u0001b\u200Bc\r\nd ', 100), 'abc\nd');
  assert.equal(sanitiseText('😀😀😀', 2), '😀😀', 'caps by code point, never splitting a pair');
  assert.equal(redact(`key ${API_KEY} and Bearer abc.def`, API_KEY), 'key [redacted] and Bearer [redacted]');
});

test('cache keys and the memory cache', async () => {
  const k = cacheKey('llama3.1:8b', 'enrich-v1', 'abc');
  assert.match(k, /^[0-9a-f]{64}$/);
  assert.notEqual(k, cacheKey('llama3.1:8b', 'enrich-v2', 'abc'));
  assert.notEqual(cacheKey('a:b', 'c', 'd'), cacheKey('a', 'b:c', 'd'));
  const c = new MemoryLlmCache(2);
  const v = { x: 1 };
  await c.set('a', v);
  v.x = 2;
  assert.deepEqual(await c.get('a'), { x: 1 }, 'stored by value');
  await c.set('b', 1);
  await c.set('c', 1);
  assert.equal(await c.get('a'), undefined, 'least recently used evicted');
});

test('fake server: ok fills every required property deterministically', () => {
  const schema = enrichmentSchema(MOVIE_AUX);
  const a = fillSchema(schema, 'seed') as Record<string, string>;
  assert.deepEqual(Object.keys(a), ['director', 'themes', 'mood']);
  assert.deepEqual(fillSchema(schema, 'seed'), a);
  assert.notDeepEqual(fillSchema(schema, 'other'), a);
});

test('options from the environment: null without LLM_BASE_URL', async () => {
  const { llmOptionsFromConfig } = await import('../../src/llm/index.js');
  assert.equal(llmOptionsFromConfig({ LLM_MODEL: 'x' }), null);
  const o = llmOptionsFromConfig({ LLM_BASE_URL: 'http://localhost:8000/v1', LLM_MODEL: 'm', EMBEDDING_MODEL: 'e', LLM_RPM: 10 })!;
  assert.equal(o.baseURL, 'http://localhost:8000/v1');
  assert.equal(o.embeddingModel, 'e');
  assert.equal(o.requestsPerMinute, 10);
  assert.equal(o.apiKey, '');
});

test('rate limiter: close() settles every waiter', async () => {
  const rl = new RateLimiter({ requestsPerMinute: 60, tokensPerMinute: 0, concurrency: 1 });
  await rl.acquire(1, 5_000); // holds the only slot
  const queued = rejects(rl.acquire(1, 5_000));
  rl.close();
  assert.equal((await queued).kind, 'connection');
});

test('fake server speaks to the plain SDK too: models list, base64 embeddings, 404s', async (t) => {
  const { default: OpenAI } = await import('openai');
  const { startFakeOpenAI } = await import('../support/fake-openai.js');
  const fake = await startFakeOpenAI({ dim: 4, models: ['m1'] });
  t.after(() => fake.close());
  const sdk = new OpenAI({ baseURL: fake.url, apiKey: 'x', maxRetries: 0 });
  assert.deepEqual(
    (await sdk.models.list()).data.map((m) => m.id),
    ['m1'],
  );
  const e = await sdk.embeddings.create({ model: 'm1', input: ['a', 'b'] }); // SDK default: base64
  assert.equal((e.data[0]!.embedding as unknown as ArrayLike<number>).length, 4);
  const chat = await sdk.chat.completions.create({ model: 'm1', messages: [{ role: 'user', content: 'hi' }] });
  assert.match(chat.choices[0]!.message.content ?? '', /^fake answer /);
  await assert.rejects(sdk.post('/nowhere'), { status: 404 });
  assert.equal(fake.requests.at(-1)!.behaviour, 'not_found');
});

// A regex with nested quantifiers took minutes on this reply; the timeout only turns such a
// hang into a failure (a linear strip answers in microseconds).
test('the fence strip is linear: ``` and 100,000 spaces are refused at once', { timeout: 30_000 }, () => {
  assert.throws(() => parseJsonAnswer('```' + ' '.repeat(100_000)), /not valid JSON/);
  assert.deepEqual(parseJsonAnswer('```json\n{"a": 1}\n```'), { a: 1 });
  assert.deepEqual(parseJsonAnswer('  ```\n[1, 2]\n```  '), [1, 2]);
  assert.deepEqual(parseJsonAnswer('{"b": true}'), { b: true });
});
