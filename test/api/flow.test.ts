// The whole path on real Postgres, Redis and BullMQ: a space, user vectors, established
// items, training, then an emerging item that gets a cold embedding, a refined one
// after interactions, and no new version when the same events are sent again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestService, waitFor } from '../support/service.js';
import { makeWorld } from '../support/fixtures.js';

test('new item: cold embedding after training, refined after interactions, duplicates ignored', async (t) => {
  const svc = await startTestService(t);
  const app = svc.app!;
  const world = makeWorld({ dim: 8, users: 50, items: 41 });
  const post = async (url: string, payload: unknown) => app.inject({ method: 'POST', url, payload: payload as object });

  let res = await post('/v1/spaces', { id: 'movies', dim: 8, itemType: 'movie', scorer: 'dot' });
  assert.equal(res.statusCode, 201, res.body);
  res = await post('/v1/spaces/movies/users', { users: world.users });
  assert.deepEqual(res.json(), { upserted: 50 });

  const established = world.items.slice(0, 40);
  res = await post('/v1/spaces/movies/items', { items: established.map((i) => ({ id: i.id, features: i.features, embedding: i.vector })) });
  assert.equal(res.statusCode, 202);
  assert.deepEqual(res.json(), { accepted: 40, unchanged: 0 });
  const events = [];
  for (let it = 0; it < 40; it++)
    for (let u = 0; u < 50; u += 2)
      events.push({
        id: `e-${it}-${u}`,
        userId: `u${u}`,
        itemId: `m${it}`,
        label: world.label(u, it),
        ts: new Date(Date.UTC(2026, 0, 1, 0, it, u)).toISOString(),
      });
  res = await post('/v1/spaces/movies/interactions', { events });
  assert.equal(res.json().accepted, events.length);

  res = await post('/v1/spaces/movies/train', {});
  assert.equal(res.statusCode, 202);
  const { jobId } = res.json();
  const job = await waitFor(
    async () => {
      const j = (await app.inject({ method: 'GET', url: `/v1/jobs/${jobId}` })).json();
      if (j.state === 'failed') throw new Error(`training failed: ${j.error}`);
      return j.state === 'completed' ? j : null;
    },
    'training to complete',
    120_000,
  );
  assert.equal(job.result.modelVersion, 1);
  assert.equal(job.progress.fraction, 1);

  const fresh = world.items[40]!;
  res = await post('/v1/spaces/movies/items', { items: [{ id: fresh.id, features: fresh.features }] });
  assert.deepEqual(res.json(), { accepted: 1, unchanged: 0 });
  const cold = await waitFor(async () => {
    const r = await app.inject({ method: 'GET', url: `/v1/spaces/movies/items/${fresh.id}/embedding` });
    return r.statusCode === 200 ? (r.json() as { kind: string; vector: number[]; version: number; modelVersion: number }) : null;
  }, 'a cold embedding');
  assert.equal(cold.kind, 'cold');
  assert.equal(cold.vector.length, 8);
  assert.equal(cold.modelVersion, 1);
  assert.ok(cold.vector.every((x: number) => Number.isFinite(x)));

  const newEvents = Array.from({ length: 20 }, (_, u) => ({
    id: `new-${u}`,
    userId: `u${u}`,
    itemId: fresh.id,
    label: world.label(u, 40),
    ts: new Date(Date.UTC(2026, 1, 1, 0, 0, u)).toISOString(),
  }));
  res = await post('/v1/spaces/movies/interactions', { events: newEvents });
  assert.deepEqual(res.json(), { accepted: 20, duplicates: 0 });
  const refined = await waitFor(async () => {
    const r = (await app.inject({ method: 'GET', url: `/v1/spaces/movies/items/${fresh.id}/embedding` })).json();
    return r.kind === 'refined' ? r : null;
  }, 'a refined embedding');
  assert.ok(refined.version > cold.version);
  assert.equal(refined.interactions, 20);
  assert.notDeepEqual(refined.vector, cold.vector);

  // Work caused by a request is written in its transaction: once the earlier work is done,
  // resending the same events must leave no task behind.
  await waitFor(
    async () => (await svc.db.query(`SELECT 1 FROM tasks WHERE key = $1`, [`movies/${fresh.id}`])).rowCount === 0,
    'the earlier work done',
  );
  res = await post('/v1/spaces/movies/interactions', { events: newEvents });
  assert.deepEqual(res.json(), { accepted: 0, duplicates: 20 });
  assert.equal(
    (await svc.db.query(`SELECT 1 FROM tasks WHERE key = $1`, [`movies/${fresh.id}`])).rowCount,
    0,
    'duplicates schedule no refinement',
  );
  const after = (await app.inject({ method: 'GET', url: `/v1/spaces/movies/items/${fresh.id}/embedding` })).json();
  assert.equal(after.version, refined.version);

  const item = (await app.inject({ method: 'GET', url: `/v1/spaces/movies/items/${fresh.id}` })).json();
  assert.equal(item.state, 'warming');
  assert.equal(item.interactions, 20);
  const space = (await app.inject({ method: 'GET', url: '/v1/spaces/movies' })).json();
  assert.equal(space.model.version, 1);
  assert.equal(space.counts.items.established, 40);
  assert.equal(space.counts.items.warming, 1);
  assert.equal(space.counts.users, 50);

  const lookup = (await post('/v1/spaces/movies/embeddings/lookup', { ids: [fresh.id, 'm0', 'nope'] })).json();
  assert.deepEqual(lookup.missing, ['nope']);
  assert.deepEqual(
    lookup.embeddings.map((e: { id: string }) => e.id),
    [fresh.id, 'm0'],
  );
  assert.equal(lookup.embeddings[0].version, refined.version);
});
