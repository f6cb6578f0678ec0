// Who may do what: every /v1 route needs a key (401), the right scope (403), and a key
// limited to some spaces sees nothing of the others (404). Keys are made, listed and
// revoked through /v1/keys, and no key ever reaches a log line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createLogger } from '../../src/logger.js';
import { ROUTE_SCOPES } from '../../src/api/auth.js';
import { loadConfig } from '../../src/config.js';
import { startService } from '../../src/service.js';
import { defer, freshDatabase, startTestService, TEST_ADMIN_KEY } from '../support/service.js';
import { post, seedSpace } from '../support/space.js';

type App = NonNullable<Awaited<ReturnType<typeof startTestService>>['app']>;

const as = (key: string | null) => ({ authorization: key === null ? '' : `Bearer ${key}` });

async function makeKey(app: App, body: { scopes: string[]; spaces?: string[]; name?: string }): Promise<{ id: string; key: string }> {
  const r = await app.inject({ method: 'POST', url: '/v1/keys', payload: body });
  assert.equal(r.statusCode, 201, r.body);
  return r.json();
}

/** A concrete URL for a route pattern. */
const concrete = (pattern: string) => pattern.replace(':space', 'movies').replace(':id', 'x');

test('keys, scopes and spaces', async (t) => {
  const svc = await startTestService(t);
  const app = svc.app!;
  await seedSpace(app, { train: false });
  assert.equal((await post(app, '/v1/spaces', { id: 'other', dim: 8, itemType: 'movie', scorer: 'dot' })).statusCode, 201);

  await t.test('every /v1 route answers 401 without a key, and with a key that is not valid', async () => {
    for (const [route, scope] of Object.entries(ROUTE_SCOPES)) {
      if (scope === 'open') continue;
      const [method, pattern] = route.split(' ') as ['GET' | 'POST' | 'PUT' | 'DELETE', string];
      for (const key of [null, 'efk_not-a-key']) {
        const r = await app.inject({
          method,
          url: concrete(pattern),
          headers: as(key),
          payload: method === 'GET' || method === 'DELETE' ? undefined : {},
        });
        assert.equal(r.statusCode, 401, `${route} with ${key ?? 'no key'}: ${r.body}`);
        assert.equal(r.json().error, 'unauthorized');
      }
    }
    assert.equal(
      (await app.inject({ method: 'GET', url: '/v1/no-such-route', headers: as(null) })).statusCode,
      401,
      'unknown /v1 routes too',
    );
  });

  await t.test('health and docs stay open; /metrics needs metrics or admin', async () => {
    for (const url of ['/healthz', '/readyz', '/openapi.json']) {
      const r = await app.inject({ method: 'GET', url, headers: as(null) });
      assert.notEqual(r.statusCode, 401, url);
    }
    assert.equal((await app.inject({ method: 'GET', url: '/metrics', headers: as(null) })).statusCode, 401);
    const reader = await makeKey(app, { scopes: ['read'] });
    assert.equal((await app.inject({ method: 'GET', url: '/metrics', headers: as(reader.key) })).statusCode, 403);
    const metrics = await makeKey(app, { scopes: ['metrics'] });
    assert.equal((await app.inject({ method: 'GET', url: '/metrics', headers: as(metrics.key) })).statusCode, 200);
    assert.equal((await app.inject({ method: 'GET', url: '/metrics', headers: as(TEST_ADMIN_KEY) })).statusCode, 200);
  });

  await t.test('403 without the scope: read reads, write writes, admin administers', async () => {
    const reader = await makeKey(app, { scopes: ['read'] });
    const writer = await makeKey(app, { scopes: ['write'] });
    const item = { items: [{ id: 'n1', features: { title: 'New' } }] };
    assert.equal((await app.inject({ method: 'GET', url: '/v1/spaces/movies', headers: as(reader.key) })).statusCode, 200);
    assert.equal(
      (await app.inject({ method: 'POST', url: '/v1/spaces/movies/embeddings/lookup', headers: as(reader.key), payload: { ids: ['m0'] } }))
        .statusCode,
      200,
    );
    const denied = await app.inject({ method: 'POST', url: '/v1/spaces/movies/items', headers: as(reader.key), payload: item });
    assert.equal(denied.statusCode, 403);
    assert.match(denied.json().message, /"write"/);
    assert.equal(
      (await app.inject({ method: 'POST', url: '/v1/spaces/movies/items', headers: as(writer.key), payload: item })).statusCode,
      202,
    );
    assert.equal(
      (await app.inject({ method: 'GET', url: '/v1/spaces/movies', headers: as(writer.key) })).statusCode,
      403,
      'write does not read',
    );
    for (const key of [reader.key, writer.key]) {
      assert.equal((await app.inject({ method: 'POST', url: '/v1/spaces/movies/train', headers: as(key) })).statusCode, 403);
      assert.equal((await app.inject({ method: 'DELETE', url: '/v1/spaces/movies/items/n1', headers: as(key) })).statusCode, 403);
      assert.equal(
        (await app.inject({ method: 'POST', url: '/v1/keys', headers: as(key), payload: { scopes: ['admin'] } })).statusCode,
        403,
      );
    }
  });

  await t.test('a key limited to a space gets 404 for every other space, its items and its jobs', async () => {
    const limited = await makeKey(app, { scopes: ['read', 'write'], spaces: ['movies'] });
    assert.equal((await app.inject({ method: 'GET', url: '/v1/spaces/movies', headers: as(limited.key) })).statusCode, 200);
    for (const [method, url] of [
      ['GET', '/v1/spaces/other'],
      ['GET', '/v1/spaces/other/items/m0'],
      ['POST', '/v1/spaces/other/embeddings/lookup'],
      ['POST', '/v1/spaces/other/items'],
    ] as const) {
      const r = await app.inject({ method, url, headers: as(limited.key), payload: method === 'POST' ? {} : undefined });
      assert.equal(r.statusCode, 404, `${method} ${url}`);
    }
    const job = (await app.inject({ method: 'POST', url: '/v1/spaces/other/train' })).json().jobId as string;
    assert.equal((await app.inject({ method: 'GET', url: `/v1/jobs/${job}`, headers: as(limited.key) })).statusCode, 404);
    assert.equal((await app.inject({ method: 'GET', url: `/v1/jobs/${job}` })).statusCode, 200, 'an unlimited key sees it');
    assert.equal(
      (await app.inject({ method: 'POST', url: '/v1/keys', headers: as(limited.key), payload: { scopes: ['read'] } })).statusCode,
      403,
    );
  });

  await t.test('keys are listed without their secret, and a revoked key stops working', async () => {
    const k = await makeKey(app, { scopes: ['read'], name: 'ranker' });
    assert.match(k.key, /^efk_/);
    const listed = (await app.inject({ method: 'GET', url: '/v1/keys' })).json().keys as { id: string; name: string }[];
    assert.ok(listed.some((x) => x.id === k.id && x.name === 'ranker'));
    assert.ok(!JSON.stringify(listed).includes(k.key), 'the key itself is never shown again');
    const stored = await svc.db.query<{ key_hash: string }>('SELECT key_hash FROM api_keys WHERE id = $1', [k.id]);
    assert.notEqual(stored.rows[0]?.key_hash, k.key, 'stored hashed');
    assert.equal((await app.inject({ method: 'GET', url: '/v1/spaces/movies', headers: as(k.key) })).statusCode, 200);
    assert.equal((await app.inject({ method: 'DELETE', url: `/v1/keys/${k.id}` })).statusCode, 204);
    assert.equal((await app.inject({ method: 'GET', url: '/v1/spaces/movies', headers: as(k.key) })).statusCode, 401);
    assert.equal((await app.inject({ method: 'DELETE', url: `/v1/keys/${k.id}` })).statusCode, 404, 'a retry after success');
  });

  await t.test('bad key requests are refused naming the field', async () => {
    const r = await app.inject({ method: 'POST', url: '/v1/keys', payload: { scopes: ['root'] } });
    assert.equal(r.statusCode, 400);
    assert.match(r.json().message, /scopes/);
  });
});

test('a revocation reaches another process within seconds', async (t) => {
  const databaseUrl = await freshDatabase(t);
  const a = await startTestService(t, {}, { databaseUrl });
  const b = await startTestService(t, { ROLE: 'api' }, { databaseUrl });
  const k = await makeKey(a.app!, { scopes: ['read'] });
  await b.app!.inject({ method: 'POST', url: '/v1/spaces', payload: { id: 's', dim: 2, itemType: 'x', scorer: 'dot' } });
  const seen = async (app: App) => (await app.inject({ method: 'GET', url: '/v1/spaces/s', headers: as(k.key) })).statusCode;
  const start = Date.now();
  while ((await seen(b.app!)) !== 200) {
    assert.ok(Date.now() - start < 10_000, 'the new key reached the other process');
    await b.app!.deps.keys.reload(); // what its timer does every 2 s; here without waiting for it
  }
  assert.equal((await a.app!.inject({ method: 'DELETE', url: `/v1/keys/${k.id}` })).statusCode, 204);
  await b.app!.deps.keys.reload();
  assert.equal(await seen(b.app!), 401);
});

test('no key appears in any log line', async (t) => {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk));
      done();
    },
  });
  const config = loadConfig({
    DATABASE_URL: await freshDatabase(t),
    REDIS_URL: process.env['REDIS_URL'],
    QUEUE_PREFIX: `auth${Date.now()}`,
    ADMIN_API_KEY: TEST_ADMIN_KEY,
    LOG_LEVEL: 'debug',
    TRAIN_PRESET: 'quick',
  });
  const log = createLogger('debug', sink);
  const svc = await startService(config, log);
  defer(t, () => svc.close());
  const app = svc.app!;
  const made = await app.inject({ method: 'POST', url: '/v1/keys', headers: as(TEST_ADMIN_KEY), payload: { scopes: ['read'] } });
  const key = made.json().key as string;
  await app.inject({ method: 'GET', url: '/v1/spaces/nope', headers: as(key) });
  await app.inject({ method: 'GET', url: '/v1/spaces/nope', headers: as('efk_wrong-key') });
  assert.ok(lines.length > 3, 'requests were logged');
  const all = lines.join('');
  for (const secret of [TEST_ADMIN_KEY, key, 'efk_wrong-key']) {
    assert.ok(!all.includes(secret), `a log line holds ${secret.slice(0, 8)}…`);
  }
});
