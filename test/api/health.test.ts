// Health, readiness (names the tensor backend), Prometheus metrics and the OpenAPI
// document built from the same schemas as the routes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestService } from '../support/service.js';
import { post } from '../support/space.js';

test('healthz, readyz, metrics, openapi and docs', async (t) => {
  const svc = await startTestService(t);
  const app = svc.app!;
  assert.deepEqual((await app.inject({ method: 'GET', url: '/healthz' })).json(), { status: 'ok' });

  const ready = await app.inject({ method: 'GET', url: '/readyz' });
  assert.equal(ready.statusCode, 200);
  const r = ready.json();
  assert.equal(r.postgres, 'ok');
  assert.equal(r.redis, 'ok');
  assert.match(r.backend, /^(tensorflow-gpu|tensorflow|wasm|cpu) /);
  assert.equal(r.backend.split(' ')[0], svc.backend.name);
  assert.equal(r.llm, null, 'no LLM configured');

  // The registry is the process's (other services in this process count there too): read the
  // request counter as a difference.
  const postItems = /emerflow_http_request_duration_seconds_count\{route="\/v1\/spaces\/:space\/items",method="POST",status="2xx"\} (\d+)/;
  const counted = (body: string) => Number(postItems.exec(body)?.[1] ?? 0);
  const before = counted((await app.inject({ method: 'GET', url: '/metrics' })).body);
  await post(app, '/v1/spaces', { id: 's', dim: 2, itemType: 'song', scorer: 'dot' });
  await post(app, '/v1/spaces/s/items', { items: [{ id: 'x', features: { title: 'x' } }] });
  const metrics = await app.inject({ method: 'GET', url: '/metrics' });
  assert.equal(metrics.statusCode, 200);
  assert.match(metrics.headers['content-type'] as string, /text\/plain/);
  assert.match(metrics.body, new RegExp(`emerflow_tensor_backend\\{backend="${svc.backend.name}"\\} 1`));
  assert.match(metrics.body, /emerflow_tasks_pending\{queue="(embed|enrich)"\}/);
  assert.match(metrics.body, /emerflow_lookup_cache_entries \d+/);
  assert.match(metrics.body, /emerflow_process_/);
  assert.equal(counted(metrics.body), before + 1, 'one POST items counted');

  const spec = (await app.inject({ method: 'GET', url: '/openapi.json' })).json();
  assert.equal(spec.openapi.startsWith('3'), true);
  for (const p of [
    '/v1/spaces',
    '/v1/spaces/{space}',
    '/v1/spaces/{space}/users',
    '/v1/spaces/{space}/items',
    '/v1/spaces/{space}/items/{id}',
    '/v1/spaces/{space}/interactions',
    '/v1/spaces/{space}/items/{id}/embedding',
    '/v1/spaces/{space}/embeddings/lookup',
    '/v1/spaces/{space}/train',
    '/v1/jobs/{id}',
  ]) {
    assert.ok(spec.paths[p], `openapi documents ${p}`);
  }
  assert.ok(spec.paths['/v1/spaces/{space}/items'].post.requestBody, 'request bodies come from the route schemas');
  const docs = await app.inject({ method: 'GET', url: '/docs' });
  assert.ok([200, 302].includes(docs.statusCode));
});
