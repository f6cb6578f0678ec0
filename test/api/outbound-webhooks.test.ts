// Outbound webhooks against real receivers (node:http servers on 127.0.0.1): subscriptions and
// their validation; embedding.updated batched and signed as items are embedded and refined;
// model.activated on a training; version.promoted on a promotion; a receiver that fails and is
// down gets every delivery once it is back, under the same delivery ids; unsubscribing stops
// what was pending. Then, with private URLs refused: the refusals, a host that resolves to
// loopback at delivery time, a claim whose process died, and a delivery's last attempt.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { claimDeliveries, recordAttempt } from '../../src/db/outbound-webhooks.js';
import { WebhookDeliverer, webhookLoopOptions, type WebhookLoopOptions } from '../../src/jobs/deliver-webhooks.js';
import { createLogger } from '../../src/logger.js';
import { startTestService, waitFor } from '../support/service.js';
import { makeWorld } from '../support/fixtures.js';
import { post, seedSpace, train } from '../support/space.js';

interface Hit {
  event: string;
  deliveryId: string;
  signature: string;
  contentType: string;
  raw: string;
  body: { type: string; space: string; spaceVersion: number; deliveryId: string; createdAt: string; data: any };
  /** what the receiver answered */
  status: number;
}

/** A webhook receiver: records every request and answers what `answer` says. */
class Receiver {
  hits: Hit[] = [];
  /** null: never answer (the request is left hanging until the server stops) */
  answer: () => { status: number; headers?: Record<string, string> } | null = () => ({ status: 200 });
  private server: http.Server | null = null;
  port = 0;

  async start(): Promise<this> {
    const server = http.createServer((req, res) => {
      let raw = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => (raw += c));
      req.on('end', () => {
        const a = this.answer();
        this.hits.push({
          event: String(req.headers['x-emerflow-event']),
          deliveryId: String(req.headers['x-emerflow-delivery']),
          signature: String(req.headers['x-emerflow-signature']),
          contentType: String(req.headers['content-type']),
          raw,
          body: JSON.parse(raw),
          status: a?.status ?? 0,
        });
        if (a) res.writeHead(a.status, a.headers).end();
      });
    });
    // the same port when it comes back: the subscription's URL names it
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
    return this;
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = null;
    if (!s) return;
    s.closeAllConnections();
    await new Promise((resolve) => s.close(resolve));
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/hook`;
  }

  /** The requests it answered with a 2xx. */
  delivered(event?: string): Hit[] {
    return this.hits.filter((h) => h.status >= 200 && h.status < 300 && (event === undefined || h.event === event));
  }

  /** Items of the embedding.updated deliveries it accepted: id → kinds seen. */
  items(): Map<string, Set<string>> {
    const m = new Map<string, Set<string>>();
    for (const h of this.delivered('embedding.updated'))
      for (const i of h.body.data.items as { id: string; kind: string }[]) m.set(i.id, (m.get(i.id) ?? new Set()).add(i.kind));
    return m;
  }
}

/** Checks a delivery's signature as a receiver would: HMAC-SHA256(secret, "<t>.<raw body>"), t recent. */
function assertSigned(h: Hit, secret: string): void {
  const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(h.signature);
  assert.ok(m, `signature header ${h.signature}`);
  const want = crypto.createHmac('sha256', secret).update(`${m[1]}.${h.raw}`).digest('hex');
  assert.ok(crypto.timingSafeEqual(Buffer.from(want, 'hex'), Buffer.from(m[2]!, 'hex')), 'the signature verifies with the secret');
  assert.ok(Math.abs(Date.now() / 1000 - Number(m[1])) < 300, 'the signature is fresh');
  assert.equal(h.contentType, 'application/json');
  assert.equal(h.deliveryId, h.body.deliveryId);
  assert.equal(h.event, h.body.type);
}

interface DeliveryLog {
  id: string;
  event: string;
  state: 'pending' | 'delivered' | 'failed';
  attempts: number;
  items: number | null;
  lastStatus: number | null;
  lastError: string | null;
  nextAttemptAt: string | null;
  deliveredAt: string | null;
}

const deliveries = async (app: FastifyInstance, space: string, id: string, limit = 200): Promise<DeliveryLog[]> => {
  const r = await app.inject({ method: 'GET', url: `/v1/spaces/${space}/webhooks/${id}/deliveries?limit=${limit}` });
  assert.equal(r.statusCode, 200, r.body);
  return r.json().deliveries;
};

async function subscribe(app: FastifyInstance, space: string, body: object): Promise<{ id: string; secret: string }> {
  const r = await post(app, `/v1/spaces/${space}/webhooks`, body);
  assert.equal(r.statusCode, 201, r.body);
  return r.json();
}

async function refused(app: FastifyInstance, body: object, status: number, message: RegExp): Promise<void> {
  const r = await post(app, '/v1/spaces/movies/webhooks', body);
  assert.equal(r.statusCode, status, r.body);
  assert.match(r.json().message, message);
}

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

test('private URLs refused; a host resolving to loopback refused at delivery; a dead claim sent again; the last attempt', async (t) => {
  // An API process only: the test drives the delivery loop itself, as a worker would.
  const svc = await startTestService(t, { ROLE: 'api' });
  const app = svc.app!;
  assert.equal((await post(app, '/v1/spaces', { id: 'movies', dim: 2, itemType: 'movie', scorer: 'dot' })).statusCode, 201);
  const r = await new Receiver().start();
  t.after(() => r.stop());
  let n = 0;
  const establish = async () => {
    const res = await post(app, '/v1/spaces/movies/items', { items: [{ id: `e${++n}`, features: { title: `E${n}` }, embedding: [n, 1] }] });
    assert.equal(res.statusCode, 202, res.body);
  };
  const loop = (o: Partial<WebhookLoopOptions>) =>
    new WebhookDeliverer(svc.db, createLogger('silent'), { ...webhookLoopOptions(svc.config), ...o });
  const logOf = async (id: string) => (await deliveries(app, 'movies', id))[0];

  await t.test('loopback, private, link-local and mapped addresses are refused; a public one is not', async () => {
    for (const url of [
      r.url,
      'http://localhost/hook',
      'http://10.1.2.3/hook',
      'http://192.168.0.7/hook',
      'http://169.254.169.254/latest/meta-data',
      'http://[::1]/hook',
      'http://[fe80::1]/hook',
      'http://[::ffff:127.0.0.1]/hook',
      'http://0x7f000001/hook',
    ])
      await refused(app, { url, events: ['model.activated'] }, 400, /^body\.url (has|resolves to) a non-public address/);
    await subscribe(app, 'movies', { url: 'https://203.0.113.9/hook', events: ['model.activated'] });
  });

  await t.test('a name that resolves to loopback when delivering is refused as private_address', async () => {
    // as if localhost had resolved to a public address when it subscribed (DNS rebinding)
    await svc.db.query(
      `INSERT INTO webhook_subscriptions (id, space_id, url, events, secret) VALUES ('rebound', 'movies', $1, '{embedding.updated}', 's')`,
      [`http://localhost:${r.port}/hook`],
    );
    await establish();
    await loop({ allowPrivate: false }).runOnce();
    const d = await logOf('rebound');
    assert.ok(d);
    assert.deepEqual([d.state, d.attempts, d.lastStatus, d.lastError], ['pending', 1, null, 'private_address']);
    assert.equal(r.hits.length, 0, 'nothing reached the receiver');
    assert.equal((await app.inject({ method: 'DELETE', url: '/v1/spaces/movies/webhooks/rebound' })).statusCode, 204);
  });

  const sub = await subscribe(app, 'movies', { url: r.url.replace('127.0.0.1', '203.0.113.9'), events: ['embedding.updated'] });
  // the receiver's real address, as a deployment with WEBHOOKS_ALLOW_PRIVATE_URLS would have it
  await svc.db.query('UPDATE webhook_subscriptions SET url = $2 WHERE id = $1', [sub.id, r.url]);

  await t.test('a delivery claimed by a process that died is sent again once its lease runs out, under the same id', async () => {
    await establish();
    const worker = loop({ allowPrivate: true });
    await worker.batchEvents();
    // "the dead process": claims the delivery, sends nothing, records nothing
    const [claimed] = await claimDeliveries(svc.db, { limit: 1, claim: 'dead', leaseMs: 300, maxAttempts: 15 });
    assert.ok(claimed, 'the dead process claimed the delivery');
    await waitFor(async () => {
      await worker.runOnce();
      return r.delivered().length > 0;
    }, 'the delivery sent again');
    const [hit] = r.delivered();
    assert.ok(hit);
    assert.equal(hit.deliveryId, claimed.id);
    assertSigned(hit, sub.secret);
    const d = await logOf(sub.id);
    assert.deepEqual([d?.id, d?.state, d?.attempts], [claimed.id, 'delivered', 2]);
    const late = await recordAttempt(svc.db, claimed.id, 'dead', { state: 'failed', status: null, error: 'late' });
    assert.equal(late, false, 'a claim whose lease ran out records nothing');
  });

  await t.test("a 429's Retry-After sets when the next attempt is", async () => {
    let first = true;
    r.answer = () => (first ? ((first = false), { status: 429, headers: { 'retry-after': '1' } }) : { status: 200 });
    await establish();
    const worker = loop({ allowPrivate: true, retryBaseMs: 1, retryMaxMs: 60_000 });
    await worker.runOnce();
    const q = await svc.db.query<{ s: number }>(
      `SELECT extract(epoch FROM next_attempt_at - last_attempt_at)::float8 AS s FROM outbound_webhook_deliveries
       WHERE subscription_id = $1 AND state = 'pending' AND last_status = 429`,
      [sub.id],
    );
    const wait = q.rows[0]?.s ?? 0;
    assert.ok(wait >= 0.99 && wait < 1.5, `next attempt ${wait} s after the 429 (Retry-After: 1; the backoff alone is ~1 ms)`);
    const d = await waitFor(async () => {
      await worker.runOnce();
      const x = await logOf(sub.id);
      return x?.state === 'delivered' && x;
    }, 'delivered after the Retry-After');
    assert.deepEqual([d.attempts, d.lastStatus], [2, 200]);
  });

  await t.test('a receiver that does not answer in time: the attempt ends as a timeout', async () => {
    r.answer = () => null;
    await establish();
    await loop({ allowPrivate: true, timeoutMs: 200 }).runOnce();
    const d = await logOf(sub.id);
    assert.deepEqual([d?.state, d?.attempts, d?.lastStatus, d?.lastError], ['pending', 1, null, 'timeout']);
    assert.equal(r.hits.filter((h) => h.deliveryId === d?.id).length, 1, 'it reached the receiver, which never answered');
  });

  await t.test('after the last attempt a delivery is failed, and kept in the log', async () => {
    r.answer = () => ({ status: 503 });
    await establish();
    const worker = loop({ allowPrivate: true, maxAttempts: 2, retryBaseMs: 1, retryMaxMs: 1 });
    const d = await waitFor(async () => {
      await worker.runOnce();
      const x = await logOf(sub.id);
      return x?.state === 'failed' && x;
    }, 'the delivery failed');
    assert.deepEqual([d.attempts, d.lastStatus, d.nextAttemptAt, d.deliveredAt], [2, 503, null, null]);
    assert.equal(r.hits.filter((h) => h.deliveryId === d.id).length, 2);

    // a last attempt whose process died: failed as interrupted once its lease runs out
    await establish();
    await worker.batchEvents();
    const [claimed] = await claimDeliveries(svc.db, { limit: 1, claim: 'dead', leaseMs: 1, maxAttempts: 1 });
    assert.ok(claimed);
    const x = await waitFor(async () => {
      await loop({ allowPrivate: true, maxAttempts: 1 }).runOnce();
      const y = await logOf(sub.id);
      return y?.state === 'failed' && y;
    }, 'the interrupted delivery failed');
    assert.deepEqual([x.id, x.attempts, x.lastError], [claimed.id, 1, 'interrupted']);
    assert.equal(r.hits.filter((h) => h.deliveryId === claimed.id).length, 0);
  });
});
