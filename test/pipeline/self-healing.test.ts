// The pipeline heals itself: work that finds no model waits for one, an item missed by a
// re-embed is found, one training run per space at a time, and the enrichment the LLM was
// paid for reaches the external encoder.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startFakeOpenAI } from '../support/fake-openai.js';
import { defer, startTestService, waitFor } from '../support/service.js';
import { embeddingOf, post, seedSpace, train } from '../support/space.js';

test('an item that arrives before any model waits parked, and is embedded when training activates one', async (t) => {
  const svc = await startTestService(t);
  const app = svc.app!;
  const world = await seedSpace(app, { train: false });
  const early = world.items[35]!;
  assert.equal((await post(app, '/v1/spaces/movies/items', { items: [{ id: early.id, features: early.features }] })).statusCode, 202);
  await waitFor(
    async () =>
      (await svc.db.query(`SELECT 1 FROM tasks WHERE queue = 'embed' AND key = $1 AND parked = 'no model'`, [`movies/${early.id}`]))
        .rowCount,
    'the embed task parked for want of a model',
  );
  assert.equal(await embeddingOf(app, 'movies', early.id), null);
  await train(app, 'movies');
  const e = await waitFor(() => embeddingOf(app, 'movies', early.id), 'the parked item embedded after training');
  assert.equal(e.kind, 'cold');
});

test('a refine that finds no cold embedding from the active model schedules the embed, which refines', async (t) => {
  const svc = await startTestService(t);
  const app = svc.app!;
  const world = await seedSpace(app);
  const it = world.items[36]!;
  await post(app, '/v1/spaces/movies/items', { items: [{ id: it.id, features: it.features }] });
  await waitFor(() => embeddingOf(app, 'movies', it.id), 'cold embedding');
  await waitFor(async () => (await svc.db.query(`SELECT 1 FROM tasks WHERE key = $1`, [`movies/${it.id}`])).rowCount === 0, 'no work left');
  // As if its embed had been lost: no cold embedding from the active model, and no embed task.
  await svc.db.query(`UPDATE items SET cold_model = NULL, cold_vector = NULL WHERE id = $1`, [it.id]);
  await post(app, '/v1/spaces/movies/interactions', { events: [{ id: 'heal-1', userId: 'u1', itemId: it.id, label: 1 }] });
  const e = await waitFor(async () => {
    const x = await embeddingOf(app, 'movies', it.id);
    return x?.kind === 'refined' ? x : null;
  }, 'refined after the scheduled embed');
  assert.equal(e.interactions, 1);
  const cold = await svc.db.query<{ cold_model: string | null }>(`SELECT cold_model FROM items WHERE id = $1`, [it.id]);
  assert.notEqual(cold.rows[0]?.cold_model, null, 'the embed made a cold embedding again');
});

test('the sweep re-embeds an emerging item the training run missed', async (t) => {
  const svc = await startTestService(t);
  const app = svc.app!;
  const world = await seedSpace(app);
  const it = world.items[37]!;
  await post(app, '/v1/spaces/movies/items', { items: [{ id: it.id, features: it.features }] });
  const first = await waitFor(() => embeddingOf(app, 'movies', it.id), 'cold embedding');
  await train(app, 'movies');
  const v2 = await waitFor(async () => {
    const x = await embeddingOf(app, 'movies', it.id);
    return x && x.version > first.version ? x : null;
  }, 're-embedded by the new model');
  assert.equal((v2 as { modelVersion?: number }).modelVersion, 2);
  // Now make it look like an item that committed while that training run committed: its cold
  // embedding from the old model, and no embed task for it.
  const old = await svc.db.query<{ id: string }>(`SELECT id FROM models WHERE version = 1`);
  await svc.db.query(`UPDATE items SET cold_model = $2 WHERE id = $1`, [it.id, old.rows[0]!.id]);
  await svc.sweeper.upkeep();
  await waitFor(async () => {
    const r = await svc.db.query<{ v: number }>(`SELECT m.version AS v FROM items i JOIN models m ON m.id = i.cold_model WHERE i.id = $1`, [
      it.id,
    ]);
    return r.rows[0]?.v === 2;
  }, 'the sweep re-embedded it with the active model');
});

test('one training run per space at a time; model versions strictly increase', async (t) => {
  const svc = await startTestService(t);
  const app = svc.app!;
  await seedSpace(app, { train: false });
  const a = (await post(app, '/v1/spaces/movies/train', {})).json().jobId;
  const b = (await post(app, '/v1/spaces/movies/train', { seed: 7 })).json().jobId;
  assert.equal(b, a, 'a second request while one runs answers the running job');
  await waitFor(
    async () => (await app.inject({ method: 'GET', url: `/v1/jobs/${a}` })).json().state === 'completed',
    'the run to complete',
    120_000,
  );
  const c = await train(app, 'movies');
  assert.notEqual(c['id'], a, 'after it completed, a new run starts');
  const versions = (await svc.db.query<{ version: number }>('SELECT version FROM models ORDER BY id')).rows.map((r) => r.version);
  assert.deepEqual(versions, [1, 2]);
});

test('with EMBEDDING_MODEL set, the enriched text reaches /v1/embeddings', async (t) => {
  const fake = await startFakeOpenAI();
  defer(t, () => fake.close());
  const svc = await startTestService(t, {
    LLM_BASE_URL: fake.url,
    LLM_MODEL: 'test-model',
    EMBEDDING_MODEL: 'test-embed',
    LLM_TIMEOUT_MS: '1500',
  });
  const app = svc.app!;
  const world = await seedSpace(app);
  const it = world.items[38]!;
  await post(app, '/v1/spaces/movies/items', { items: [{ id: it.id, features: it.features }] });
  const view = await waitFor(async () => {
    const v = (await app.inject({ method: 'GET', url: `/v1/spaces/movies/items/${it.id}` })).json();
    return v.enrichment ? v : null;
  }, 'enrichment');
  const name = Object.keys(view.enrichment.attributes as Record<string, unknown>)[0]!;
  const inputs = () => fake.requestsTo('embeddings').flatMap((r) => ([] as string[]).concat(r.body.input));
  const sent = await waitFor(
    async () => inputs().find((s) => s.includes(String(it.features['title'])) && s.includes(`\n${name}: `)),
    'the enriched text sent to the embedding model',
  );
  assert.ok(sent.includes(String(it.features['title'])));
  // …and the served embedding is the one made from it: from the item's current text revision
  // (the enrichment raised it), whether the first embed already saw the enrichment or a second one ran.
  await waitFor(
    async () => (await svc.db.query(`SELECT 1 FROM items WHERE id = $1 AND enrichment IS NOT NULL AND cold_rev = rev`, [it.id])).rowCount,
    'the cold embedding made from the enriched text',
  );
  assert.equal((await embeddingOf(app, 'movies', it.id))?.kind, 'cold');
});
