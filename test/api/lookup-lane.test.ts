// The batch lookup's fast lane (src/api/lookup-lane.ts) over a real socket: `inject` never
// reaches the HTTP server, where the lane is. What it answers must be what the Fastify route
// answers, byte for byte and header for header; what it takes (and reads the body of) but
// cannot answer must reach the route with its body, and be answered as if no lane had been
// there. emerflow_http_fast_lane_total{route=…lookup} says which took it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { listenOnLoopback, startTestService, TEST_ADMIN_KEY } from '../support/service.js';
import { seedSpace } from '../support/space.js';
import { assertDurationCounted, laneCount, LOOKUP_ROUTE, makeKey, request, type Ask, type Got } from '../support/lanes.js';
import { lanes } from '../../src/api/fast-lane.js';
import { itemFastLane } from '../../src/api/item-lane.js';
import { lookupFastLane } from '../../src/api/lookup-lane.js';

const PATH = '/v1/spaces/movies/embeddings/lookup';
const JSON_HEADERS = { 'content-type': 'application/json' };
const PACKED = { ...JSON_HEADERS, accept: 'application/octet-stream' };

const count = (app: FastifyInstance) => laneCount(app, LOOKUP_ROUTE);
const body = (ids: string[]) => JSON.stringify({ ids });

/** The lanes as httpApi installs them, seeing the given load. */
function install(app: FastifyInstance, overloaded: () => unknown = () => null): void {
  const o = { deps: app.deps, overloaded, log: app.log };
  app.useFastLane(lanes(itemFastLane(o), lookupFastLane(o)));
}

/** The same request with the lanes in force and without: the two answers and whether the lane answered the first. */
async function both(app: FastifyInstance, base: string, path: string, ask: Ask): Promise<{ lane: Got; route: Got; taken: boolean }> {
  install(app);
  const before = await count(app);
  const lane = await request(base, path, { method: 'POST', ...ask });
  const taken = (await count(app)) > before;
  app.useFastLane(null);
  const route = await request(base, path, { method: 'POST', ...ask });
  install(app);
  return { lane, route, taken };
}

/** A seeded service on a socket whose first `cached` items are in the lookup cache. */
async function setUp(t: Parameters<typeof startTestService>[0], env: Record<string, string> = {}) {
  const service = await startTestService(t, env);
  const app = service.http;
  const world = await seedSpace(app, { train: false });
  const base = await listenOnLoopback(app);
  const ids = world.items.slice(0, 10).map((i) => i.id);
  // the first lookup fills the cache (the long way: nothing is cached yet), 'nope' as a negative entry
  const first = await request(base, PATH, { method: 'POST', key: TEST_ADMIN_KEY, headers: JSON_HEADERS, body: body([...ids, 'nope']) });
  assert.equal(first.status, 200, first.body.toString());
  return { app, base, ids, uncached: world.items.slice(10, 20).map((i) => i.id) };
}

test('lookup lane: cached ids are answered by the lane, as the route answers them, in JSON and float32', async (t) => {
  const { app, base, ids } = await setUp(t);
  for (const [what, path, headers] of [
    ['JSON', PATH, JSON_HEADERS],
    ['JSON, charset named', PATH, { 'content-type': 'application/json; charset=utf-8' }],
    ['float32', PATH, PACKED],
    ['a pinned version', `${PATH}?version=1`, JSON_HEADERS],
    ['float32, a pinned version', `${PATH}?version=1`, PACKED],
  ] as const) {
    // an unknown id the cache holds as absent is answered too: in `missing`, or a NaN row
    const ask = { key: TEST_ADMIN_KEY, headers, body: body([ids[3]!, 'nope', ids[0]!, ids[3]!]) };
    const { lane, route, taken } = await both(app, base, path, ask);
    assert.ok(taken, `${what}: the lane answered`);
    assert.equal(lane.status, 200, `${what}: ${lane.body.toString()}`);
    assert.deepEqual(lane.headers, route.headers, `${what}: the route's headers`);
    assert.ok(lane.body.equals(route.body), `${what}: the route's bytes`);
  }
  const json = JSON.parse(
    (await both(app, base, PATH, { key: TEST_ADMIN_KEY, headers: JSON_HEADERS, body: body([ids[1]!, 'nope']) })).lane.body.toString(),
  );
  assert.deepEqual(
    json.embeddings.map((e: { id: string }) => e.id),
    [ids[1]],
  );
  assert.deepEqual(json.missing, ['nope']);
  const packed = (await both(app, base, PATH, { key: TEST_ADMIN_KEY, headers: PACKED, body: body([ids[1]!, 'nope']) })).lane;
  const rows = new Float32Array(packed.body.buffer.slice(packed.body.byteOffset, packed.body.byteOffset + packed.body.length));
  assert.equal(rows.length, 2 * Number(packed.headers['x-emerflow-dim']));
  assert.deepEqual(Array.from(rows.subarray(0, 8)), json.embeddings[0].vector, 'the row is the JSON vector');
  assert.ok(rows.subarray(8).every(Number.isNaN), "an absent id's row is NaN");
  await assertDurationCounted(app, 'POST', LOOKUP_ROUTE);
});

test('lookup lane: what it reads and cannot answer reaches the route with its body, and is answered as before', async (t) => {
  const { app, base, ids, uncached } = await setUp(t);
  const ask = (b: string | Buffer, headers: Record<string, string> = JSON_HEADERS) => ({ key: TEST_ADMIN_KEY, headers, body: b });
  const cases: [string, Ask, number][] = [
    ['ids to be read from Postgres', ask(body([ids[0]!, uncached[0]!])), 200],
    ['float32, ids to be read', ask(body([uncached[1]!, ids[0]!]), PACKED), 200],
    ['an id past ASCII', ask(body([ids[0]!, 'café'])), 200],
    ['an escaped id', ask(`{"ids":["${ids[0]}","n\\u006fpe"]}`), 200],
    ['another key', ask(`{"ids":["${ids[0]}"],"x":1}`), 400],
    ['an id that is a number', ask('{"ids":[1]}'), 400],
    ['an empty id', ask(body([''])), 400],
    ['more ids than a lookup takes', ask(body(Array.from({ length: 1001 }, (_, i) => `i${i}`))), 413],
    ['JSON cut short', ask('{"ids":["a"'), 400],
    ['an empty body', ask(''), 400],
    ['no ids', ask(body([])), 200],
  ];
  for (const [what, a, status] of cases) {
    const { lane, route, taken } = await both(app, base, PATH, a);
    assert.equal(lane.status, status, `${what}: ${lane.body.toString()}`);
    assert.equal(lane.status, route.status, `${what}: the route's status`);
    assert.equal(lane.headers['content-type'], route.headers['content-type'], `${what}: the route's content type`);
    assert.ok(lane.body.equals(route.body), `${what}: the route's answer (${lane.body.toString()} against ${route.body.toString()})`);
    // the plain cases of a cached answer aside ("no ids" is one), the route answered
    assert.equal(taken, what === 'no ids', `${what}: ${taken ? '' : 'not '}answered by the lane`);
  }
  // the ids read the long way are cached now: the lane answers them next time
  const again = await both(app, base, PATH, ask(body([ids[0]!, uncached[0]!])));
  assert.ok(again.taken);
  assert.ok(again.lane.body.equals(again.route.body));
});

test('lookup lane: refusals, unknown spaces and versions, other types, large and chunked bodies are answered as before', async (t) => {
  const { app, base, ids } = await setUp(t, { BODY_LIMIT_BYTES: '4096' });
  await app.inject({ method: 'POST', url: '/v1/spaces', payload: { id: 'other', dim: 8, itemType: 'movie', scorer: 'dot' } });
  const writer = await makeKey(app, { scopes: ['write'] });
  const elsewhere = await makeKey(app, { scopes: ['read'], spaces: ['other'] });
  const reader = await makeKey(app, { scopes: ['read'], spaces: ['movies'] });
  const plain = body([ids[0]!, ids[1]!]);
  const cases: [string, string, Ask, number][] = [
    ['no key', PATH, { key: null, headers: JSON_HEADERS, body: plain }, 401],
    ['an unknown key', PATH, { key: 'ef_not_a_key', headers: JSON_HEADERS, body: plain }, 401],
    ['a key without the read scope', PATH, { key: writer, headers: JSON_HEADERS, body: plain }, 403],
    ['a key for another space', PATH, { key: elsewhere, headers: JSON_HEADERS, body: plain }, 404],
    ['an unknown space', '/v1/spaces/nope/embeddings/lookup', { key: reader, headers: JSON_HEADERS, body: plain }, 404],
    ['a version that does not exist', `${PATH}?version=7`, { key: reader, headers: JSON_HEADERS, body: plain }, 404],
    ['another query parameter', `${PATH}?x=1`, { key: reader, headers: JSON_HEADERS, body: plain }, 400],
    ['another content type', PATH, { key: reader, headers: { 'content-type': 'text/plain' }, body: plain }, 400],
    ['no content type', PATH, { key: reader, body: plain }, 415],
    [
      'a body over the limit',
      PATH,
      { key: reader, headers: JSON_HEADERS, body: body(Array.from({ length: 400 }, (_, i) => `item-${i}`)) },
      413,
    ],
    ['a chunked body', PATH, { key: reader, headers: JSON_HEADERS, body: plain, chunked: true }, 200],
    ['a trailing slash', `${PATH}/`, { key: reader, headers: JSON_HEADERS, body: plain }, 404],
  ];
  for (const [what, path, a, status] of cases) {
    const { lane, route, taken } = await both(app, base, path, a);
    assert.equal(lane.status, status, `${what}: ${lane.body.toString()}`);
    assert.equal(route.status, status, `${what}: the route's status`);
    assert.ok(lane.body.equals(route.body), `${what}: the route's answer`);
    assert.equal(taken, false, `${what}: not answered by the lane`);
  }
  const { taken } = await both(app, base, PATH, { key: reader, headers: JSON_HEADERS, body: plain });
  assert.ok(taken, 'a key limited to this space with the read scope takes the lane');
});

test('lookup lane: a saturated process goes the long way, and a deleted id is never answered from before the delete', async (t) => {
  const { app, base, ids } = await setUp(t);
  const ask = { method: 'POST', key: TEST_ADMIN_KEY, headers: JSON_HEADERS, body: body([ids[0]!, ids[1]!]) };
  install(app, () => 'heap');
  let before = await count(app);
  assert.equal((await request(base, PATH, ask)).status, 200);
  assert.equal(await count(app), before, 'declined while saturated');
  install(app);
  before = await count(app);
  assert.equal((await request(base, PATH, ask)).status, 200);
  assert.equal(await count(app), before + 1);
  // A delete invalidates the cached entry; the cache then reads it again ahead of the next
  // lookup (lookup/reads.ts) and holds it as absent. Either way, lane or route, it is missing.
  assert.equal((await app.inject({ method: 'DELETE', url: `/v1/spaces/movies/items/${ids[0]}` })).statusCode, 204);
  const after = await request(base, PATH, ask);
  assert.equal(after.status, 200);
  assert.deepEqual(JSON.parse(after.body.toString()).missing, [ids[0]]);
  assert.deepEqual(
    JSON.parse(after.body.toString()).embeddings.map((e: { id: string }) => e.id),
    [ids[1]],
  );
});

test('lookup lane: float32 answers in flight together are each their own (their buffers are reused only once sent)', async (t) => {
  const { app, base, ids } = await setUp(t);
  // every rotation of the cached ids: answers of one length, so each can reuse another's buffer
  const asks = ids.map((_, r) => ({
    method: 'POST',
    key: TEST_ADMIN_KEY,
    headers: PACKED,
    body: body([...ids.slice(r), ...ids.slice(0, r)]),
  }));
  app.useFastLane(null);
  const expected = await Promise.all(asks.map((a) => request(base, PATH, a)));
  install(app);
  const before = await count(app);
  for (let round = 0; round < 3; round++) {
    const got = await Promise.all([...asks, ...asks].map((a) => request(base, PATH, a)));
    got.forEach((g, i) => assert.ok(g.body.equals(expected[i % asks.length]!.body), `answer ${i} of round ${round} is its own rows`));
  }
  assert.equal(await count(app), before + 6 * asks.length, 'the lane answered them all');
});
