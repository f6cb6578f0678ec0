// What protects the process from its callers: body limits per route, and load shedding
// (503 with Retry-After) while it is saturated, health routes excepted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { overloadReason } from '../../src/api/load-shedding.js';
import { startTestService } from '../support/service.js';
import { post, seedSpace } from '../support/space.js';

test('overloadReason: event-loop lag beyond its limit, or a heap fuller than its share; lag 0 means never', () => {
  const limits = { eventLoopDelayMs: 100, heapUsedPercent: 90 };
  assert.equal(overloadReason({ lagMs: 50, heapUsedPercent: 40 }, limits), null);
  assert.equal(overloadReason({ lagMs: 150, heapUsedPercent: 40 }, limits), 'event_loop');
  assert.equal(overloadReason({ lagMs: 50, heapUsedPercent: 95 }, limits), 'heap');
  assert.equal(overloadReason({ lagMs: 10_000, heapUsedPercent: 40 }, { ...limits, eventLoopDelayMs: 0 }), null);
});

test('body limits: small by default, larger on the bulk writes', async (t) => {
  const svc = await startTestService(t, { BODY_LIMIT_BYTES: '4096', BULK_BODY_LIMIT_BYTES: '65536' });
  const app = svc.app!;
  await seedSpace(app, { train: false });
  const ids = Array.from({ length: 400 }, (_, i) => `item-with-a-longish-id-${i}`); // ~12 KB of JSON
  await t.test('a lookup body over BODY_LIMIT_BYTES is 413', async () => {
    const r = await post(app, '/v1/spaces/movies/embeddings/lookup', { ids });
    assert.equal(r.statusCode, 413, r.body);
    assert.equal(r.json().error, 'payload_too_large');
  });
  await t.test('the same size is accepted on a bulk write, up to BULK_BODY_LIMIT_BYTES', async () => {
    const items = ids.map((id) => ({ id, features: { title: id } }));
    const r = await post(app, '/v1/spaces/movies/items', { items: items.slice(0, 200) });
    assert.equal(r.statusCode, 202, r.body);
    const big = await post(app, '/v1/spaces/movies/items', { items: items.map((i) => ({ ...i, features: { title: i.id.repeat(8) } })) });
    assert.equal(big.statusCode, 413, 'beyond the bulk limit');
  });
});

test('a saturated process sheds requests with 503 and Retry-After, but never its health routes', async (t) => {
  // Any heap is fuller than 1 % of its limit: saturated from the first sample on.
  const svc = await startTestService(t, { SHED_HEAP_USED_PERCENT: '1' });
  const app = svc.app!;
  assert.equal(app.overloaded(), 'heap');
  const r = await app.inject({ method: 'GET', url: '/v1/spaces/movies' });
  assert.equal(r.statusCode, 503);
  assert.equal(r.headers['retry-after'], '1');
  assert.equal(r.json().error, 'overloaded');
  assert.equal((await app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);
  assert.notEqual((await app.inject({ method: 'GET', url: '/readyz' })).statusCode, 503);
  const metrics = await app.inject({ method: 'GET', url: '/metrics' });
  assert.match(metrics.body, /emerflow_http_shed_total\{reason="heap"\} [1-9]/);
});
