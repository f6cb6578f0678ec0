// Space versions through the API: the recommender retrains (here: its space rotated, so
// the fast path's map is known), a staging version is loaded with ?version=v, promoted, and
// lookups switch from one version to the other in one step. Then a third version prunes
// the first.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { startTestService, waitFor } from '../support/service.js';
import { makeWorld, rng, type World } from '../support/fixtures.js';
import { post, seedSpace } from '../support/space.js';

/** A random orthogonal matrix (Gram–Schmidt of Gaussian rows): a retrain that keeps every dot product. */
function rotation(dim: number, seed: number): number[][] {
  const r = rng(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(r() + 1e-12)) * Math.cos(2 * Math.PI * r());
  const rows: number[][] = [];
  while (rows.length < dim) {
    const v = Array.from({ length: dim }, gauss);
    for (const q of rows) {
      const d = v.reduce((a, x, i) => a + x * q[i]!, 0);
      for (let i = 0; i < dim; i++) v[i]! -= d * q[i]!;
    }
    const n = Math.hypot(...v);
    rows.push(v.map((x) => x / n));
  }
  return rows;
}
const rotate = (m: number[][], v: number[]) => m.map((row) => row.reduce((a, x, i) => a + x * v[i]!, 0));

/** The world after a retrain: the same users and items in rotated axes. */
function retrained(w: World, seed: number): World {
  const m = rotation(w.dim, seed);
  return {
    ...w,
    users: w.users.map((u) => ({ ...u, vector: rotate(m, u.vector) })),
    items: w.items.map((i) => ({ ...i, vector: rotate(m, i.vector) })),
  };
}

interface LookupAnswer {
  spaceVersion: number;
  embeddings: { id: string; vector: number[]; kind: string }[];
  missing: string[];
}
const lookup = async (app: FastifyInstance, ids: string[], version?: number) => {
  const q = version === undefined ? '' : `?version=${version}`;
  const r = await app.inject({ method: 'POST', url: `/v1/spaces/movies/embeddings/lookup${q}`, payload: { ids } });
  return { status: r.statusCode, body: r.json() as LookupAnswer & { error?: string } };
};

async function loadVersion(app: FastifyInstance, w: World, version: number, established: number): Promise<void> {
  let r = await post(app, `/v1/spaces/movies/users?version=${version}`, { users: w.users });
  assert.equal(r.statusCode, 200, r.body);
  const items = w.items.slice(0, established).map((i) => ({ id: i.id, features: i.features, embedding: i.vector }));
  r = await post(app, `/v1/spaces/movies/items?version=${version}`, { items });
  assert.equal(r.statusCode, 202, r.body);
}

async function job(app: FastifyInstance, id: string) {
  return (await app.inject({ method: 'GET', url: `/v1/jobs/${id}` })).json() as {
    kind: string;
    state: string;
    progress: { phase: string; fraction: number };
    result: Record<string, unknown> | null;
    error: string | null;
  };
}

/** The job once it completed (a failed one fails the test with its error). */
const completed = (app: FastifyInstance, jobId: string, what: string) =>
  waitFor(
    async () => {
      const x = await job(app, jobId);
      if (x.state === 'failed') throw new Error(`promotion failed: ${x.error}`);
      return x.state === 'completed' ? x : null;
    },
    what,
    120_000,
  );

test('space versions: staging, promotion with one switch, pinned lookups, pruning', async (t) => {
  const svc = await startTestService(t, { VERSIONS_KEEP_RETIRED: '1', PROMOTE_POLL_MS: '50' });
  const app = svc.app!;
  const w1 = makeWorld({ dim: 8, users: 40, items: 46 });
  await seedSpace(app, { world: w1, established: 30 });
  const emerging = w1.items.slice(30, 40);
  const ids = emerging.map((i) => i.id);
  assert.equal(
    (await post(app, '/v1/spaces/movies/items', { items: emerging.map((i) => ({ id: i.id, features: i.features })) })).statusCode,
    202,
  );
  const before = await waitFor(async () => {
    const l = await lookup(app, ids);
    return l.body.embeddings.length === ids.length ? l.body : null;
  }, 'cold embeddings in version 1');
  assert.equal(before.spaceVersion, 1);

  await t.test('a new version is staging, and lookups still serve version 1', async () => {
    const r = await post(app, '/v1/spaces/movies/versions', {});
    assert.equal(r.statusCode, 201, r.body);
    assert.deepEqual(r.json(), { version: 2, state: 'staging' });
    const w2 = retrained(w1, 7);
    await loadVersion(app, w2, 2, 30);
    const l = await lookup(app, ids);
    assert.equal(l.body.spaceVersion, 1);
    assert.deepEqual(l.body.embeddings, before.embeddings);
    const space = (await app.inject({ method: 'GET', url: '/v1/spaces/movies' })).json();
    assert.equal(space.currentVersion, 1);
    assert.deepEqual(
      space.versions.map((v: { version: number; state: string }) => [v.version, v.state]),
      [
        [1, 'current'],
        [2, 'staging'],
      ],
    );
    const v2 = space.versions[1];
    assert.equal(v2.counts.users, 40);
    assert.equal(v2.counts.items.established, 30);
    // every other item of the space is emerging in version 2, with the space's interactions
    assert.equal(v2.counts.items.established + v2.counts.items.received + v2.counts.items.enriched, 40);
    assert.equal(v2.counts.interactions, space.counts.interactions);
    // pinned: version 2 serves its established items and nothing for the emerging ones yet
    const pinned = await lookup(app, [w1.items[0]!.id, ...ids], 2);
    assert.equal(pinned.body.spaceVersion, 2);
    assert.deepEqual(pinned.body.missing, ids);
  });

  await t.test('unknown versions: 404 version_not_found', async () => {
    const l = await lookup(app, ids, 9);
    assert.equal(l.status, 404);
    assert.equal(l.body.error, 'version_not_found');
    const p = await post(app, '/v1/spaces/movies/versions/9/promote', {});
    assert.equal(p.statusCode, 404);
  });

  const lateItem = emerging[0]!;
  await t.test('promotion: events during it reach version 2, and readers see one switch', async () => {
    // events for an emerging item while version 2 is staging: written to both versions
    const events = w1.users.slice(0, 10).map((u, k) => ({ id: `late-${k}`, userId: u.id, itemId: lateItem.id, label: (k % 2) as 0 | 1 }));
    assert.equal((await post(app, '/v1/spaces/movies/interactions', { events })).json().accepted, 10);

    const r = await post(app, '/v1/spaces/movies/versions/2/promote', {});
    assert.equal(r.statusCode, 202, r.body);
    const { jobId } = r.json();
    assert.equal((await post(app, '/v1/spaces/movies/versions/2/promote', {})).json().jobId, jobId, 'asking again answers the same job');

    // A reader polling during the promotion: every answer is from one version, version 1
    // until the switch, and version 2 only once the job (committed with the switch) is done.
    const seen: number[] = [];
    const done = await waitFor(
      async () => {
        const l = await lookup(app, ids);
        const versions = new Set(l.body.embeddings.map(() => l.body.spaceVersion));
        assert.ok(versions.size <= 1);
        seen.push(l.body.spaceVersion);
        const j = await job(app, jobId);
        if (l.body.spaceVersion === 2) assert.equal(j.state, 'completed', 'a version 2 vector before the switch');
        if (j.state === 'failed') throw new Error(`promotion failed: ${j.error}`);
        return l.body.spaceVersion === 2 ? j : null;
      },
      'the switch to version 2',
      120_000,
    );
    assert.equal(done.kind, 'promote');
    assert.equal(seen.indexOf(2), seen.length - 1, 'version 1 was served until the switch, never after');
    const fp = done.result!['fastPath'] as { kind: string; pairs: number; fitError: number; mapped: number };
    assert.equal(fp.kind, 'procrustes');
    assert.equal(fp.pairs, 30);
    assert.ok(fp.fitError < 1e-4, `the rotation is recovered (fit error ${fp.fitError})`);
    assert.equal(fp.mapped, 10);
    assert.equal(done.result!['switched'], true);

    const after = await lookup(app, ids);
    assert.equal(after.body.spaceVersion, 2);
    assert.equal(after.body.embeddings.length, ids.length);
    for (const e of after.body.embeddings) assert.ok(e.kind === 'cold' || e.kind === 'refined', `${e.id} is ${e.kind}`);
    // the events sent while version 2 was staging are refined into it
    const late = await waitFor(async () => {
      const g = await app.inject({ method: 'GET', url: `/v1/spaces/movies/items/${lateItem.id}/embedding` });
      const e = g.json();
      return e.spaceVersion === 2 && e.interactions >= 10 ? e : null;
    }, 'the late events refined in version 2');
    assert.equal(late.kind, 'refined');
    // the retired version stays readable, pinned
    const old = await lookup(app, ids, 1);
    assert.equal(old.body.spaceVersion, 1);
    assert.equal(old.body.embeddings.length, ids.length);
    const space = (await app.inject({ method: 'GET', url: '/v1/spaces/movies' })).json();
    assert.deepEqual(
      space.versions.map((v: { version: number; state: string }) => [v.version, v.state]),
      [
        [1, 'retired'],
        [2, 'current'],
      ],
    );
    assert.equal(space.dim, 8);
  });

  await t.test('a retired version takes no vectors', async () => {
    const r = await post(app, '/v1/spaces/movies/users?version=1', { users: w1.users.slice(0, 1) });
    assert.equal(r.statusCode, 409);
    assert.equal(r.json().error, 'version_retired');
  });

  await t.test('DELETE forgets an item in every version, the retired one included', async () => {
    const gone = ids[ids.length - 1]!;
    const r = await app.inject({ method: 'DELETE', url: `/v1/spaces/movies/items/${gone}` });
    assert.equal(r.statusCode, 204);
    assert.deepEqual((await lookup(app, [gone])).body.missing, [gone]);
    assert.deepEqual((await lookup(app, [gone], 1)).body.missing, [gone]);
    ids.pop();
  });

  await t.test('a third version prunes the first (VERSIONS_KEEP_RETIRED=1)', async () => {
    // no body at all, as with `curl -X POST`: the defaults
    const created = await app.inject({ method: 'POST', url: '/v1/spaces/movies/versions' });
    assert.equal(created.statusCode, 201, created.body);
    assert.equal(created.json().version, 3);
    await loadVersion(app, retrained(w1, 11), 3, 30);
    const promoted = await app.inject({ method: 'POST', url: '/v1/spaces/movies/versions/3/promote' });
    assert.equal(promoted.statusCode, 202, promoted.body);
    const { jobId } = promoted.json();
    const j = await completed(app, jobId, 'the promotion of version 3');
    assert.deepEqual(j.result!['pruned'], [1]);
    // API processes learn of the switch by NOTIFY, on its commit: soon after the job completes
    const gone = await waitFor(async () => {
      const x = await lookup(app, ids, 1);
      return x.status === 404 ? x : null;
    }, 'version 1 to be gone');
    assert.equal(gone.body.error, 'version_not_found');
    assert.equal((await lookup(app, ids, 2)).body.spaceVersion, 2);
    const l = await waitFor(async () => {
      const x = await lookup(app, ids);
      return x.body.spaceVersion === 3 ? x : null;
    }, 'lookups from version 3');
    assert.equal(l.body.embeddings.length, ids.length);
    // version 1's data goes with it, right after the switch commits
    await waitFor(async () => {
      const left = await svc.db.query(`SELECT count(*)::int AS n FROM items WHERE space_id = 'movies'`);
      return left.rows[0].n === 0;
    }, "version 1's items to be deleted");
  });

  await t.test('a version of another dimension: a ridge fast path, and float32 answers name the version', async () => {
    assert.equal((await post(app, '/v1/spaces/movies/versions', { dim: 6 })).json().version, 4);
    const w = retrained(w1, 13);
    const cut = {
      ...w,
      users: w.users.map((u) => ({ ...u, vector: u.vector.slice(0, 6) })),
      items: w.items.map((i) => ({ ...i, vector: i.vector.slice(0, 6) })),
    };
    await loadVersion(app, cut, 4, 30);
    const { jobId } = (await post(app, '/v1/spaces/movies/versions/4/promote', {})).json();
    const j = await completed(app, jobId, 'the promotion of version 4');
    assert.equal((j.result!['fastPath'] as { kind: string }).kind, 'ridge');
    const r = await waitFor(async () => {
      const x = await app.inject({
        method: 'POST',
        url: '/v1/spaces/movies/embeddings/lookup',
        headers: { accept: 'application/octet-stream' },
        payload: { ids },
      });
      return x.headers['x-emerflow-space-version'] === '4' ? x : null;
    }, 'float32 lookups from version 4');
    assert.equal(r.headers['x-emerflow-dim'], '6');
    assert.equal(r.rawPayload.length, ids.length * 6 * 4);
    assert.equal((await app.inject({ method: 'GET', url: '/v1/spaces/movies' })).json().dim, 6);
  });

  await t.test('at most VERSIONS_MAX_STAGING staging versions (2); a staging version can be given up', async () => {
    assert.equal((await post(app, '/v1/spaces/movies/versions', {})).json().version, 5);
    assert.equal((await post(app, '/v1/spaces/movies/versions', {})).json().version, 6);
    const third = await post(app, '/v1/spaces/movies/versions', {});
    assert.equal(third.statusCode, 409);
    assert.equal(third.json().error, 'too_many_staging');
    assert.equal((await app.inject({ method: 'DELETE', url: '/v1/spaces/movies/versions/6' })).statusCode, 204);
    const current = await app.inject({ method: 'DELETE', url: '/v1/spaces/movies/versions/4' });
    assert.equal(current.statusCode, 409);
    assert.equal(current.json().error, 'not_staging');
    assert.equal((await app.inject({ method: 'DELETE', url: '/v1/spaces/movies/versions/6' })).statusCode, 404);
    const space = (await app.inject({ method: 'GET', url: '/v1/spaces/movies' })).json();
    assert.deepEqual(
      space.versions.map((v: { version: number }) => v.version),
      [3, 4, 5],
    );
    const left = await svc.db.query(`SELECT count(*)::int AS n FROM spaces WHERE id = 'movies@v6'`);
    assert.equal(left.rows[0].n, 0, "version 6's own row and data are gone");
  });
});
