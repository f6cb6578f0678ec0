// LLM_SPACE_DAILY_TOKENS in the running service, against the fake OpenAI server: what a
// space spends is recorded per UTC day, once; past its budget its items keep their
// raw-feature embeddings and their enrichment is parked without a request, and the
// sweeper makes it due again when the day turns (its clock is injected, not waited for).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startFakeOpenAI } from '../support/fake-openai.js';
import { defer, startTestService, waitFor } from '../support/service.js';
import { embeddingOf, post, seedSpace } from '../support/space.js';

const DAY_MS = 86_400_000;

test('a space past its daily token budget: the rest of its enrichment parks until the UTC day turns', async (t) => {
  const fake = await startFakeOpenAI();
  defer(t, () => fake.close());
  const svc = await startTestService(t, {
    LLM_BASE_URL: fake.url,
    LLM_MODEL: 'test-model',
    LLM_MAX_RETRIES: '0',
    // One token: the first enrichment (the space's feature proposal, then the item) spends it.
    LLM_SPACE_DAILY_TOKENS: '1',
    // One enrichment at a time, so that which items are sent is decided by the budget alone.
    LLM_CONCURRENCY: '1',
    // Only the emerging items ask: the budget's arithmetic below counts them alone.
    ENRICH_ESTABLISHED: 'false',
  });
  const app = svc.app!;
  const world = await seedSpace(app);
  const emerging = world.items.slice(31, 35);
  const keys = emerging.map((i) => `movies/${i.id}`);
  assert.equal(
    (await post(app, '/v1/spaces/movies/items', { items: emerging.map((i) => ({ id: i.id, features: i.features })) })).statusCode,
    202,
  );

  const tasks = async () =>
    (
      await svc.db.query<{ key: string; parked: string | null; dispatches: number }>(
        `SELECT key, parked, dispatches FROM tasks WHERE queue = 'enrich' AND key = ANY($1::text[]) ORDER BY key`,
        [keys],
      )
    ).rows;
  const enriched = async () =>
    (await svc.db.query<{ id: string }>(`SELECT id FROM items WHERE space_id = 'movies' AND enrichment IS NOT NULL ORDER BY id`)).rows.map(
      (r) => r.id,
    );
  const spent = async () =>
    (await svc.db.query<{ day: string; tokens: string }>(`SELECT day::text AS day, tokens FROM llm_usage WHERE space_id = 'movies'`)).rows;

  const parked = await waitFor(async () => {
    const rows = await tasks();
    return rows.length === 3 && rows.every((r) => r.parked) ? rows : null;
  }, 'three enrichments parked, the fourth done');
  const first = (await enriched())[0]!;
  assert.deepEqual(await enriched(), [first], 'one item enriched');

  await t.test('the first item is enriched; the others are parked with the budget reason and never sent', async () => {
    assert.equal(fake.requestsTo('chat').length, 2, 'the feature proposal and one item: nothing for the parked ones');
    const reason = parked[0]!.parked!;
    assert.match(reason, /^llm budget \d{4}-\d{2}-\d{2}$/);
    assert.ok(parked.every((r) => r.parked === reason));
    for (const item of emerging.filter((i) => i.id !== first)) {
      const view = (await app.inject({ method: 'GET', url: `/v1/spaces/movies/items/${item.id}` })).json();
      assert.equal(view.enrichError, 'llm_budget', 'the item says why it waits');
      assert.equal(view.enrichment, null);
      assert.equal((await waitFor(() => embeddingOf(app, 'movies', item.id), 'raw-feature embedding')).kind, 'cold');
    }
  });

  await t.test('usage: prompt + completion of both calls, on the UTC day the tasks were parked for', async () => {
    const [row, ...more] = await spent();
    assert.equal(more.length, 0);
    assert.equal(`llm budget ${row!.day}`, parked[0]!.parked);
    const view = (await app.inject({ method: 'GET', url: `/v1/spaces/movies/items/${first}` })).json();
    const itemTokens = view.enrichment.tokens.input + view.enrichment.tokens.output;
    assert.ok(Number(row!.tokens) > itemTokens, `${row!.tokens} tokens: the item's ${itemTokens} and the feature proposal's`);
    const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body;
    assert.ok(Number(/^emerflow_llm_budget_parked_total (\d+)/m.exec(metrics)?.[1]) >= 3, 'parkings are counted');
    assert.ok(Number(/^emerflow_llm_budget_spent_total (\d+)/m.exec(metrics)?.[1]) >= 1, 'the spent budget is counted');
  });

  await t.test('run again after its enrichment committed, a task finds nothing to do and counts nothing', async () => {
    const before = await spent();
    const hash = (await svc.db.query<{ h: string }>(`SELECT content_hash AS h FROM items WHERE id = $1`, [first])).rows[0]!.h;
    // The task as the relay would have it again (a redelivery after the commit).
    await svc.db.query(`INSERT INTO tasks (queue, key, payload) VALUES ('enrich', $1, $2)`, [
      `movies/${first}`,
      JSON.stringify({ space: 'movies', item: first, hash }),
    ]);
    await svc.db.query(`SELECT pg_notify('emerflow_tasks', 'enrich')`);
    await waitFor(
      async () => (await svc.db.query(`SELECT 1 FROM tasks WHERE queue = 'enrich' AND key = $1`, [`movies/${first}`])).rowCount === 0,
      'the re-run task to complete',
    );
    assert.deepEqual(await spent(), before);
    assert.equal(fake.requestsTo('chat').length, 2);
  });

  await t.test('the sweeper wakes them when the UTC day turns, not before', async () => {
    const day = parked[0]!.parked!.slice('llm budget '.length);
    const midnight = Date.parse(`${day}T00:00:00Z`);
    assert.equal(await svc.sweeper.renewLlmBudgets(midnight + DAY_MS - 1), 0, 'the last millisecond of the day: still parked');
    assert.equal(await svc.sweeper.renewLlmBudgets(midnight + DAY_MS), 3, 'the next day: due again');
    // They run again at once; for this service's own clock it is still the same day, on which the
    // space has spent its budget: they are parked again, and still nothing is sent.
    await waitFor(async () => {
      const rows = await tasks();
      return rows.length === 3 && rows.every((r, k) => r.parked === parked[0]!.parked && r.dispatches > parked[k]!.dispatches);
    }, 'the woken tasks to run and park again');
    assert.equal(fake.requestsTo('chat').length, 2);
    const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body;
    assert.ok(Number(/^emerflow_llm_budget_unparked_total (\d+)/m.exec(metrics)?.[1]) >= 3);
  });

  await t.test('on a new day the space may spend again: one more item is enriched, the rest park again', async () => {
    // What the next day looks like to the job: the spend is yesterday's, nothing is spent today.
    await svc.db.query(`UPDATE llm_usage SET day = day - 1 WHERE space_id = 'movies'`);
    const day = parked[0]!.parked!.slice('llm budget '.length);
    assert.equal(await svc.sweeper.renewLlmBudgets(Date.parse(`${day}T00:00:00Z`) + DAY_MS), 3);
    await waitFor(async () => {
      const rows = await tasks();
      return rows.length === 2 && rows.every((r) => r.parked) && (await enriched()).length === 2;
    }, 'a second item enriched, two parked again');
    assert.equal(fake.requestsTo('chat').length, 3, 'one request more: the features are known now');
  });
});
