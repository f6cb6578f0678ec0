// The single-item GET's fast lane (src/api/fast-lane.ts) over a real socket: `inject`
// never reaches the HTTP server, so every request here goes through the network. What the
// lane answers must be what the Fastify route answers, header for header; everything it does
// not answer must reach Fastify unchanged. emerflow_http_fast_lane_total says which took it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { listenOnLoopback, startTestService, TEST_ADMIN_KEY } from '../support/service.js';
import { seedSpace } from '../support/space.js';
import { embeddingFastLane } from '../../src/api/fast-lane.js';
import type { FastifyInstance } from 'fastify';

interface Got {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** One request on a fresh connection; the answer's headers without the ones that name the moment. */
function get(base: string, path: string, key: string | null, method = 'GET'): Promise<Got> {
  return new Promise((resolve, reject) => {
    const { hostname, port } = new URL(base);
    // the path as written (a URL would drop an empty query)
    const req = http.request(
      { hostname, port, path, method, agent: false, headers: key === null ? {} : { authorization: `Bearer ${key}` } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const headers: Record<string, string> = {};
          for (let i = 0; i < res.rawHeaders.length; i += 2)
            if (res.rawHeaders[i]!.toLowerCase() !== 'date') headers[res.rawHeaders[i]!.toLowerCase()] = res.rawHeaders[i + 1]!;
          resolve({ status: res.statusCode!, headers, body: Buffer.concat(chunks).toString() });
        });
      },
    );
    req.on('error', reject);
    req.end();
  });
}

async function laneCount(app: FastifyInstance): Promise<number> {
  const m = /^emerflow_http_fast_lane_total (\d+)$/m.exec((await app.inject({ method: 'GET', url: '/metrics' })).body);
  return m ? Number(m[1]) : 0;
}

async function makeKey(app: FastifyInstance, body: { scopes: string[]; spaces?: string[] }): Promise<string> {
  const r = await app.inject({ method: 'POST', url: '/v1/keys', payload: body });
  assert.equal(r.statusCode, 201, r.body);
  return r.json<{ key: string }>().key;
}

/** A seeded service listening on a socket, with one item's embedding in the cache. */
async function setUp(t: Parameters<typeof startTestService>[0], env: Record<string, string> = {}) {
  const service = await startTestService(t, env);
  const app = service.http;
  const world = await seedSpace(app, { train: false });
  const base = await listenOnLoopback(app);
  const id = world.items[0]!.id;
  const path = `/v1/spaces/movies/items/${id}/embedding`;
  // the first read fills the cache (the long way), so the next one can take the lane
  assert.equal((await get(base, path, TEST_ADMIN_KEY)).status, 200);
  return { service, app, base, id, path };
}

test('fast lane: a cached item is answered by the lane, byte for byte and header for header as the route answers it', async (t) => {
  const { app, base, path } = await setUp(t);
  const before = await laneCount(app);
  const lane = await get(base, path, TEST_ADMIN_KEY);
  assert.equal(await laneCount(app), before + 1, 'the lane answered');
  // inject goes straight to Fastify: the route's own answer
  const route = await app.inject({ method: 'GET', url: path });
  assert.equal(lane.status, 200);
  assert.equal(lane.body, route.body);
  assert.equal(lane.headers['content-type'], route.headers['content-type']);
  assert.equal(lane.headers['content-length'], route.headers['content-length']);
  const pinned = await get(base, `${path}?version=1`, TEST_ADMIN_KEY);
  assert.equal(await laneCount(app), before + 2, 'a pinned version is taken too');
  assert.equal(pinned.body, route.body);
  // the same headers as Fastify's answer over a socket (keep-alive and the like included)
  app.useFastLane(null);
  const long = await get(base, path, TEST_ADMIN_KEY);
  assert.equal(await laneCount(app), before + 2, 'without a lane, Fastify answered');
  assert.deepEqual(lane, long);
  const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body;
  assert.match(
    metrics,
    /emerflow_http_request_duration_seconds_count\{route="\/v1\/spaces\/:space\/items\/:id\/embedding",method="GET",status="2xx"\} [1-9]/,
  );
});

test('fast lane: what it does not answer reaches Fastify, and is answered as before', async (t) => {
  const { app, base, id, path } = await setUp(t);
  assert.equal(
    (await app.inject({ method: 'POST', url: '/v1/spaces', payload: { id: 'other', dim: 8, itemType: 'movie', scorer: 'dot' } }))
      .statusCode,
    201,
  );
  const writer = await makeKey(app, { scopes: ['write'] });
  const elsewhere = await makeKey(app, { scopes: ['read'], spaces: ['other'] });
  const reader = await makeKey(app, { scopes: ['read'], spaces: ['movies'] });
  const encoded = `/v1/spaces/movies/items/${[...id].map((c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`).join('')}/embedding`;
  const cases: [string, string, string | null, number, string?][] = [
    ['no key', path, null, 401],
    ['an unknown key', path, 'ef_not_a_key', 401],
    ['a key without the read scope', path, writer, 403],
    ['a key for another space', path, elsewhere, 404],
    ['an unknown item', '/v1/spaces/movies/items/nope/embedding', reader, 404],
    ['an unknown space', `/v1/spaces/nope/items/${id}/embedding`, reader, 404],
    ['a version that does not exist', `${path}?version=7`, reader, 404],
    ['a version that is not a number', `${path}?version=0`, reader, 400],
    ['another query parameter', `${path}?version=1&x=1`, reader, 400],
    ['an empty query', `${path}?`, reader, 200],
    ['a percent-encoded id', encoded, reader, 200],
    ['a trailing slash', `${path}/`, reader, 404],
    ['HEAD', path, reader, 200, 'HEAD'],
  ];
  for (const [what, url, key, status, method] of cases) {
    const before = await laneCount(app);
    const got = await get(base, url, key, method);
    assert.equal(got.status, status, `${what}: ${got.body}`);
    assert.equal(await laneCount(app), before, `${what}: not taken by the lane`);
    const route = await app.inject({
      method: (method ?? 'GET') as 'GET',
      url,
      headers: key === null ? { authorization: '' } : { authorization: `Bearer ${key}` },
    });
    assert.equal(got.body, route.body, `${what}: the route's answer`);
  }
  const before = await laneCount(app);
  assert.equal((await get(base, path, reader)).status, 200);
  assert.equal(await laneCount(app), before + 1, 'a key limited to this space with the read scope takes the lane');
});

test('fast lane: a saturated process and a deleted item go the long way', async (t) => {
  const { app, base, id, path } = await setUp(t);
  // the lane as httpApi installs it, but seeing a saturated process (the real one's shedding is the Fastify hook's)
  app.useFastLane(embeddingFastLane({ deps: app.deps, overloaded: () => 'heap' }));
  let before = await laneCount(app);
  assert.equal((await get(base, path, TEST_ADMIN_KEY)).status, 200);
  assert.equal(await laneCount(app), before, 'declined while saturated');
  app.useFastLane(embeddingFastLane({ deps: app.deps, overloaded: () => null }));
  before = await laneCount(app);
  assert.equal((await get(base, path, TEST_ADMIN_KEY)).status, 200);
  assert.equal(await laneCount(app), before + 1);
  // a delete invalidates the cached entry: the lane cannot answer it from memory any more
  assert.equal((await app.inject({ method: 'DELETE', url: `/v1/spaces/movies/items/${id}` })).statusCode, 204);
  before = await laneCount(app);
  assert.equal((await get(base, path, TEST_ADMIN_KEY)).status, 404);
  assert.equal(await laneCount(app), before);
});

test('fast lane: not installed when LOG_LOOKUPS asks for access lines', async (t) => {
  const { app, base, path } = await setUp(t, { LOG_LOOKUPS: 'true' });
  const before = await laneCount(app);
  assert.equal((await get(base, path, TEST_ADMIN_KEY)).status, 200);
  assert.equal(await laneCount(app), before);
});

test("fast lane: the route's hooks are the ones the lane stands in for (a new one must be taught to the lane)", async (t) => {
  const service = await startTestService(t);
  const tree = service.http.printRoutes({ includeHooks: true, commonPrefix: false, method: 'GET' });
  const lines = tree.split('\n');
  const at = lines.findIndex((l) => l.includes('/embedding (GET'));
  assert.ok(at >= 0, 'the route is in the tree');
  const hooks: Record<string, string> = {};
  for (const l of lines.slice(at + 1)) {
    const m = /• \((\w+)\) (\[.*\])/.exec(l);
    if (!m) break;
    hooks[m[1]!] = m[2]!;
  }
  // load-shedding.ts, auth.ts and http-metrics.ts: the lane checks shedding and the key, and
  // records the duration, itself (fast-lane.ts)
  assert.deepEqual(hooks, {
    onRequest: '["shedWhenSaturated()","admitByKey()"]',
    onResponse: '["observeDuration()"]',
  });
});
