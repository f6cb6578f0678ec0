// Invalidation across API processes, delivered with the writing transaction (NOTIFY from
// migration 006's triggers): a process that cached an embedding serves the new one once
// another process wrote it, forgets a deleted item, and after its LISTEN connection was
// killed comes back with an empty cache (what it missed while deaf is not served).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { freshDatabase, startTestService, waitFor } from '../support/service.js';
import { post, seedSpace } from '../support/space.js';

test('invalidation reaches another API process, also after its LISTEN connection was killed', async (t) => {
  const databaseUrl = await freshDatabase(t);
  const prefix = `t${crypto.randomBytes(4).toString('hex')}`;
  const a = await startTestService(t, {}, { databaseUrl, prefix });
  const b = await startTestService(t, { ROLE: 'api' }, { databaseUrl, prefix });
  const world = await seedSpace(a.app!, { train: false });
  const [x, y] = [world.items[0]!, world.items[1]!];
  const vectorOf = async (id: string) => {
    const r = await post(b.app!, '/v1/spaces/movies/embeddings/lookup', { ids: [id] });
    assert.equal(r.statusCode, 200, r.body);
    const body = r.json() as { embeddings: { vector: number[] }[]; missing: string[] };
    return body.missing.length ? null : body.embeddings[0]!.vector;
  };
  const repost = async (v: number) => {
    const r = await post(a.app!, '/v1/spaces/movies/items', {
      items: [{ id: x.id, features: x.features, embedding: x.vector.map(() => v) }],
    });
    assert.equal(r.statusCode, 202, r.body);
  };
  const listeners = async () =>
    Number(
      (
        await a.db.query(
          `SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND query = 'LISTEN emerflow_embeddings'`,
        )
      ).rows[0].n,
    );

  await t.test('a new vector written by one process is served by the other, which had cached the old one', async () => {
    assert.ok(await vectorOf(x.id), 'x is served (and now cached in b)');
    const r = await b.app!.inject({ method: 'GET', url: `/v1/spaces/movies/items/${x.id}/embedding` });
    assert.equal(r.statusCode, 200, 'the single-item route serves it too');
    await repost(0.25);
    await waitFor(async () => (await vectorOf(x.id))?.every((c) => c === 0.25), 'b to serve the new vector of x');
    const single = await b.app!.inject({ method: 'GET', url: `/v1/spaces/movies/items/${x.id}/embedding` });
    assert.ok(
      (single.json() as { vector: number[] }).vector.every((c) => c === 0.25),
      'and the single-item route',
    );
  });

  await t.test('an item deleted through one process is missing from the other', async () => {
    assert.ok(await vectorOf(y.id));
    assert.equal((await a.app!.inject({ method: 'DELETE', url: `/v1/spaces/movies/items/${y.id}` })).statusCode, 204);
    await waitFor(async () => (await vectorOf(y.id)) === null, 'b to forget y');
  });

  await t.test('after its LISTEN connection is killed, a process comes back with nothing it missed', async () => {
    await waitFor(async () => (await listeners()) === 2, 'both processes listening');
    assert.ok(
      (await vectorOf(x.id))?.every((c) => c === 0.25),
      'b has x cached',
    );
    await a.db.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND query = 'LISTEN emerflow_embeddings'`,
    );
    await waitFor(async () => (await listeners()) === 0 || null, 'the listeners gone');
    await repost(0.75); // its NOTIFY reaches no one
    await waitFor(async () => (await listeners()) === 2, 'both listening again');
    assert.ok(
      (await vectorOf(x.id))?.every((c) => c === 0.75),
      'b serves the vector written while it was deaf',
    );
    await repost(0.125);
    await waitFor(async () => (await vectorOf(x.id))?.every((c) => c === 0.125), 'and follows invalidations again');
  });
});
