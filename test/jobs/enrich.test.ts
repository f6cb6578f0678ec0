// LLM enrichment inside the running service, against a local server that speaks the
// OpenAI protocol (driven by the real openai client). The item's cold embedding never
// waits for the LLM, and no failure loses work.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startFakeOpenAI } from '../support/fake-openai.js';
import { defer, startTestService, waitFor } from '../support/service.js';
import { embeddingOf, post, seedSpace, train } from '../support/space.js';

const LLM_ENV = {
  LLM_MODEL: 'test-model',
  LLM_API_KEY: 'sk-test-secret',
  LLM_TIMEOUT_MS: '1500',
  LLM_MAX_RETRIES: '1',
  LLM_BREAKER_THRESHOLD: '3',
  LLM_BREAKER_COOLDOWN_MS: '1500',
};

async function itemView(app: NonNullable<Awaited<ReturnType<typeof startTestService>>['app']>, id: string) {
  return (await app.inject({ method: 'GET', url: `/v1/spaces/movies/items/${id}` })).json();
}

test('enrichment: auxiliary features once per space, attributes per item, re-embedding, no second payment', async (t) => {
  const fake = await startFakeOpenAI();
  defer(t, () => fake.close());
  const svc = await startTestService(t, { ...LLM_ENV, LLM_BASE_URL: fake.url });
  const app = svc.app!;
  const world = await seedSpace(app);
  const a = world.items[31]!;
  const b = world.items[32]!;
  assert.equal(
    (
      await post(app, '/v1/spaces/movies/items', {
        items: [
          { id: a.id, features: a.features },
          { id: b.id, features: b.features },
        ],
      })
    ).statusCode,
    202,
  );

  await t.test('the LLM proposes the auxiliary features once, and fills them in per item', async () => {
    const enriched = await waitFor(async () => {
      const v = await itemView(app, a.id);
      return v.enrichment ? v : null;
    }, 'enrichment');
    assert.equal(enriched.enrichment.model, 'test-model');
    assert.ok(Object.keys(enriched.enrichment.attributes).length > 0);
    assert.ok(enriched.enrichment.tokens.input > 0);
    const space = (await app.inject({ method: 'GET', url: '/v1/spaces/movies' })).json();
    assert.equal(space.auxSource, 'llm');
    assert.deepEqual(Object.keys(enriched.enrichment.attributes).sort(), space.auxFeatures.map((f: { name: string }) => f.name).sort());
  });

  await t.test('the enrichment re-embeds the item from its new text', async () => {
    // The served embedding is made from the item's current text revision, which the enrichment
    // raised (a newer version, unless the first embed already saw the enrichment).
    await waitFor(
      async () =>
        (await svc.db.query(`SELECT 1 FROM items WHERE id = $1 AND enrichment IS NOT NULL AND cold_rev = rev AND rev > 1`, [a.id]))
          .rowCount,
      're-embedding with enrichment',
    );
    assert.equal((await embeddingOf(app, 'movies', a.id))?.kind, 'cold');
  });

  await t.test('established items are enriched too, and keep serving their own vectors', async () => {
    // training's aligner learns from established items' text what it applies to emerging items'
    const established = world.items.slice(0, 30).map((i) => i.id);
    await waitFor(
      async () =>
        (await svc.db.query(`SELECT 1 FROM items WHERE id = ANY($1) AND state = 'established' AND enrichment IS NOT NULL`, [established]))
          .rowCount === established.length,
      'every established item enriched',
    );
    for (const id of established.slice(0, 3)) assert.equal((await embeddingOf(app, 'movies', id))?.kind, 'base');
    const embeds = await svc.db.query(`SELECT 1 FROM tasks WHERE queue = 'embed' AND key = ANY($1)`, [
      established.map((i) => `movies/${i}`),
    ]);
    assert.equal(embeds.rowCount, 0, 'no embed work for an established item');
  });

  await t.test('what the LLM was asked: one schema request for the space, one structured request per item', async () => {
    await waitFor(async () => (await itemView(app, b.id)).enrichment, 'second item enriched');
    const chats = fake.requestsTo('chat');
    const structured = chats.map((r) => r.body.response_format?.json_schema);
    assert.equal(chats.length, 1 + 30 + 2, 'aux features once, then one call per item (30 established, 2 emerging)');
    assert.ok(structured.every((s) => s && s.strict === true));
    assert.ok(
      chats.every((r) => r.body.max_completion_tokens === 2048),
      'every answer is capped in tokens',
    );
    const perItem = chats.slice(1).map((r) => JSON.stringify(r.body.messages));
    assert.ok(
      perItem.some((m) => m.includes(String(a.features['title']))),
      "the item's own features were sent",
    );
    assert.ok(chats.every((r) => r.authorization === 'bearer'));
  });

  await t.test('re-sent unchanged: nothing to do; changed and changed back: the cache answers', async () => {
    assert.deepEqual((await post(app, '/v1/spaces/movies/items', { items: [{ id: a.id, features: a.features }] })).json(), {
      accepted: 0,
      unchanged: 1,
    });
    await post(app, '/v1/spaces/movies/items', { items: [{ id: a.id, features: { ...a.features, title: 'Renamed' } }] });
    await waitFor(
      async () => (await itemView(app, a.id)).enrichment?.attributes && fake.requestsTo('chat').length === 34,
      'enrichment of the changed item',
    );
    await post(app, '/v1/spaces/movies/items', { items: [{ id: a.id, features: a.features }] });
    await waitFor(async () => {
      const v = await itemView(app, a.id);
      return v.features.title === a.features['title'] && v.enrichment && v.state !== 'received' ? v : null;
    }, 'enrichment back from the cache');
    assert.equal(fake.requestsTo('chat').length, 34, 'the original content was answered from the cache');
  });

  await t.test('users can replace the auxiliary features; theirs win, and emerging items are enriched again', async () => {
    const put = await app.inject({
      method: 'PUT',
      url: '/v1/spaces/movies/aux-features',
      payload: { features: [{ name: 'Director', description: 'who directed it' }] },
    });
    assert.equal(put.statusCode, 200);
    assert.deepEqual(put.json().auxFeatures, [{ name: 'director', description: 'who directed it' }]);
    assert.equal(put.json().auxSource, 'user');
    const redone = await waitFor(async () => {
      const v = await itemView(app, b.id);
      return v.enrichment && Object.keys(v.enrichment.attributes).join() === 'director' ? v : null;
    }, 're-enrichment with the user list');
    assert.ok(redone.enrichment.attributes.director.length > 0);
  });
});

test('LLM failures: the cold embedding comes anyway, and the work waits in Postgres until the LLM recovers', async (t) => {
  const fake = await startFakeOpenAI();
  defer(t, () => fake.close());
  const svc = await startTestService(t, { ...LLM_ENV, LLM_BASE_URL: fake.url });
  const app = svc.app!;
  const world = await seedSpace(app);

  // 500s on every call: retried once in the client, then the task backs off; the breaker opens.
  fake.fallback('chat', { kind: 'status', code: 500 });
  const a = world.items[31]!;
  await post(app, '/v1/spaces/movies/items', { items: [{ id: a.id, features: a.features }] });
  const cold = await waitFor(() => embeddingOf(app, 'movies', a.id), 'cold embedding despite the LLM failing');
  assert.equal(cold.kind, 'cold');
  const failing = await waitFor(async () => {
    const v = await itemView(app, a.id);
    return v.enrichError ? v : null;
  }, 'the failure to be recorded');
  assert.match(failing.enrichError, /server|breaker/);
  assert.ok(!failing.enrichError.includes('sk-test-secret'));
  const task = await svc.db.query(`SELECT attempts, dead_at FROM tasks WHERE queue = 'enrich' AND key = $1`, [`movies/${a.id}`]);
  assert.equal(task.rowCount, 1, 'the enrichment task waits in Postgres');
  assert.equal(task.rows[0].dead_at, null);
  await waitFor(async () => svc.llm!.breakerState() === 'open', 'the breaker to open');
  const ready = (await app.inject({ method: 'GET', url: '/readyz' })).json();
  assert.equal(ready.llm, 'open');

  // The LLM recovers: the breaker half-opens, the task's backoff ends, the item is enriched and re-embedded.
  fake.fallback('chat', { kind: 'ok' });
  const done = await waitFor(
    async () => {
      const v = await itemView(app, a.id);
      return v.enrichment ? v : null;
    },
    'enrichment after recovery',
    30_000,
  );
  assert.equal(done.enrichError, null);
  await waitFor(async () => {
    const x = await embeddingOf(app, 'movies', a.id);
    return x && x.version > cold.version ? x : null;
  }, 're-embedding after recovery');
  assert.equal(svc.llm!.breakerState(), 'closed');

  // A hung request hits the timeout; invalid JSON (twice: the client re-asks once) is a permanent failure.
  fake.script('chat', [{ kind: 'hang' }, { kind: 'hang' }]);
  const b = world.items[32]!;
  await post(app, '/v1/spaces/movies/items', { items: [{ id: b.id, features: b.features }] });
  assert.equal((await waitFor(() => embeddingOf(app, 'movies', b.id), 'cold embedding while the LLM hangs')).kind, 'cold');
  await waitFor(async () => {
    const v = await itemView(app, b.id);
    return v.enrichError?.includes('timeout') ? v : null;
  }, 'timeout recorded');
  await waitFor(
    async () => {
      const v = await itemView(app, b.id);
      return v.enrichment ? v : null;
    },
    'enrichment after the hang',
    30_000,
  );

  fake.script('chat', [
    { kind: 'raw', text: 'not json {' },
    { kind: 'raw', text: '{"also": "not the schema"}' },
  ]);
  const c = world.items[33]!;
  await post(app, '/v1/spaces/movies/items', { items: [{ id: c.id, features: c.features }] });
  assert.equal((await waitFor(() => embeddingOf(app, 'movies', c.id), 'cold embedding despite invalid output')).kind, 'cold');
  const invalid = await waitFor(async () => {
    const v = await itemView(app, c.id);
    return v.enrichError ? v : null;
  }, 'invalid output recorded');
  assert.equal(invalid.enrichError, 'llm_bad_answer');
  await waitFor(
    async () => (await svc.db.query(`SELECT 1 FROM tasks WHERE queue = 'enrich' AND key = $1`, [`movies/${c.id}`])).rowCount === 0,
    'the permanent failure to drop the task',
  );
  assert.equal((await itemView(app, c.id)).enrichment, null);
});

test('external encoder: /v1/embeddings vectors, and an answer of the wrong dimension is retried, not stored', async (t) => {
  const fake = await startFakeOpenAI({ dim: 12 });
  defer(t, () => fake.close());
  const svc = await startTestService(t, { ...LLM_ENV, LLM_BASE_URL: fake.url, EMBEDDING_MODEL: 'embed-model', EMBEDDING_DIM: '12' });
  const app = svc.app!;
  const world = await seedSpace(app, { train: false });
  const job = await train(app, 'movies');
  assert.match(String((job['result'] as Record<string, unknown>)['encoder']), /embed-model/);
  assert.ok(fake.requestsTo('embeddings').length > 0);

  fake.script('embeddings', [
    { kind: 'dim', n: 5 },
    { kind: 'dim', n: 5 },
    { kind: 'dim', n: 5 },
  ]);
  const a = world.items[31]!;
  await post(app, '/v1/spaces/movies/items', { items: [{ id: a.id, features: a.features }] });
  const e = await waitFor(() => embeddingOf(app, 'movies', a.id), 'cold embedding once the encoder answers right', 30_000);
  assert.equal(e.vector.length, 8);
  const failed = fake.requestsTo('embeddings').filter((r) => r.behaviour === 'dim');
  assert.ok(failed.length >= 1, 'the wrong-dimension answers were seen');
  // What is stored is the right answer's 12 dimensions, never the 5 of the wrong ones.
  const stored = await svc.db.query<{ bytes: number }>(`SELECT octet_length(vector) AS bytes FROM item_vectors WHERE item_id = $1`, [a.id]);
  assert.deepEqual(stored.rows, [{ bytes: 12 * 4 }]);
});
