// What an LLM endpoint says when it fails is the endpoint's text (it may quote prompts,
// keys, internal hosts): it goes to the logs and nowhere else. Errors carry a stable code
// (llm_server, llm_timeout, …), and that is all an API caller ever reads back — from an
// item, a training run, a space, the health and metrics routes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startFakeOpenAI, type Behaviour } from '../support/fake-openai.js';
import { defer, startTestService, waitFor } from '../support/service.js';
import { post, seedSpace } from '../support/space.js';
import { harness, MOVIE_AUX, rejects, toyStory } from '../llm/helpers.js';

const MARK = 'UPSTREAM-LEAK-7f3a9c';

const leaking: Behaviour = {
  kind: 'status',
  code: 500,
  body: { error: { message: `internal error at db-7.internal: ${MARK} prompt was …`, type: 'server_error', code: MARK } },
};

test('the client: the upstream text is the detail, logged; the message and code are its own words', async (t) => {
  const { fake, client, lines } = await harness(t, { maxRetries: 1 });
  fake.fallback('chat', leaking);
  const err = await rejects(client.enrichItem({ itemType: 'movie', auxFeatures: MOVIE_AUX, features: toyStory, contentHash: 'x' }));
  assert.equal(err.kind, 'server');
  assert.equal(err.code, 'llm_server');
  assert.equal(err.status, 500);
  assert.ok(!err.message.includes(MARK), err.message);
  assert.ok(err.detail.includes(MARK), 'kept as the detail, for the logs');
  assert.ok(
    lines.some((l) => l.includes(MARK) && JSON.parse(l).msg === 'LLM operation failed'),
    'the upstream text is in the log line of the failure',
  );
});

test('an upstream 500 naming a distinctive string never appears in any API answer', async (t) => {
  const fake = await startFakeOpenAI({ dim: 8 });
  defer(t, () => fake.close());
  const svc = await startTestService(t, {
    LLM_BASE_URL: fake.url,
    LLM_MODEL: 'test-model',
    EMBEDDING_MODEL: 'embed-model',
    EMBEDDING_DIM: '8',
    LLM_MAX_RETRIES: '0',
    LLM_TIMEOUT_MS: '1500',
    // The enrichment's retries would open the breaker before training calls the encoder (how soon
    // depends on the machine's load), and the encoder's answer must be seen failing: kept closed.
    LLM_BREAKER_THRESHOLD: '1000',
  });
  const app = svc.app!;
  const world = await seedSpace(app); // trains with the encoder answering
  fake.fallback('chat', leaking);
  fake.fallback('embeddings', leaking);

  // Enrichment fails: the item's enrichError.
  const item = world.items[31]!;
  await post(app, '/v1/spaces/movies/items', { items: [{ id: item.id, features: item.features }] });
  const failed = await waitFor(async () => {
    const v = (await app.inject({ method: 'GET', url: `/v1/spaces/movies/items/${item.id}` })).json();
    return v.enrichError ? v : null;
  }, 'the enrichment failure to be recorded');
  assert.equal(failed.enrichError, 'llm_server');

  // Training fails while encoding: the run's error, read back through GET /v1/jobs/:id.
  const { jobId } = (await post(app, '/v1/spaces/movies/train', {})).json();
  const job = await waitFor(async () => {
    const j = (await app.inject({ method: 'GET', url: `/v1/jobs/${jobId}` })).json();
    return j.error ? j : null;
  }, 'the training failure to be recorded');
  assert.match(job.error, /HTTP 500/);

  // The endpoint did answer with the text: it was there to leak.
  assert.ok(fake.requestsTo('chat').some((r) => r.behaviour === 'status'));
  assert.ok(fake.requestsTo('embeddings').some((r) => r.behaviour === 'status'));
  const answers = await Promise.all(
    [
      { method: 'GET' as const, url: `/v1/spaces/movies/items/${item.id}` },
      { method: 'GET' as const, url: `/v1/spaces/movies/items/${item.id}/embedding` },
      { method: 'GET' as const, url: `/v1/jobs/${jobId}` },
      { method: 'GET' as const, url: '/v1/spaces/movies' },
      { method: 'POST' as const, url: '/v1/spaces/movies/embeddings/lookup', payload: { ids: [item.id, world.items[0]!.id] } },
      { method: 'GET' as const, url: '/readyz' },
      { method: 'GET' as const, url: '/metrics' },
    ].map((r) => app.inject(r)),
  );
  for (const a of answers) assert.ok(!a.body.includes(MARK), `${a.statusCode} ${a.body.slice(0, 300)}`);
  // Nor in what Postgres keeps for routes to read back.
  const stored = await svc.db.query(
    `SELECT (SELECT count(*) FROM items WHERE enrich_error LIKE '%' || $1 || '%')
          + (SELECT count(*) FROM train_runs WHERE error LIKE '%' || $1 || '%') AS n`,
    [MARK],
  );
  assert.equal(Number(stored.rows[0].n), 0);
});
