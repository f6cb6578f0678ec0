// Idempotent ingestion of items and events, item views, and the lookup hot path
// (JSON and packed float32, cache invalidated when a new version is written).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestService, waitFor } from '../support/service.js';
import { embeddingOf, post, seedSpace } from '../support/space.js';

test('items and events are idempotent; lookups follow new versions', async (t) => {
  const svc = await startTestService(t);
  const app = svc.app!;
  const world = await seedSpace(app);
  const fresh = world.items[35]!;
  type Emb = NonNullable<Awaited<ReturnType<typeof embeddingOf>>>;
  let cold: Emb | undefined;
  let refined: Emb | undefined;

  await t.test('established items re-sent as they are: nothing written', async () => {
    const again = world.items.slice(0, 30).map((i) => ({ id: i.id, features: i.features, embedding: i.vector }));
    assert.deepEqual((await post(app, '/v1/spaces/movies/items', { items: again })).json(), { accepted: 0, unchanged: 30 });
  });

  await t.test('an emerging item; the same content with its keys in another order is unchanged', async () => {
    assert.deepEqual((await post(app, '/v1/spaces/movies/items', { items: [{ id: fresh.id, features: fresh.features }] })).json(), {
      accepted: 1,
      unchanged: 0,
    });
    const reordered = Object.fromEntries(Object.entries(fresh.features).reverse());
    assert.deepEqual((await post(app, '/v1/spaces/movies/items', { items: [{ id: fresh.id, features: reordered }] })).json(), {
      accepted: 0,
      unchanged: 1,
    });
    cold = await waitFor(() => embeddingOf(app, 'movies', fresh.id), 'cold embedding');
    assert.equal(cold.kind, 'cold');
    const view = (await app.inject({ method: 'GET', url: `/v1/spaces/movies/items/${fresh.id}` })).json();
    assert.equal(view.state, 'cold');
    assert.deepEqual(view.features, fresh.features);
    assert.equal(view.enrichment, null);
    assert.equal(view.embedding.version, cold.version);
  });

  await t.test('lookup fills the cache; a changed item re-runs the pipeline and the lookup sees the new version', async () => {
    assert.ok(cold);
    const first = (await post(app, '/v1/spaces/movies/embeddings/lookup', { ids: [fresh.id] })).json();
    assert.equal(first.embeddings[0].version, cold.version);
    const changed = { ...fresh.features, summary: 'A war story told as a comedy' };
    assert.deepEqual((await post(app, '/v1/spaces/movies/items', { items: [{ id: fresh.id, features: changed }] })).json(), {
      accepted: 1,
      unchanged: 0,
    });
    const recold = await waitFor(async () => {
      const e = await embeddingOf(app, 'movies', fresh.id);
      return e && e.version > cold!.version ? e : null;
    }, 're-embedding');
    assert.notDeepEqual(recold.vector, cold.vector);
    const second = await waitFor(
      async () => {
        const l = (await post(app, '/v1/spaces/movies/embeddings/lookup', { ids: [fresh.id] })).json();
        return l.embeddings[0].version === recold.version ? l : null;
      },
      'lookup to see the new version',
      5000,
    );
    assert.deepEqual(second.embeddings[0].vector, recold.vector);
  });

  await t.test('events: duplicates inside one request and across requests count once', async () => {
    const ev = (id: string, u: number) => ({ id, userId: `u${u}`, itemId: fresh.id, label: 1 });
    assert.deepEqual((await post(app, '/v1/spaces/movies/interactions', { events: [ev('a', 1), ev('a', 1), ev('b', 2)] })).json(), {
      accepted: 2,
      duplicates: 1,
    });
    assert.deepEqual((await post(app, '/v1/spaces/movies/interactions', { events: [ev('a', 1), ev('b', 2), ev('c', 3)] })).json(), {
      accepted: 1,
      duplicates: 2,
    });
    refined = await waitFor(async () => {
      const e = await embeddingOf(app, 'movies', fresh.id);
      return e?.kind === 'refined' && e.interactions === 3 ? e : null;
    }, 'refinement with 3 events');
    assert.equal((await app.inject({ method: 'GET', url: `/v1/spaces/movies/items/${fresh.id}` })).json().interactions, 3);
  });

  await t.test('binary lookup: packed float32 rows in request order, NaN for missing ids', async () => {
    assert.ok(refined);
    const bin = await app.inject({
      method: 'POST',
      url: '/v1/spaces/movies/embeddings/lookup',
      payload: { ids: ['m0', 'missing', fresh.id] },
      headers: { accept: 'application/octet-stream' },
    });
    assert.equal(bin.headers['content-type'], 'application/octet-stream');
    assert.equal(bin.headers['x-emerflow-dim'], '8');
    const buf = bin.rawPayload;
    const f = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
    assert.equal(f.length, 3 * 8);
    assert.deepEqual(Array.from(f.slice(0, 8)), Array.from(Float32Array.from(world.items[0]!.vector)));
    assert.ok(Number.isNaN(f[8]!));
    assert.deepEqual(Array.from(f.slice(16, 24)), refined.vector);
  });

  await t.test('an established item with a new vector from the recommender: a new base version', async () => {
    const moved = world.items[0]!.vector.map((x) => x + 1);
    assert.deepEqual(
      (await post(app, '/v1/spaces/movies/items', { items: [{ id: 'm0', features: world.items[0]!.features, embedding: moved }] })).json(),
      {
        accepted: 1,
        unchanged: 0,
      },
    );
    const base = (await embeddingOf(app, 'movies', 'm0'))!;
    assert.equal(base.kind, 'base');
    assert.equal(base.version, 2);
    assert.deepEqual(base.vector, Array.from(Float32Array.from(moved)));
    const looked = (await post(app, '/v1/spaces/movies/embeddings/lookup', { ids: ['m0'] })).json();
    assert.equal(looked.embeddings[0].version, 2);
  });

  await t.test('features of an established item updated without a vector: it stays established, base vector kept', async () => {
    assert.deepEqual(
      (
        await post(app, '/v1/spaces/movies/items', {
          items: [{ id: 'm0', features: { ...world.items[0]!.features, title: 'Fixed title' } }],
        })
      ).json(),
      { accepted: 1, unchanged: 0 },
    );
    const m0 = (await app.inject({ method: 'GET', url: '/v1/spaces/movies/items/m0' })).json();
    assert.equal(m0.state, 'established');
    assert.equal(m0.features.title, 'Fixed title');
    assert.equal((await embeddingOf(app, 'movies', 'm0'))!.version, 2);
  });

  await t.test('re-creating a space with the same definition is a no-op', async () => {
    const same = await post(app, '/v1/spaces', { id: 'movies', dim: 8, itemType: 'movie', scorer: 'dot' });
    assert.equal(same.statusCode, 200);
  });
});

test('DELETE forgets an item: its embedding, interactions and pending work; others stay', async (t) => {
  const svc = await startTestService(t);
  const app = svc.app!;
  const world = await seedSpace(app);
  const [gone, kept] = [world.items[35]!, world.items[36]!];
  await post(app, '/v1/spaces/movies/items', { items: [gone, kept].map((i) => ({ id: i.id, features: i.features })) });
  await waitFor(() => embeddingOf(app, 'movies', gone.id), 'cold embedding');
  await waitFor(() => embeddingOf(app, 'movies', kept.id), 'cold embedding');
  const ev = (id: string, item: string) => ({ id, userId: 'u1', itemId: item, label: 1 });
  await post(app, '/v1/spaces/movies/interactions', { events: [ev('g1', gone.id), ev('k1', kept.id)] });
  // warm the lookup cache, so the delete has to reach it
  assert.equal((await post(app, '/v1/spaces/movies/embeddings/lookup', { ids: [gone.id] })).json().embeddings.length, 1);

  const del = await app.inject({ method: 'DELETE', url: `/v1/spaces/movies/items/${gone.id}` });
  assert.equal(del.statusCode, 204);
  assert.equal(del.body, '');
  assert.equal((await app.inject({ method: 'GET', url: `/v1/spaces/movies/items/${gone.id}` })).statusCode, 404);
  assert.equal(await embeddingOf(app, 'movies', gone.id), null);
  await waitFor(
    async () => {
      const l = (await post(app, '/v1/spaces/movies/embeddings/lookup', { ids: [gone.id] })).json();
      return l.embeddings.length === 0 && l.missing?.includes(gone.id) ? l : null;
    },
    'lookup to drop the deleted item',
    5000,
  );
  const left = async (sql: string, id: string) => (await svc.db.query(sql, [id])).rows[0].n as number;
  assert.equal(await left(`SELECT count(*)::int AS n FROM interactions WHERE item_id = $1`, gone.id), 0);
  assert.equal(await left(`SELECT count(*)::int AS n FROM tasks WHERE key = 'movies/' || $1`, gone.id), 0);
  assert.equal(await left(`SELECT count(*)::int AS n FROM item_vectors WHERE item_id = $1`, gone.id), 0);

  // a retry, an unknown item, an unknown space
  assert.equal((await app.inject({ method: 'DELETE', url: `/v1/spaces/movies/items/${gone.id}` })).statusCode, 404);
  assert.equal((await app.inject({ method: 'DELETE', url: '/v1/spaces/nope/items/x' })).statusCode, 404);
  // the other item keeps everything, and refines with its event
  const k = await waitFor(async () => {
    const e = await embeddingOf(app, 'movies', kept.id);
    return e?.kind === 'refined' ? e : null;
  }, 'the kept item refined');
  assert.equal(k.interactions, 1);
  assert.equal(await left(`SELECT count(*)::int AS n FROM interactions WHERE item_id = $1`, kept.id), 1);
  // the same id can come back as a new item
  assert.equal((await post(app, '/v1/spaces/movies/items', { items: [{ id: gone.id, features: gone.features }] })).statusCode, 202);
  const back = await waitFor(() => embeddingOf(app, 'movies', gone.id), 'the re-added item embedded');
  assert.equal(back.kind, 'cold');
});
