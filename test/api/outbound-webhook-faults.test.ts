// Outbound webhooks when things go wrong, with the delivery loop driven by the test (an API-only
// service): private addresses refused when subscribing and when connecting, a claim whose process
// died sent again under the same id, Retry-After, timeouts, and the last attempt.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { claimDeliveries, recordAttempt } from '../../src/db/outbound-webhooks.js';
import { WebhookDeliverer, webhookLoopOptions, type WebhookLoopOptions } from '../../src/jobs/deliver-webhooks.js';
import { createLogger } from '../../src/logger.js';
import { startTestService, waitFor } from '../support/service.js';
import { post } from '../support/space.js';
import { assertSigned, deliveries, Receiver, refused, subscribe } from '../support/webhook-receiver.js';

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
