// The typed client (src/client) against the real service over a socket, through a small
// proxy that records what went over the wire and can answer a request itself (a 429 or a
// 503 with Retry-After, as a load balancer or the load shedder would): every method, the
// batching past the route limits, retries by the rules of src/client/retry.ts, float32 lookups.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createClient, EmerFlowError, isStatus, LIMITS, type EmerFlowClient, type Event } from '../../src/client/index.js';
import { TEST_ADMIN_KEY, listenOnLoopback, startTestService, waitFor } from '../support/service.js';
import { freePort } from '../../src/dev/postgres.js';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.js';
import { makeWorld } from '../support/fixtures.js';

const UNAVAILABLE = { error: 'unavailable', message: 'the service could not complete the request; retry later' };

test('client: every method, batching, retries, float32 lookups', async (t) => {
  const svc = await startTestService(t);
  const app = svc.app!;
  const proxy: FaultProxy = await startFaultProxy(t, await listenOnLoopback(app));
  let n = 0;
  const client: EmerFlowClient = createClient({ baseUrl: proxy.url, apiKey: TEST_ADMIN_KEY, requestId: () => `req-${++n}` });
  const world = makeWorld({ dim: 8, users: 40, items: 40 });

  await t.test('spaces, users, items, events, training, embeddings', async () => {
    const created = await client.createSpace({ id: 'movies', dim: 8, itemType: 'movie' });
    assert.equal(created.scorer, 'dot');
    assert.equal((await client.createSpace({ id: 'movies', dim: 8, itemType: 'movie' })).id, 'movies', 'identical again: 200');
    assert.deepEqual(await client.upsertUsers('movies', world.users), { upserted: 40 });
    const established = world.items.slice(0, 30).map((i) => ({ id: i.id, features: i.features, embedding: i.vector }));
    assert.deepEqual(await client.upsertItems('movies', established), { accepted: 30, unchanged: 0 });
    const events: Event[] = [];
    for (let it = 0; it < 30; it++)
      for (let u = 0; u < 40; u += 2)
        events.push({ id: `e-${it}-${u}`, userId: `u${u}`, itemId: `m${it}`, label: world.label(u, it), ts: '2026-01-01T00:00:00Z' });
    assert.deepEqual(await client.addEvents('movies', events), { accepted: events.length, duplicates: 0 });
    assert.deepEqual(await client.addEvents('movies', events.slice(0, 5)), { accepted: 0, duplicates: 5 });

    const phases: string[] = [];
    const job = await client.train('movies', {
      seed: 7,
      wait: true,
      pollMs: 50,
      onProgress: (p) => phases.push(`${p.fraction}:${p.phase}`),
    });
    assert.equal(job.state, 'completed', job.error ?? '');
    assert.ok(phases.length >= 1 && phases.at(-1) === `${job.progress.fraction}:${job.progress.phase}`, phases.join(' '));
    assert.equal((await client.job(job.id)).state, 'completed');
    const space = await client.getSpace('movies');
    assert.equal(space.counts.items['established'], 30);
    assert.equal(space.model?.seed, 7);

    await client.upsertItems('movies', [{ id: 'm30', features: world.items[30]!.features }]);
    const cold = await waitFor(
      () => client.getEmbedding('movies', 'm30').catch((err: unknown) => (isStatus(err, 404) ? null : Promise.reject(err))),
      'a cold embedding of m30',
    );
    assert.equal(cold.kind, 'cold');
    assert.equal(cold.vector.length, 8);
    const item = await client.getItem('movies', 'm30');
    assert.equal(item.state, 'cold');
    assert.equal(item.embedding?.kind, 'cold');
  });

  await t.test('lookup: JSON and float32 agree; missing ids are NaN rows', async () => {
    const ids = ['m1', 'nope', 'm30', 'm2'];
    const j = await client.lookup('movies', ids);
    assert.deepEqual(j.missing, ['nope']);
    assert.deepEqual(
      j.embeddings.map((e) => e.id),
      ['m1', 'm30', 'm2'],
    );
    const f = await client.lookup('movies', ids, { format: 'float32' });
    assert.equal(f.dim, 8);
    assert.equal(f.spaceVersion, j.spaceVersion);
    assert.deepEqual(f.missing, ['nope']);
    assert.ok(f.rows[1]!.every(Number.isNaN));
    for (const e of j.embeddings) assert.deepEqual(Array.from(f.rows[ids.indexOf(e.id)]!), e.vector.map(Math.fround), e.id);
  });

  await t.test('quality, versions, models, keys', async () => {
    const q = await client.quality('movies', { since: new Date(Date.now() - 3600_000) });
    assert.equal(q.space, 'movies');
    assert.deepEqual(
      q.buckets.map((b) => b.bucket),
      ['cold', '1-20', '21-40', '41-60', '61+'],
    );
    assert.equal(typeof q.pending, 'number');

    const models = await client.models('movies');
    const active = models.models.find((m) => m.active);
    assert.ok(active);
    const activated = await client.activateModel('movies', active.version);
    assert.equal(activated.modelVersion, active.version);

    const scratch = await client.createVersion('movies');
    assert.deepEqual(scratch, { version: 2, state: 'staging' });
    await client.deleteVersion('movies', 2);
    const v = await client.createVersion('movies');
    await client.upsertUsers('movies', world.users, { version: v.version });
    const est = world.items.slice(0, 30).map((i) => ({ id: i.id, features: i.features, embedding: i.vector.map((x) => -x) }));
    await client.upsertItems('movies', est, { version: v.version });
    const promoted = await client.promoteVersion('movies', v.version, { wait: true, pollMs: 50 });
    assert.equal(promoted.state, 'completed', promoted.error ?? '');
    assert.equal((await client.getSpace('movies')).currentVersion, v.version);
    assert.equal((await client.lookup('movies', ['m1'], { version: 1 })).spaceVersion, 1);

    const key = await client.keys.create({ name: 'reader', scopes: ['read'], spaces: ['movies'] });
    assert.match(key.key, /^efk_/);
    assert.ok((await client.keys.list()).some((k) => k.id === key.id && k.name === 'reader'));
    const reader = createClient({ baseUrl: proxy.url, apiKey: key.key });
    assert.equal((await reader.getSpace('movies')).id, 'movies');
    await client.keys.revoke(key.id);
    assert.ok(!(await client.keys.list()).some((k) => k.id === key.id));
    await assert.rejects(client.keys.revoke(key.id), (err: unknown) => isStatus(err, 404));
  });

  await t.test('errors: status, code, message and the request id sent', async () => {
    const err = await client.getSpace('nope').then(
      () => assert.fail('no error'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof EmerFlowError);
    assert.equal(err.status, 404);
    assert.equal(err.code, 'not_found');
    assert.match(err.message, /space "nope"/);
    const sent = proxy.to('GET', '/v1/spaces/nope').at(-1);
    assert.equal(sent?.headers['x-request-id'], err.requestId);
    const bad = await client.upsertUsers('movies', [{ id: 'u', vector: [1] }]).catch((e: unknown) => e);
    assert.ok(bad instanceof EmerFlowError && bad.status === 400 && bad.code === 'invalid_request', String(bad));
  });

  await t.test('batching: 5,001 items in two requests, 1,001 lookup ids in two, rows in request order', async () => {
    await client.createSpace({ id: 'bulk', dim: 4, itemType: 'thing' });
    const items = Array.from({ length: LIMITS.items + 1 }, (_, i) => ({
      id: `i${i}`,
      features: { title: `thing ${i}` },
      embedding: [i, 1, 2, 3],
    }));
    const before = proxy.to('POST', '/v1/spaces/bulk/items').length;
    assert.deepEqual(await client.upsertItems('bulk', items), { accepted: 5001, unchanged: 0 });
    assert.deepEqual(await client.upsertItems('bulk', items), { accepted: 0, unchanged: 5001 });
    assert.equal(proxy.to('POST', '/v1/spaces/bulk/items').length - before, 4);

    const ids = Array.from({ length: LIMITS.lookup + 1 }, (_, i) => `i${LIMITS.lookup - i}`); // reversed: order is the caller's
    const j = await client.lookup('bulk', ids);
    assert.deepEqual(
      j.embeddings.map((e) => e.id),
      ids,
    );
    assert.deepEqual(
      j.embeddings.map((e) => e.vector[0]),
      ids.map((id) => Number(id.slice(1))),
    );
    const f = await client.lookup('bulk', ids, { format: 'float32' });
    assert.equal(f.rows.length, ids.length);
    assert.deepEqual(
      f.rows.map((r) => r[0]),
      ids.map((id) => Number(id.slice(1))),
    );
    const lookups = proxy.to('POST', '/v1/spaces/bulk/embeddings/lookup').slice(-2);
    assert.equal(lookups.length, 2);
    assert.equal(lookups[0]!.url, '/v1/spaces/bulk/embeddings/lookup');
    assert.equal(lookups[1]!.url, '/v1/spaces/bulk/embeddings/lookup?version=1', 'the second batch pinned to the first one’s version');

    // and by bytes: a small maxBatchBytes cuts the same users into more requests, counts merged
    const small = createClient({ baseUrl: proxy.url, apiKey: TEST_ADMIN_KEY, maxBatchBytes: 1000 });
    const users = Array.from({ length: 100 }, (_, i) => ({ id: `user-${i}`, vector: [0.1, 0.2, 0.3, i] }));
    const sent = proxy.to('POST', '/v1/spaces/bulk/users').length;
    assert.deepEqual(await small.upsertUsers('bulk', users), { upserted: 100 });
    const requests = proxy.to('POST', '/v1/spaces/bulk/users').length - sent;
    assert.ok(requests >= 4, `${requests} requests`);
  });

  await t.test('retries: Retry-After in seconds and as an HTTP date, per route', async () => {
    proxy.fail({ method: 'GET', path: '/v1/spaces/movies', status: 503, headers: { 'retry-after': '1' }, body: UNAVAILABLE });
    assert.equal((await client.getSpace('movies')).id, 'movies');
    const [first, second] = proxy.to('GET', '/v1/spaces/movies').slice(-2);
    assert.ok(first!.faulted && !second!.faulted);
    assert.ok(second!.at - first!.at >= 1000, `waited ${second!.at - first!.at} ms for Retry-After: 1`);
    assert.equal(second!.headers['x-request-id'], first!.headers['x-request-id'], 'one call, one request id');

    const until = new Date(Date.now() + 2000).toUTCString(); // whole seconds: 1–2 s from now
    proxy.fail({ method: 'POST', path: '/v1/spaces/movies/items', status: 429, headers: { 'retry-after': until }, body: {} });
    await client.upsertItems('movies', [{ id: 'm31', features: world.items[31]!.features }]);
    const [a, b] = proxy.to('POST', '/v1/spaces/movies/items').slice(-2);
    assert.ok(a!.faulted && !b!.faulted);
    assert.ok(b!.at >= Date.parse(until), `sent again at ${new Date(b!.at).toISOString()}, Retry-After said ${until}`);

    // training makes a new run when the last one has finished: retried on a 429 (refused) …
    proxy.fail({ method: 'POST', path: '/v1/spaces/bulk/train', status: 429, headers: { 'retry-after': '0' }, body: {} });
    assert.ok((await client.train('bulk')).jobId);
    assert.equal(proxy.to('POST', '/v1/spaces/bulk/train').length, 2);
    // … but not on a 503 that may have come after it was done (here it was: the answer was lost) …
    const lost = { status: 503, headers: { 'retry-after': '0' }, body: UNAVAILABLE, afterForward: true };
    proxy.fail({ method: 'POST', path: '/v1/spaces/bulk/train', ...lost });
    const refused = await client.train('bulk').catch((e: unknown) => e);
    assert.ok(refused instanceof EmerFlowError && refused.status === 503 && refused.code === 'unavailable', String(refused));
    assert.equal(refused.requestId, proxy.to('POST', '/v1/spaces/bulk/train').at(-1)?.headers['x-request-id']);
    assert.equal(proxy.to('POST', '/v1/spaces/bulk/train').length, 3, 'not sent again');
    // … and on the load shedder's 503, which refuses before the route runs
    const overloaded = { error: 'overloaded', message: 'the service is saturated (event loop); retry shortly' };
    proxy.fail({ method: 'POST', path: '/v1/spaces/bulk/versions', status: 503, headers: { 'retry-after': '0' }, body: overloaded });
    assert.equal((await client.createVersion('bulk')).state, 'staging');
    assert.equal(proxy.to('POST', '/v1/spaces/bulk/versions').length, 2);

    // idempotent calls give up after `retries`; a Retry-After past maxRetryDelayMs is not waited for
    const once = createClient({ baseUrl: proxy.url, apiKey: TEST_ADMIN_KEY, retries: 1, maxRetryDelayMs: 5000 });
    for (let i = 0; i < 2; i++)
      proxy.fail({ method: 'GET', path: '/v1/spaces/bulk', status: 503, headers: { 'retry-after': '0' }, body: UNAVAILABLE });
    await assert.rejects(once.getSpace('bulk'), (e: unknown) => isStatus(e, 503));
    proxy.fail({ method: 'GET', path: '/v1/spaces/bulk', status: 503, headers: { 'retry-after': '3600' }, body: UNAVAILABLE });
    const started = Date.now();
    await assert.rejects(once.getSpace('bulk'), (e: unknown) => isStatus(e, 503));
    assert.ok(Date.now() - started < 1000, 'an hour is not waited for');
    // a delete retried after a lost answer finds the thing gone: done, not 404
    const v = await client.createVersion('bulk');
    proxy.fail({ method: 'DELETE', path: `/v1/spaces/bulk/versions/${v.version}`, ...lost });
    await client.deleteVersion('bulk', v.version);
    const deletes = proxy.to('DELETE', `/v1/spaces/bulk/versions/${v.version}`);
    assert.equal(deletes.length, 2, 'deleted, the answer lost, sent again: 404, which is done');
    assert.ok(!(await client.getSpace('bulk')).versions.some((x) => x.version === v.version));
    proxy.fail({ method: 'GET', path: '/v1/spaces/bulk', status: 502, body: { error: 'bad_gateway', message: 'upstream' } });
    await assert.rejects(client.getSpace('bulk'), (e: unknown) => isStatus(e, 502), 'a 502 is not retried');
  });

  await t.test('network failures: a refused connection, with its code', async () => {
    const port = await freePort(); // just free: nothing listens there
    const dead = createClient({ baseUrl: `http://127.0.0.1:${port}`, apiKey: 'x', retries: 1 });
    const err = await dead.getSpace('movies').catch((e: unknown) => e);
    assert.ok(err instanceof EmerFlowError && err.status === 0 && err.code === 'network_error', String(err));
    assert.match(err.message, /ECONNREFUSED/);
  });
});
