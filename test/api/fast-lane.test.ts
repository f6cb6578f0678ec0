// The single-item GET's fast lane (src/api/item-lane.ts) over a real socket: `inject`
// never reaches the HTTP server, so every request here goes through the network. What the
// lane answers must be what the Fastify route answers, header for header; everything it does
// not answer must reach Fastify unchanged. emerflow_http_fast_lane_total says which took it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { listenOnLoopback, startTestService, TEST_ADMIN_KEY } from '../support/service.js';
import { seedSpace } from '../support/space.js';
import { itemFastLane } from '../../src/api/item-lane.js';
import { assertDurationCounted, ITEM_ROUTE, laneCount, makeKey, request } from '../support/lanes.js';

/** One request on a fresh connection (a string body). */
async function get(base: string, path: string, key: string | null, method = 'GET') {
  const got = await request(base, path, { method, key });
  return { ...got, body: got.body.toString() };
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
  await assertDurationCounted(app, 'GET', ITEM_ROUTE);
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
  app.useFastLane(itemFastLane({ deps: app.deps, overloaded: () => 'heap', log: app.log }));
  let before = await laneCount(app);
  assert.equal((await get(base, path, TEST_ADMIN_KEY)).status, 200);
  assert.equal(await laneCount(app), before, 'declined while saturated');
  app.useFastLane(itemFastLane({ deps: app.deps, overloaded: () => null, log: app.log }));
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

/** A route's hooks as printRoutes shows them: name → the hook functions. */
function routeHooks(tree: string, marker: string): Record<string, string> {
  const lines = tree.split('\n');
  const at = lines.findIndex((l) => l.includes(marker));
  assert.ok(at >= 0, `${marker} is in the tree`);
  const hooks: Record<string, string> = {};
  for (const l of lines.slice(at + 1)) {
    const m = /• \((\w+)\) (\[.*\])/.exec(l);
    if (!m) break;
    hooks[m[1]!] = m[2]!;
  }
  return hooks;
}

test("fast lanes: the routes' hooks are the ones the lanes stand in for (a new one must be taught to its lane)", async (t) => {
  const service = await startTestService(t);
  // load-shedding.ts, auth.ts and http-metrics.ts: a lane checks shedding and the key, and
  // records the duration, itself (fast-lane.ts)
  assert.deepEqual(routeHooks(service.http.printRoutes({ includeHooks: true, commonPrefix: false, method: 'GET' }), '/embedding (GET'), {
    onRequest: '["shedWhenSaturated()","admitByKey()"]',
    onResponse: '["observeDuration()"]',
  });
  // the batch lookup's lane hands what it read and cannot answer on to replayReadBody (lookup-lane.ts)
  assert.deepEqual(routeHooks(service.http.printRoutes({ includeHooks: true, commonPrefix: false, method: 'POST' }), '/lookup (POST'), {
    onRequest: '["shedWhenSaturated()","admitByKey()"]',
    preParsing: '["replayReadBody()"]',
    onResponse: '["observeDuration()"]',
  });
});

test('fast lane: a key revoked while its connection is kept alive is refused on that connection, by the lane and by Fastify', async (t) => {
  const { app, base, path } = await setUp(t);
  let connections = 0;
  app.server.on('connection', () => connections++);
  for (const lane of [true, false]) {
    if (!lane) app.useFastLane(null);
    const made = await app.inject({ method: 'POST', url: '/v1/keys', payload: { scopes: ['read'] } });
    const { id, key } = made.json<{ id: string; key: string }>();
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    t.after(() => agent.destroy());
    const opened = connections;
    const before = await laneCount(app);
    assert.equal((await request(base, path, { key, agent })).status, 200);
    assert.equal(await laneCount(app), before + (lane ? 1 : 0), lane ? 'the lane answered' : 'Fastify answered');
    // the key's principal is kept with the connection: a revocation must still reach it
    assert.equal((await app.inject({ method: 'DELETE', url: `/v1/keys/${id}` })).statusCode, 204);
    assert.equal((await request(base, path, { key, agent })).status, 401);
    assert.equal(connections - opened, 1, 'both requests on one kept-alive connection');
  }
});
