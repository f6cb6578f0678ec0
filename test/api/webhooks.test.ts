// Signed webhooks, over a real socket as a catalogue system would send them: a valid
// signature writes, and an expired, replayed, tampered, foreign or malformed one is
// refused with nothing stored.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { sign, SIGNATURE_WINDOW_S } from '../../src/auth/webhook-signature.js';
import { startTestService, TEST_ADMIN_KEY } from '../support/service.js';
import { post, seedSpace } from '../support/space.js';

test('signed webhooks: valid, expired, replayed, tampered, foreign, rotated', async (t) => {
  const svc = await startTestService(t);
  const app = svc.app!;
  await seedSpace(app, { train: false });
  assert.equal((await post(app, '/v1/spaces', { id: 'other', dim: 8, itemType: 'movie', scorer: 'dot' })).statusCode, 201);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;

  const makeSecret = async (space: string) => {
    const r = await post(app, `/v1/spaces/${space}/webhook-secrets`, {});
    assert.equal(r.statusCode, 201, r.body);
    return r.json() as { id: string; secret: string };
  };
  const now = () => Math.floor(Date.now() / 1000);
  const itemsBody = (id: string) => JSON.stringify({ items: [{ id, features: { title: `Film ${id}`, genres: ['drama'] } }] });
  const send = (space: string, body: string, signature: string | null, route = 'items') =>
    fetch(`${base}/v1/spaces/${space}/${route}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(signature === null ? {} : { 'x-emerflow-signature': signature }) },
      body,
    });
  const signed = (secret: string, body: string, ts = now()) => `t=${ts},v1=${sign(secret, ts, body)}`;
  const stored = async (space: string, id: string) =>
    (await app.inject({ method: 'GET', url: `/v1/spaces/${space}/items/${encodeURIComponent(id)}` })).statusCode === 200;
  const refusal = async (res: Response, status: number, error: string) => {
    assert.equal(res.status, status, await res.clone().text());
    assert.equal(((await res.json()) as { error: string }).error, error);
  };

  const first = await makeSecret('movies');
  const foreign = await makeSecret('other');

  await t.test('a valid signature writes, with the write scope on its own space', async () => {
    const body = itemsBody('hook-1');
    const r = await send('movies', body, signed(first.secret, body));
    assert.equal(r.status, 202, await r.text());
    assert.ok(await stored('movies', 'hook-1'));
  });

  await t.test('the same signed request again is refused as a replay', async () => {
    const body = itemsBody('hook-2');
    const sig = signed(first.secret, body);
    assert.equal((await send('movies', body, sig)).status, 202);
    await refusal(await send('movies', body, sig), 409, 'replayed');
  });

  await t.test('a timestamp outside the window is refused, either way', async () => {
    for (const ts of [now() - SIGNATURE_WINDOW_S - 5, now() + SIGNATURE_WINDOW_S + 5]) {
      const body = itemsBody(`refused-old-${ts}`);
      await refusal(await send('movies', body, signed(first.secret, body, ts)), 401, 'signature_expired');
      assert.equal(await stored('movies', `refused-old-${ts}`), false);
    }
  });

  await t.test('a tampered body, or a re-dated signature, does not match', async () => {
    const body = itemsBody('refused-tampered');
    const sig = signed(first.secret, itemsBody('hook-original'));
    await refusal(await send('movies', body, sig), 401, 'signature_mismatch');
    const ts = now();
    const redated = `t=${ts - 1},v1=${sign(first.secret, ts, body)}`;
    await refusal(await send('movies', body, redated), 401, 'signature_mismatch');
    assert.equal(await stored('movies', 'refused-tampered'), false);
  });

  await t.test("another space's secret does not open this space", async () => {
    const body = itemsBody('refused-foreign');
    await refusal(await send('movies', body, signed(foreign.secret, body)), 401, 'signature_mismatch');
    assert.equal(await stored('movies', 'refused-foreign'), false);
  });

  await t.test('a malformed header, or a signature on a route that takes none, is refused', async () => {
    const body = itemsBody('refused-malformed');
    for (const header of ['v1=abc', `t=${now()}`, `t=${now()},v1=${'0'.repeat(63)}`, 'garbage'])
      await refusal(await send('movies', body, header), 401, 'signature_malformed');
    await refusal(await send('movies', '{}', signed(first.secret, '{}'), 'train'), 401, 'unauthorized');
    await refusal(await send('movies', body, null), 401, 'unauthorized');
    assert.equal(await stored('movies', 'refused-malformed'), false);
  });

  await t.test('events and users can be signed too', async () => {
    const events = JSON.stringify({
      events: [{ id: 'hook-ev-1', userId: 'u0', itemId: 'hook-1', label: 1, ts: new Date().toISOString() }],
    });
    const r = await send('movies', events, signed(first.secret, events), 'interactions');
    assert.equal(r.status, 202, await r.text());
  });

  await t.test('rotation: the secret before stays in force, older ones retire, a retired one is refused', async () => {
    const second = await makeSecret('movies');
    const b1 = itemsBody('hook-rot-1');
    assert.equal((await send('movies', b1, signed(first.secret, b1))).status, 202, 'the previous secret still works');
    const third = await makeSecret('movies');
    const b2 = itemsBody('refused-rot-2');
    await refusal(await send('movies', b2, signed(first.secret, b2)), 401, 'signature_mismatch');
    const list = await app.inject({ method: 'GET', url: '/v1/spaces/movies/webhook-secrets' });
    assert.deepEqual((list.json() as { secrets: { id: string }[] }).secrets.map((s) => s.id).sort(), [second.id, third.id].sort());
    assert.doesNotMatch(list.body, /whsec_/, 'secrets are never listed');
    assert.equal((await app.inject({ method: 'DELETE', url: `/v1/spaces/movies/webhook-secrets/${second.id}` })).statusCode, 204);
    const b3 = itemsBody('refused-rot-3');
    await refusal(await send('movies', b3, signed(second.secret, b3)), 401, 'signature_mismatch');
    const b4 = itemsBody('hook-rot-4');
    assert.equal((await send('movies', b4, signed(third.secret, b4))).status, 202);
  });

  await t.test('managing secrets needs admin: a write key cannot', async () => {
    const made = await post(app, '/v1/keys', { scopes: ['write'] });
    const key = (made.json() as { key: string }).key;
    const r = await app.inject({ method: 'POST', url: '/v1/spaces/movies/webhook-secrets', headers: { authorization: `Bearer ${key}` } });
    assert.equal(r.statusCode, 403);
    assert.notEqual(key, TEST_ADMIN_KEY);
  });
});
