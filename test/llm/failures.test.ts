// Everything an LLM API does wrong, one case each: what is retried (and how
// long it waits), what is not, and what the caller gets when it gives up.
import assert from 'node:assert/strict';
import { waitFor } from '../support/service.js';
import { test } from 'node:test';
import { LlmError } from '../../src/llm/index.js';
import { harness, MOVIE_AUX, rejects, toyStory } from './helpers.js';

const item = (hash: string) => ({ itemType: 'movie', auxFeatures: MOVIE_AUX, features: toyStory, contentHash: hash });

test('429 with Retry-After (seconds): waits about that long, then succeeds', async (t) => {
  const { fake, client } = await harness(t);
  fake.script('chat', [{ kind: 'status', code: 429, headers: { 'retry-after': '1' } }, { kind: 'ok' }]);
  const t0 = Date.now();
  const e = await client.enrichItem(item('ra'));
  const waited = Date.now() - t0;
  assert.equal(fake.requestsTo('chat').length, 2);
  const gap = fake.requests[1]!.at - fake.requests[0]!.at;
  assert.ok(gap >= 1_000 && gap < 1_500, `gap ${gap} ms`);
  assert.ok(waited < 2_000);
  assert.equal(Object.keys(e.attributes).length, 3);
});

test('429 with Retry-After as an HTTP-date, and retry-after-ms, are honoured', async (t) => {
  const { fake, client } = await harness(t);
  fake.script('chat', [
    { kind: 'status', code: 429, headers: { 'retry-after': new Date(Date.now() + 1_000).toUTCString() } },
    { kind: 'status', code: 429, headers: { 'retry-after-ms': '150' } },
    { kind: 'ok' },
  ]);
  await client.enrichItem(item('date'));
  const [a, b, c] = fake.requests.map((r) => r.at);
  // HTTP-dates have one-second resolution: anything from 0 to 1 s is honest.
  assert.ok(b! - a! <= 1_500);
  assert.ok(c! - b! >= 150 && c! - b! < 600, `gap ${c! - b!} ms`);
});

test('a Retry-After longer than the retry cap is not slept on: fails at once, retryable, with retryAfterMs', async (t) => {
  const { fake, client } = await harness(t, { retryMaxDelayMs: 500 });
  fake.script('chat', [{ kind: 'status', code: 429, headers: { 'retry-after': '120' } }]);
  const t0 = Date.now();
  const err = await rejects(client.enrichItem(item('long')));
  assert.ok(Date.now() - t0 < 500);
  assert.ok(err instanceof LlmError);
  assert.equal(err.kind, 'rate_limit');
  assert.equal(err.retryable, true);
  assert.equal(err.retryAfterMs, 120_000);
  assert.equal(fake.requests.length, 1);
});

test('500s are retried with backoff, then succeed', async (t) => {
  const { fake, client } = await harness(t);
  fake.script('chat', [{ kind: 'status', code: 500 }, { kind: 'status', code: 503 }, { kind: 'ok' }]);
  const e = await client.enrichItem(item('5xx'));
  assert.equal(fake.requests.length, 3);
  assert.equal(e.cached, false);
});

test('500s exhausted: LlmError server, retryable, after exactly maxRetries + 1 requests (no SDK retries)', async (t) => {
  const { fake, client } = await harness(t, { maxRetries: 2 });
  fake.fallback('chat', { kind: 'status', code: 502 });
  const err = await rejects(client.enrichItem(item('dead')));
  assert.equal(err.kind, 'server');
  assert.equal(err.retryable, true);
  assert.equal(err.status, 502);
  assert.equal(fake.requests.length, 3);
  assert.ok(
    fake.requests.every((r) => r.headers['x-stainless-retry-count'] === '0'),
    'the SDK never retried by itself',
  );
});

test('a hung request hits the timeout, is retried, then fails as timeout', async (t) => {
  const { fake, client } = await harness(t, { timeoutMs: 150, maxRetries: 1 });
  fake.fallback('chat', { kind: 'hang' });
  const t0 = Date.now();
  const err = await rejects(client.enrichItem(item('hang')));
  const took = Date.now() - t0;
  assert.equal(err.kind, 'timeout');
  assert.equal(err.retryable, true);
  assert.equal(fake.requests.length, 2);
  assert.ok(took >= 300 && took < 1_000, `took ${took} ms`);
});

test('a hung answer followed by a good one: the timeout frees the call and the retry succeeds', async (t) => {
  const { fake, client } = await harness(t, { timeoutMs: 150 });
  fake.script('chat', [{ kind: 'hang' }, { kind: 'ok' }]);
  const e = await client.enrichItem(item('hang-once'));
  assert.equal(Object.keys(e.attributes).length, 3);
});

test('invalid JSON from the model: one re-ask carrying the reason, then success', async (t) => {
  const { fake, client } = await harness(t);
  fake.script('chat', [{ kind: 'raw', text: '{"director": "John Lasseter", ' }, { kind: 'ok' }]);
  const e = await client.enrichItem(item('bad-json'));
  assert.equal(Object.keys(e.attributes).length, 3);
  const second = fake.requestsTo('chat')[1]!.body.messages;
  assert.equal(second.length, 4);
  assert.equal(second[2].role, 'assistant');
  assert.match(second[3].content, /not valid JSON/);
  assert.ok(e.tokens.input > fake.requestsTo('chat').length, 'tokens of both asks are counted');
});

test('invalid JSON twice: invalid_output, not retryable, two requests only', async (t) => {
  const { fake, client } = await harness(t);
  fake.fallback('chat', { kind: 'raw', text: 'Sure! Here is the JSON you asked for:' });
  const err = await rejects(client.enrichItem(item('bad-json-2')));
  assert.equal(err.kind, 'invalid_output');
  assert.equal(err.retryable, false);
  assert.equal(fake.requests.length, 2);
});

test('schema-violating JSON (missing, extra and non-string properties) is rejected', async (t) => {
  const { fake, client } = await harness(t);
  fake.fallback('chat', { kind: 'json', value: { director: 42, themes: 'x', extra: 'y' } });
  const err = await rejects(client.enrichItem(item('schema')));
  assert.equal(err.kind, 'invalid_output');
  // The violations quote the model's keys: in the detail (logs, the re-ask), not the message.
  assert.match(err.detail, /director: expected a string/);
  assert.match(err.detail, /mood: missing/);
  assert.match(err.detail, /extra: not allowed/);
  assert.doesNotMatch(err.message, /extra/);
  assert.equal(fake.requests.length, 2);
});

test('fenced JSON from a local model is accepted', async (t) => {
  const { fake, client } = await harness(t);
  fake.script('chat', [{ kind: 'raw', text: '```json\n{"director":"a","themes":"b","mood":"c"}\n```' }]);
  const e = await client.enrichItem(item('fenced'));
  assert.deepEqual(e.attributes, { director: 'a', themes: 'b', mood: 'c' });
  assert.equal(fake.requests.length, 1);
});

test('refusal and truncated answers are not re-asked', async (t) => {
  const { fake, client } = await harness(t);
  fake.script('chat', [{ kind: 'refusal' }, { kind: 'truncated' }]);
  assert.equal((await rejects(client.enrichItem(item('refuse')))).kind, 'invalid_output');
  assert.equal((await rejects(client.enrichItem(item('trunc')))).kind, 'invalid_output');
  assert.equal(fake.requests.length, 2);
});

test('400 is bad_request, not retried', async (t) => {
  const { fake, client } = await harness(t);
  fake.script('chat', [
    {
      kind: 'status',
      code: 400,
      body: { error: { message: "Invalid schema for response_format 'item_enrichment'", type: 'invalid_request_error' } },
    },
  ]);
  const err = await rejects(client.enrichItem(item('400')));
  assert.equal(err.kind, 'bad_request');
  assert.equal(err.retryable, false);
  assert.match(err.detail, /Invalid schema/, "the endpoint's words are kept for the logs");
  assert.doesNotMatch(err.message, /Invalid schema/, 'and only there');
  assert.equal(err.code, 'llm_bad_request');
  assert.equal(fake.requests.length, 1);
});

test('connection refused is a retryable connection failure', async (t) => {
  const { fake, client } = await harness(t, { maxRetries: 1 });
  await fake.close();
  const err = await rejects(client.enrichItem(item('refused')));
  assert.equal(err.kind, 'connection');
  assert.equal(err.retryable, true);
});

test('a failure is not cached: the next call asks again and succeeds', async (t) => {
  const { fake, client } = await harness(t, { maxRetries: 0 });
  fake.script('chat', [{ kind: 'status', code: 500 }]);
  await rejects(client.enrichItem(item('again')));
  const e = await client.enrichItem(item('again'));
  assert.equal(e.cached, false);
  assert.equal(fake.requests.length, 2);
});

test('close() ends requests in flight', async (t) => {
  const { fake, client } = await harness(t, { timeoutMs: 5_000 });
  fake.fallback('chat', { kind: 'hang' });
  const p = rejects(client.enrichItem(item('closing')));
  await waitFor(async () => fake.requests.length === 1, 'the request to reach the server');
  await client.close();
  const err = await p;
  assert.equal(err.kind, 'connection');
  assert.equal(err.retryable, true);
});
