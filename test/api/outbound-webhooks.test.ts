// Outbound webhooks against real receivers (node:http servers on 127.0.0.1): subscriptions and
// their validation; embedding.updated batched and signed as items are embedded and refined;
// model.activated on a training; version.promoted on a promotion; a receiver that fails and is
// down gets every delivery once it is back, under the same delivery ids; unsubscribing stops
// what was pending. The fault cases with the loop driven by hand: outbound-webhook-faults.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestService, waitFor } from '../support/service.js';
import { makeWorld } from '../support/fixtures.js';
import { post, seedSpace, train } from '../support/space.js';
import { assertSigned, deliveries, Receiver, refused, subscribe } from '../support/webhook-receiver.js';

test('outbound webhooks: subscriptions, events batched and signed, retries, promotion, unsubscribing', async (t) => {
  const svc = await startTestService(t, {
    WEBHOOKS_ALLOW_PRIVATE_URLS: 'true',
    WEBHOOKS_POLL_MS: '50',
    WEBHOOKS_BATCH_ITEMS: '5',
    WEBHOOKS_RETRY_BASE_MS: '50',
    WEBHOOKS_RETRY_MAX_MS: '400',
    WEBHOOKS_MAX_ATTEMPTS: '100',
    WEBHOOKS_TIMEOUT_MS: '2000',
    PROMOTE_POLL_MS: '50',
  });
  const app = svc.app!;
  const world = makeWorld({ dim: 8, users: 40, items: 60 });
  await seedSpace(app, { world, train: false });
  const a = await new Receiver().start();
  const b = await new Receiver().start();
  t.after(() => Promise.all([a.stop(), b.stop()]));
  const emerging = (from: number, to: number) => world.items.slice(from, to).map((i) => ({ id: i.id, features: i.features }));

  // a: every event, with its own secret; b: embeddings and promotions, with a secret made for it
  const mine = 'a-receivers-secret-0123456789';
  const subA = await subscribe(app, 'movies', {
    url: a.url,
    events: ['embedding.updated', 'model.activated', 'version.promoted'],
    secret: mine,
  });
  assert.equal(subA.secret, mine);
  const subB = await subscribe(app, 'movies', { url: b.url, events: ['embedding.updated', 'version.promoted'] });
  assert.match(subB.secret, /^whsec_/);

  await t.test('subscriptions: listed without secrets; bad ones refused naming the field', async () => {
    const list = (await app.inject({ method: 'GET', url: '/v1/spaces/movies/webhooks' })).json();
    assert.deepEqual(
      list.webhooks.map((w: { id: string; url: string }) => [w.id, w.url]),
      [
        [subA.id, a.url],
        [subB.id, b.url],
      ],
    );
    assert.ok(!JSON.stringify(list).includes('secret') && !JSON.stringify(list).includes(mine), 'no secret in the list');
    await refused(app, { url: 'not a url', events: ['model.activated'] }, 400, /^body\.url is not a valid absolute URL/);
    await refused(app, { url: 'ftp://example.com/x', events: ['model.activated'] }, 400, /^body\.url must be an http or https URL/);
    await refused(app, { url: 'https://user:pw@example.com/x', events: ['model.activated'] }, 400, /^body\.url must not carry credentials/);
    await refused(app, { url: a.url, events: ['item.created'] }, 400, /^body\.events\[0\] must be one of "embedding\.updated"/);
    await refused(app, { url: a.url, events: [] }, 400, /^body\.events /);
    await refused(app, { url: a.url, events: ['model.activated', 'model.activated'] }, 400, /^body\.events .*duplicate/);
    await refused(app, { url: a.url, events: ['model.activated'], secret: 'short' }, 400, /^body\.secret /);
    await refused(app, { url: a.url, events: ['model.activated'], extra: 1 }, 400, /^body\.extra is not a known field/);
    await refused(app, { events: ['model.activated'] }, 400, /^body\.url is required/);
    assert.equal((await post(app, '/v1/spaces/nope/webhooks', { url: a.url, events: ['model.activated'] })).statusCode, 404);
    const again = await post(app, '/v1/spaces/movies/webhooks', {
      url: a.url,
      events: ['version.promoted', 'model.activated', 'embedding.updated'],
    });
    assert.equal(again.statusCode, 200, 'subscribing again is answered with the subscription there is');
    assert.deepEqual([again.json().id, again.json().secret], [subA.id, mine]);
    await refused(
      app,
      { url: a.url, events: ['model.activated'] },
      409,
      new RegExp(`^webhook "${subA.id}" has this URL with other events`),
    );
    await refused(
      app,
      { url: a.url, events: ['model.activated', 'embedding.updated', 'version.promoted'], secret: `${mine}x` },
      409,
      /another secret/,
    );
    const gone = await subscribe(app, 'movies', { url: `${a.url}?gone`, events: ['model.activated'] });
    assert.equal((await app.inject({ method: 'DELETE', url: `/v1/spaces/movies/webhooks/${gone.id}` })).statusCode, 204);
    assert.equal((await app.inject({ method: 'DELETE', url: `/v1/spaces/movies/webhooks/${gone.id}` })).statusCode, 404);
    assert.equal((await app.inject({ method: 'GET', url: `/v1/spaces/movies/webhooks/${gone.id}/deliveries` })).statusCode, 404);
    for (const q of ['limit=0', 'limit=201', 'limit=x', 'other=1'])
      assert.equal((await app.inject({ method: 'GET', url: `/v1/spaces/movies/webhooks/${subA.id}/deliveries?${q}` })).statusCode, 400, q);
  });

  await t.test('model.activated on a training, signed, to the subscriptions that want it', async () => {
    await train(app, 'movies');
    const [hit] = await waitFor(async () => a.delivered('model.activated').length > 0 && a.delivered('model.activated'), 'model.activated');
    assert.ok(hit);
    assertSigned(hit, mine);
    assert.equal(hit.body.space, 'movies');
    assert.equal(hit.body.spaceVersion, 1);
    assert.deepEqual(hit.body.data, { modelVersion: 1, previousModelVersion: null });
    assert.ok(!Number.isNaN(Date.parse(hit.body.createdAt)));
  });

  await t.test('embedding.updated: batched per subscription, cold then refined', async () => {
    const fresh = emerging(30, 42);
    assert.equal((await post(app, '/v1/spaces/movies/items', { items: fresh })).statusCode, 202);
    await waitFor(async () => fresh.every((i) => a.items().get(i.id)?.has('cold') && b.items().has(i.id)), 'cold embeddings told');
    for (const [r, secret] of [
      [a, mine],
      [b, subB.secret],
    ] as const)
      for (const h of r.delivered('embedding.updated')) {
        assertSigned(h, secret);
        assert.ok(h.body.data.items.length <= 5, 'at most WEBHOOKS_BATCH_ITEMS items a delivery');
        for (const i of h.body.data.items) assert.deepEqual(Object.keys(i).sort(), ['id', 'kind', 'version']);
      }
    assert.ok(a.delivered('embedding.updated').length >= 3, '12 items in batches of 5');
    const events = world.users.slice(0, 10).map((u, k) => ({ id: `w-${k}`, userId: u.id, itemId: fresh[k % 2]!.id, label: k % 2 }));
    assert.equal((await post(app, '/v1/spaces/movies/interactions', { events })).json().accepted, 10);
    await waitFor(async () => [0, 1].every((k) => a.items().get(fresh[k]!.id)?.has('refined')), 'refined embeddings told');
    // a delivery is recorded just after its receiver answered
    const log = await waitFor(async () => {
      const l = await deliveries(app, 'movies', subA.id);
      return l.every((d) => d.state !== 'pending') && l;
    }, 'every attempt recorded');
    for (const h of a.delivered('embedding.updated')) {
      const d = log.find((x) => x.id === h.deliveryId);
      assert.ok(d, 'every delivery is in the log');
      assert.equal(d.items, h.body.data.items.length);
    }
    assert.ok(log.every((d) => d.state === 'delivered' && d.attempts === 1 && d.lastStatus === 200 && d.deliveredAt !== null));
    assert.equal(b.hits.filter((h) => h.event === 'model.activated').length, 0, 'b did not subscribe to model.activated');
  });

  await t.test('a receiver answering 500, then down, then back: every delivery arrives under its id', async () => {
    a.answer = () => ({ status: 500 });
    const before = new Set(a.hits.map((h) => h.deliveryId));
    const during = emerging(42, 45);
    assert.equal((await post(app, '/v1/spaces/movies/items', { items: during })).statusCode, 202);
    await waitFor(
      async () => (await deliveries(app, 'movies', subA.id)).some((d) => d.state === 'pending' && d.attempts >= 2 && d.lastStatus === 500),
      'a delivery retried after a 500',
    );
    await a.stop();
    await waitFor(
      async () => (await deliveries(app, 'movies', subA.id)).some((d) => d.state === 'pending' && d.lastError === 'connection_refused'),
      'an attempt refused while the receiver is down',
    );
    const whileDown = emerging(45, 47);
    assert.equal((await post(app, '/v1/spaces/movies/items', { items: whileDown })).statusCode, 202);
    await waitFor(async () => whileDown.every((i) => b.items().has(i.id)), 'the items made while a is down (b is told)');
    a.answer = () => ({ status: 200 });
    await a.start();
    await waitFor(async () => [...during, ...whileDown].every((i) => a.items().get(i.id)?.has('cold')), 'everything told once a is back');
    await waitFor(async () => (await deliveries(app, 'movies', subA.id)).every((d) => d.state === 'delivered'), 'nothing pending');
    const log = await deliveries(app, 'movies', subA.id);
    const retried = log.filter((d) => d.attempts > 1);
    const hitsOf = (id: string) => a.hits.filter((h) => h.deliveryId === id);
    assert.ok(
      retried.some((d) => hitsOf(d.id).some((h) => h.status === 500)),
      'a delivery answered 500, then delivered under the same id',
    );
    for (const d of retried) {
      const hits = hitsOf(d.id);
      assert.equal(hits.filter((h) => h.status === 200).length, 1, 'delivered once, after its failed attempts');
      assert.ok(
        hits.every((h) => h.raw === hits[0]!.raw),
        'the same bytes on every attempt',
      );
      assert.ok(d.attempts >= hits.length, 'refused connections count as attempts too');
    }
    for (const h of a.hits.filter((x) => !before.has(x.deliveryId)))
      assert.ok(
        a.delivered().some((x) => x.deliveryId === h.deliveryId),
        `delivery ${h.deliveryId} arrived`,
      );
    const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body;
    assert.match(metrics, /emerflow_webhook_deliveries_total\{event="embedding\.updated",outcome="retried"\} [1-9]/);
    assert.match(metrics, /emerflow_webhook_deliveries_pending\{event="embedding\.updated"\} \d/);
  });

  await t.test('version.promoted on a promotion, and the version trained in it activates its model', async () => {
    assert.equal((await post(app, '/v1/spaces/movies/versions', {})).statusCode, 201);
    // the recommender retrained: its space mirrored (identical vectors would be no change at all)
    const mirror = (v: number[]) => v.map((x) => -x);
    const users = world.users.map((u) => ({ id: u.id, vector: mirror(u.vector) }));
    assert.equal((await post(app, '/v1/spaces/movies/users?version=2', { users })).statusCode, 200);
    const established = world.items.slice(0, 30).map((i) => ({ id: i.id, features: i.features, embedding: mirror(i.vector) }));
    assert.equal((await post(app, '/v1/spaces/movies/items?version=2', { items: established })).statusCode, 202);
    const promoting = await post(app, '/v1/spaces/movies/versions/2/promote', {});
    assert.equal(promoting.statusCode, 202, promoting.body);
    const { jobId } = promoting.json();
    await waitFor(
      async () => {
        const j = (await app.inject({ method: 'GET', url: `/v1/jobs/${jobId}` })).json();
        if (j.state === 'failed') throw new Error(`promotion failed: ${j.error}`);
        return j.state === 'completed';
      },
      'the promotion',
      120_000,
    );
    for (const [r, secret] of [
      [a, mine],
      [b, subB.secret],
    ] as const) {
      const [hit] = await waitFor(async () => r.delivered('version.promoted').length > 0 && r.delivered('version.promoted'), 'promoted');
      assert.ok(hit);
      assertSigned(hit, secret);
      assert.equal(hit.body.spaceVersion, 2);
      assert.deepEqual(hit.body.data, { version: 2, previousVersion: 1 });
    }
    const activated = await waitFor(async () => a.delivered('model.activated').find((h) => h.body.spaceVersion === 2), 'v2 activated');
    assert.deepEqual(activated.body.data, { modelVersion: 1, previousModelVersion: null });
    // the established items posted into version 2 were told with their version
    await waitFor(async () => b.delivered('embedding.updated').some((h) => h.body.spaceVersion === 2), 'version 2 embeddings told');
  });

  await t.test('unsubscribing stops what was pending, and nothing new is sent', async () => {
    a.answer = () => ({ status: 500 });
    const item = emerging(48, 49);
    assert.equal((await post(app, '/v1/spaces/movies/items', { items: item })).statusCode, 202);
    await waitFor(async () => (await deliveries(app, 'movies', subA.id)).some((d) => d.state === 'pending' && d.attempts >= 1), 'pending');
    const known = new Set(a.hits.map((h) => h.deliveryId));
    const r = await app.inject({ method: 'DELETE', url: `/v1/spaces/movies/webhooks/${subA.id}` });
    assert.equal(r.statusCode, 204);
    const left = await svc.db.query(
      `SELECT 1 FROM outbound_webhook_deliveries WHERE subscription_id = $1
       UNION ALL SELECT 1 FROM webhook_outbox WHERE subscription_id = $1`,
      [subA.id],
    );
    assert.equal(left.rowCount, 0, 'its pending deliveries and events are gone');
    const later = emerging(49, 50);
    assert.equal((await post(app, '/v1/spaces/movies/items', { items: later })).statusCode, 202);
    await waitFor(async () => b.items().has(later[0]!.id), 'b, still subscribed, told of the later item');
    // at most an attempt already in flight when it was deleted reached a
    assert.ok(a.hits.every((h) => known.has(h.deliveryId) || h.body.data.items?.every((i: { id: string }) => i.id === item[0]!.id)));
    assert.ok(!a.hits.some((h) => h.body.data.items?.some((i: { id: string }) => i.id === later[0]!.id)), 'nothing new sent to a');
  });
});
