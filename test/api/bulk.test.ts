// The batch sizes the contract promises go through in one request each:
// 10,000 users, 1,000 items, 10,000 events.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestService } from '../support/service.js';
import { post } from '../support/space.js';

test('10,000 users, 1,000 items and 10,000 events per request', async (t) => {
  // API only: no worker takes the tasks away, so what the requests recorded can be counted.
  const svc = await startTestService(t, { ROLE: 'api' });
  const app = svc.app!;
  const dim = 32;
  assert.equal((await post(app, '/v1/spaces', { id: 'big', dim, itemType: 'product', scorer: 'dot' })).statusCode, 201);
  const users = Array.from({ length: 10_000 }, (_, i) => ({ id: `u${i}`, vector: Array.from({ length: dim }, (_, d) => Math.sin(i + d)) }));
  assert.deepEqual((await post(app, '/v1/spaces/big/users', { users })).json(), { upserted: 10_000 });
  const items = Array.from({ length: 1000 }, (_, i) => ({
    id: `p${i}`,
    features: { name: `product ${i}`, tags: ['a', `t${i % 7}`] },
    ...(i % 2 ? { embedding: Array.from({ length: dim }, (_, d) => Math.cos(i * d)) } : {}),
  }));
  assert.deepEqual((await post(app, '/v1/spaces/big/items', { items })).json(), { accepted: 1000, unchanged: 0 });
  const events = Array.from({ length: 10_000 }, (_, i) => ({
    id: `ev${i}`,
    userId: `u${i}`,
    itemId: `p${i % 1000}`,
    label: (i % 3 === 0 ? 1 : 0) as 0 | 1,
    ts: new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString(),
  }));
  assert.deepEqual((await post(app, '/v1/spaces/big/interactions', { events })).json(), { accepted: 10_000, duplicates: 0 });

  const space = (await app.inject({ method: 'GET', url: '/v1/spaces/big' })).json();
  assert.equal(space.counts.users, 10_000);
  assert.equal(space.counts.interactions, 10_000);
  assert.equal(space.counts.items.established, 500);
  // Each of the 500 emerging items got 10 events in one request: one refine task each, asked for once.
  const tasks = await svc.db.query(`SELECT count(*)::int AS n, max(gen)::int AS gen FROM tasks WHERE queue = 'refine'`);
  assert.deepEqual(tasks.rows[0], { n: 500, gen: 1 });
  const embeds = await svc.db.query(`SELECT count(*)::int AS n FROM tasks WHERE queue = 'embed'`);
  assert.equal(embeds.rows[0].n, 500, 'one embed task per emerging item');
  const item = (await app.inject({ method: 'GET', url: '/v1/spaces/big/items/p0' })).json();
  assert.equal(item.interactions, 10);
});
