// The requests/min and tokens/min budgets shared through Redis, against the real Redis
// the test runner starts: limiters of two "processes" (two connections, one key) stay
// under one budget together, a correction after the real usage counts for both, and a
// Redis that cannot be reached falls back to the process's own buckets, booked all
// along, instead of failing every call.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { test, type TestContext } from 'node:test';
import { Redis, type RedisOptions } from 'ioredis';
import { pino } from 'pino';
import { registry } from '../../src/metrics.js';
import { createLlmClient, defaultLlmOptions, MemoryLlmCache } from '../../src/llm/index.js';
import { LocalBuckets, RateLimiter, type RateOptions } from '../../src/llm/rate-limit.js';
import { rateKey, SharedBuckets } from '../../src/llm/shared-rate-limit.js';
import { startFakeOpenAI } from '../support/fake-openai.js';
import { MOVIE_AUX, rejects, toyStory } from './helpers.js';

const quiet = pino({ level: 'silent' });

function redisUrl(): string {
  const url = process.env['REDIS_URL'];
  if (!url) throw new Error('REDIS_URL is not set: run the tests with scripts/test.ts, which starts Redis');
  return url;
}

/** One connection, as one process would have; closed when the test ends. */
function connect(t: TestContext, opts: RedisOptions = {}, url = redisUrl()): Redis {
  const r = new Redis(url, opts);
  // The fallback test refuses connections on purpose; what matters is checked by its assertions.
  r.on('error', (err) => quiet.debug({ err: err.message }, 'test Redis connection error'));
  t.after(() => r.disconnect());
  return r;
}

function freshKey(t: TestContext): string {
  const key = rateKey(`t${crypto.randomBytes(4).toString('hex')}`, 'fake-chat');
  t.after(async () => {
    const r = new Redis(redisUrl());
    await r.del(key);
    r.disconnect();
  });
  return key;
}

function limiter(redis: Redis, key: string, rates: RateOptions, log = pino({ level: 'silent' })) {
  const local = new LocalBuckets(rates);
  const rl = new RateLimiter(
    { ...rates, concurrency: 8 },
    Date.now,
    new SharedBuckets({ ...rates, redis, key, local, log, model: 'fake-chat' }),
  );
  return { rl, local };
}

test('two processes share one requests/min budget', async (t) => {
  const key = freshKey(t);
  const rates = { requestsPerMinute: 4, tokensPerMinute: 0 };
  const a = limiter(connect(t), key, rates);
  const b = limiter(connect(t), key, rates);
  // Alternating, with no waiting allowed: four requests in all, whichever process asks.
  for (const x of [a, b, a, b]) (await x.rl.acquire(1, 0)).release();
  for (const x of [a, b]) {
    const err = await rejects(x.rl.acquire(1, 0));
    assert.equal(err.kind, 'rate_limit');
    assert.equal(err.retryable, true);
    assert.ok(err.retryAfterMs > 10_000, `the next request is ~15 s away (one of 4 a minute), got ${err.retryAfterMs} ms`);
  }
  // Each process alone spent only half the budget: the shared one is what refused them.
  assert.equal(a.local.waitFor(0), 0);
  assert.equal(b.local.waitFor(0), 0);
  // The key expires once the buckets would be full again: idle models cost Redis nothing.
  const ttl = await connect(t).pttl(key);
  assert.ok(ttl > 0 && ttl <= 62_000, `ttl ${ttl}`);
});

test('two processes share one tokens/min budget, and a correction after the real usage counts for both', async (t) => {
  const key = freshKey(t);
  const rates = { requestsPerMinute: 0, tokensPerMinute: 1_000 };
  const a = limiter(connect(t), key, rates);
  const b = limiter(connect(t), key, rates);
  const first = await a.rl.acquire(400, 0);
  (await b.rl.acquire(400, 0)).release(400);
  assert.equal((await rejects(a.rl.acquire(400, 0))).kind, 'rate_limit', '200 tokens are left, not 400');
  first.release(100); // the answer used 300 fewer than reserved: they go back to the shared bucket
  // a's next command follows the correction on its connection; 500 are left now
  (await a.rl.acquire(400, 0)).release(400);
  const err = await rejects(b.rl.acquire(400, 0));
  assert.equal(err.kind, 'rate_limit');
  assert.ok(err.retryAfterMs > 15_000 && err.retryAfterMs <= 18_000, `300 tokens short at 1,000 a minute: ~18 s, got ${err.retryAfterMs}`);
});

test('a short wait for the shared budget is waited out; a long one fails fast', async (t) => {
  const key = freshKey(t);
  const rates = { requestsPerMinute: 0, tokensPerMinute: 60_000 }; // 1,000 a second
  const a = limiter(connect(t), key, rates);
  const b = limiter(connect(t), key, rates);
  (await a.rl.acquire(60_000, 0)).release(60_000);
  const p = await b.rl.acquire(300, 5_000); // 300 tokens: ~300 ms away
  assert.ok(p.waitedMs >= 150, `waited ${p.waitedMs} ms`);
  p.release(300);
  const err = await rejects(b.rl.acquire(30_000, 1_000));
  assert.equal(err.kind, 'rate_limit', 'half a minute away, more than the 1 s allowed');
});

test('Redis unreachable: the process falls back to its own buckets, booked all along, and says why at debug', async (t) => {
  const key = freshKey(t);
  const lines: string[] = [];
  const log = pino({ level: 'debug' }, { write: (s: string) => void lines.push(s) });
  const rates = { requestsPerMinute: 3, tokensPerMinute: 0 };
  // The service's settings: commands fail at once while the connection is down.
  const redis = connect(t, { enableOfflineQueue: false, maxRetriesPerRequest: 1 });
  await new Promise<void>((resolve) => redis.once('ready', () => resolve()));
  const { rl } = limiter(redis, key, rates, log);
  (await rl.acquire(1, 0)).release();
  (await rl.acquire(1, 0)).release();
  assert.equal(await connect(t).exists(key), 1, 'booked in Redis while it answered');
  redis.disconnect();
  // One left of this process's own three (two were booked locally too), then refused.
  (await rl.acquire(1, 0)).release();
  const err = await rejects(rl.acquire(1, 0));
  assert.equal(err.kind, 'rate_limit');
  const fallback = lines.map((l) => JSON.parse(l)).find((l) => /own buckets/.test(l.msg));
  assert.ok(fallback, 'the fallback is logged');
  assert.equal(fallback.level, 20, 'at debug');
  assert.match(fallback.msg, /Safe:/);
  const gauge = await registry.getSingleMetric('emerflow_llm_rate_limit_shared')!.get();
  assert.equal(gauge.values.find((v) => v.labels['model'] === 'fake-chat')?.value, 0, 'the gauge says the local buckets decide');

  // A Redis that was never reachable (nothing listens on port 1): calls still go through, on local buckets.
  const never = connect(t, { enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => null }, 'redis://127.0.0.1:1');
  const lonely = limiter(never, freshKey(t), { requestsPerMinute: 1, tokensPerMinute: 0 });
  (await lonely.rl.acquire(1, 0)).release();
  assert.equal((await rejects(lonely.rl.acquire(1, 0))).kind, 'rate_limit');
});

test('clients given the same Redis and prefix share the budget: the second is refused without a request', async (t) => {
  const fake = await startFakeOpenAI();
  t.after(() => fake.close());
  const prefix = `t${crypto.randomBytes(4).toString('hex')}`;
  t.after(async () => {
    const r = new Redis(redisUrl());
    await r.del(rateKey(prefix, 'fake-chat'));
    r.disconnect();
  });
  const log = pino({ level: 'silent' });
  const make = () =>
    createLlmClient(
      { ...defaultLlmOptions, baseURL: fake.url, apiKey: 'k', model: 'fake-chat', requestsPerMinute: 1, timeoutMs: 2_000, maxRetries: 0 },
      { cache: new MemoryLlmCache(), log, redis: connect(t), prefix },
    );
  const one = make();
  const two = make();
  t.after(async () => {
    await one.close();
    await two.close();
  });
  await one.enrichItem({ itemType: 'movie', auxFeatures: MOVIE_AUX, features: toyStory, contentHash: 'p1' });
  const err = await rejects(two.enrichItem({ itemType: 'movie', auxFeatures: MOVIE_AUX, features: toyStory, contentHash: 'p2' }));
  assert.equal(err.kind, 'rate_limit');
  assert.equal(fake.requests.length, 1, 'the refused call never reached the endpoint');
});
