// Bad input gets a clear 4xx naming the field, in the one error shape.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestService } from '../support/service.js';
import { post } from '../support/space.js';

test('bad input is rejected with a message naming the field', async (t) => {
  const svc = await startTestService(t);
  const app = svc.app!;
  assert.equal((await post(app, '/v1/spaces', { id: 's', dim: 3, itemType: 'movie', scorer: 'dot' })).statusCode, 201);

  const cases: { name: string; url: string; payload?: unknown; raw?: string; status: number; error: string; mentions: string }[] = [
    {
      name: 'wrong vector length',
      url: '/v1/spaces/s/users',
      payload: { users: [{ id: 'u1', vector: [1, 2] }] },
      status: 400,
      error: 'invalid_request',
      mentions: 'users[0].vector',
    },
    {
      name: 'non-numbers in a vector',
      url: '/v1/spaces/s/users',
      payload: { users: [{ id: 'u1', vector: [1, 'x', 3] }] },
      status: 400,
      error: 'invalid_request',
      mentions: 'users[0].vector[1]',
    },
    {
      name: 'missing user id',
      url: '/v1/spaces/s/users',
      payload: { users: [{ vector: [1, 2, 3] }] },
      status: 400,
      error: 'invalid_request',
      mentions: 'users[0].id',
    },
    {
      name: 'item embedding of the wrong length',
      url: '/v1/spaces/s/items',
      payload: { items: [{ id: 'a', features: {}, embedding: [1] }] },
      status: 400,
      error: 'invalid_request',
      mentions: 'items[0].embedding',
    },
    {
      name: 'missing item id',
      url: '/v1/spaces/s/items',
      payload: { items: [{ features: {} }] },
      status: 400,
      error: 'invalid_request',
      mentions: 'items[0].id',
    },
    {
      name: 'features not an object',
      url: '/v1/spaces/s/items',
      payload: { items: [{ id: 'a', features: 'text' }] },
      status: 400,
      error: 'invalid_request',
      mentions: 'items[0].features',
    },
    {
      name: 'label not 0 or 1',
      url: '/v1/spaces/s/interactions',
      payload: { events: [{ id: 'e', userId: 'u', itemId: 'i', label: 2 }] },
      status: 400,
      error: 'invalid_request',
      mentions: 'events[0].label',
    },
    {
      name: 'missing event id',
      url: '/v1/spaces/s/interactions',
      payload: { events: [{ userId: 'u', itemId: 'i', label: 1 }] },
      status: 400,
      error: 'invalid_request',
      mentions: 'events[0].id',
    },
    {
      name: 'bad timestamp',
      url: '/v1/spaces/s/interactions',
      payload: { events: [{ id: 'e', userId: 'u', itemId: 'i', label: 1, ts: 'yesterday' }] },
      status: 400,
      error: 'invalid_request',
      mentions: 'events[0].ts',
    },
    { name: 'unknown space', url: '/v1/spaces/nope/users', payload: { users: [] }, status: 404, error: 'not_found', mentions: 'nope' },
    {
      name: 'oversized lookup',
      url: '/v1/spaces/s/embeddings/lookup',
      payload: { ids: Array.from({ length: 1001 }, (_, i) => `i${i}`) },
      status: 413,
      error: 'batch_too_large',
      mentions: 'ids',
    },
    {
      name: 'oversized item batch',
      url: '/v1/spaces/s/items',
      payload: { items: Array.from({ length: 5001 }, (_, i) => ({ id: `i${i}`, features: {} })) },
      status: 413,
      error: 'batch_too_large',
      mentions: 'items',
    },
    { name: 'malformed JSON', url: '/v1/spaces/s/users', raw: '{"users": [', status: 400, error: 'malformed_json', mentions: 'JSON' },
    {
      name: 'bad space definition',
      url: '/v1/spaces',
      payload: { id: 'x', dim: 0, itemType: 'movie', scorer: 'dot' },
      status: 400,
      error: 'invalid_request',
      mentions: 'dim',
    },
    {
      name: 'unknown scorer',
      url: '/v1/spaces',
      payload: { id: 'x', dim: 4, itemType: 'movie', scorer: 'cosine' },
      status: 400,
      error: 'invalid_request',
      mentions: 'scorer',
    },
    {
      name: 'space redefined',
      url: '/v1/spaces',
      payload: { id: 's', dim: 4, itemType: 'movie', scorer: 'dot' },
      status: 409,
      error: 'space_exists',
      mentions: 'dim 3',
    },
  ];
  for (const c of cases) {
    const res =
      c.raw !== undefined
        ? await app.inject({ method: 'POST', url: c.url, payload: c.raw, headers: { 'content-type': 'application/json' } })
        : await post(app, c.url, c.payload);
    assert.equal(res.statusCode, c.status, `${c.name}: ${res.body}`);
    const body = res.json();
    assert.equal(body.error, c.error, `${c.name}: ${res.body}`);
    assert.ok(body.message.includes(c.mentions), `${c.name}: "${body.message}" should mention ${c.mentions}`);
  }

  // POST /train takes an optional body: none, an empty JSON body, or {seed}.
  assert.equal((await app.inject({ method: 'POST', url: '/v1/spaces/s/train' })).statusCode, 202);
  assert.equal(
    (await app.inject({ method: 'POST', url: '/v1/spaces/s/train', headers: { 'content-type': 'application/json' }, payload: '' }))
      .statusCode,
    202,
  );
  const badSeed = await post(app, '/v1/spaces/s/train', { seed: -1 });
  assert.equal(badSeed.statusCode, 400);
  assert.match(badSeed.json().message, /body.seed/);

  const unknownItem = await app.inject({ method: 'GET', url: '/v1/spaces/s/items/none' });
  assert.equal(unknownItem.statusCode, 404);
  const unknownJob = await app.inject({ method: 'GET', url: '/v1/jobs/none' });
  assert.equal(unknownJob.statusCode, 404);
  const noRoute = await app.inject({ method: 'GET', url: '/v2/nothing' });
  assert.deepEqual(Object.keys(noRoute.json()).sort(), ['error', 'message']);
});

test('hostile input is refused before anything is written', async (t) => {
  const svc = await startTestService(t);
  const app = svc.app!;
  assert.equal((await post(app, '/v1/spaces', { id: 's', dim: 2, itemType: 'movie', scorer: 'dot' })).statusCode, 201);
  let deep: unknown = 'leaf';
  for (let i = 0; i < 1000; i++) deep = { d: deep };
  const cases: { name: string; url: string; payload: unknown; mentions: RegExp }[] = [
    {
      name: '1e39 is finite as a double, Infinity as float32',
      url: '/v1/spaces/s/users',
      payload: { users: [{ id: 'u', vector: [1e39, 0] }] },
      mentions: /users\[0\]\.vector\[0\]/,
    },
    {
      name: 'a component beyond the bound',
      url: '/v1/spaces/s/users',
      payload: { users: [{ id: 'u', vector: [1e7, 0] }] },
      mentions: /VECTOR_MAX_ABS/,
    },
    {
      name: 'a NUL in an id',
      url: '/v1/spaces/s/items',
      payload: { items: [{ id: 'a\u0000b', features: {} }] },
      mentions: /items\[0\]\.id/,
    },
    {
      name: 'a lone surrogate in an id',
      url: '/v1/spaces/s/items',
      payload: { items: [{ id: 'a\ud800', features: {} }] },
      mentions: /items\[0\]\.id/,
    },
    {
      name: 'a NUL in a feature',
      url: '/v1/spaces/s/items',
      payload: { items: [{ id: 'a', features: { title: 'x\u0000y' } }] },
      mentions: /items\[0\]\.features\.title/,
    },
    {
      name: 'features nested thousands deep',
      url: '/v1/spaces/s/items',
      payload: { items: [{ id: 'a', features: { deep } }] },
      mentions: /nested more than/,
    },
    {
      name: 'features over the byte limit',
      url: '/v1/spaces/s/items',
      payload: { items: [{ id: 'a', features: { text: 'x'.repeat(70_000) } }] },
      mentions: /FEATURES_MAX_BYTES/,
    },
    { name: 'a seed beyond int32', url: '/v1/spaces/s/train', payload: { seed: 2 ** 31 }, mentions: /seed/ },
  ];
  for (const c of cases) {
    await t.test(c.name, async () => {
      const r = await post(app, c.url, c.payload);
      assert.equal(r.statusCode, 400, r.body);
      assert.match(r.json().message, c.mentions);
    });
  }
  await t.test('nothing of it was stored', async () => {
    const rows = await svc.db.query(
      `SELECT (SELECT count(*) FROM users)::int AS users, (SELECT count(*) FROM items)::int AS items,
              (SELECT count(*) FROM train_runs)::int AS runs`,
    );
    assert.deepEqual(rows.rows[0], { users: 0, items: 0, runs: 0 });
  });
  await t.test('ids up to 256 characters can be read back and deleted', async () => {
    const id = 'é'.repeat(256);
    assert.equal((await post(app, '/v1/spaces/s/items', { items: [{ id, features: { t: 'long id' } }] })).statusCode, 202);
    const url = `/v1/spaces/s/items/${encodeURIComponent(id)}`;
    assert.equal((await app.inject({ method: 'GET', url })).statusCode, 200);
    assert.equal((await app.inject({ method: 'DELETE', url })).statusCode, 204);
  });
});
