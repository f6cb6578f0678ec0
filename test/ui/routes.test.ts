// What the dashboard reads and is served from, without a browser: GET /v1/spaces lists the
// spaces a key may see, a space's view carries its backlog, GET …/jobs lists its runs, and
// /ui serves its files with their types, a strict CSP and revalidation, and nothing else.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startTestService } from '../support/service.js';
import { post, seedSpace } from '../support/space.js';
import { makeWorld } from '../support/fixtures.js';
import { UI_DIR } from '../../src/ui/routes.js';

const as = (key: string) => ({ authorization: key === '' ? '' : `Bearer ${key}` });

test('dashboard routes: spaces by key, backlog, jobs, and the /ui files', async (t) => {
  // No workers: the work the writes ask for stays pending, so the backlog can be counted.
  const svc = await startTestService(t, { ROLE: 'api' });
  const app = svc.app!;
  const world = makeWorld({ dim: 8, users: 20, items: 36 });
  await seedSpace(app, { world, train: false });
  assert.equal((await post(app, '/v1/spaces', { id: 'other', dim: 4, itemType: 'book', scorer: 'dot' })).statusCode, 201);
  const key = async (body: object) => (await post(app, '/v1/keys', body)).json() as { id: string; key: string };

  await t.test('GET /v1/spaces: every space for an unlimited key, only its own for a limited one, 403 without read', async () => {
    const all = await app.inject({ method: 'GET', url: '/v1/spaces' });
    assert.equal(all.statusCode, 200, all.body);
    const spaces = all.json().spaces as { id: string; dim: number; itemType: string; currentVersion: number; createdAt: string }[];
    assert.deepEqual(
      spaces.map((s) => [s.id, s.dim, s.itemType, s.currentVersion]),
      [
        ['movies', 8, 'movie', 1],
        ['other', 4, 'book', 1],
      ],
    );
    assert.ok(!Number.isNaN(Date.parse(spaces[0]!.createdAt)));
    const limited = await key({ scopes: ['read'], spaces: ['other', 'not-made-yet'] });
    const mine = await app.inject({ method: 'GET', url: '/v1/spaces', headers: as(limited.key) });
    assert.deepEqual(
      mine.json().spaces.map((s: { id: string }) => s.id),
      ['other'],
    );
    for (const url of ['/v1/spaces', '/v1/spaces/movies/jobs'])
      assert.equal((await app.inject({ method: 'GET', url, headers: as('') })).statusCode, 401, url);
    const writer = await key({ scopes: ['write'] });
    assert.equal((await app.inject({ method: 'GET', url: '/v1/spaces', headers: as(writer.key) })).statusCode, 403);
  });

  await t.test("a space's view: the current version's pending work per queue, and how long the oldest has waited", async () => {
    const emerging = world.items.slice(30).map((i) => ({ id: i.id, features: i.features }));
    assert.equal((await post(app, '/v1/spaces/movies/items', { items: emerging })).statusCode, 202);
    const v = (await app.inject({ method: 'GET', url: '/v1/spaces/movies' })).json();
    assert.deepEqual(Object.keys(v.backlog).sort(), ['embed', 'enrich', 'refine']);
    const pending = Object.values(v.backlog as Record<string, { pending: number; dead: number; oldestAgeS: number | null }>);
    assert.ok(pending.reduce((a, b) => a + b.pending, 0) >= emerging.length, JSON.stringify(v.backlog));
    for (const b of pending) {
      assert.equal(b.dead, 0);
      if (b.pending > 0) assert.ok(typeof b.oldestAgeS === 'number' && b.oldestAgeS >= 0, JSON.stringify(b));
      else assert.equal(b.oldestAgeS, null);
    }
    // another space's work is not counted
    const other = (await app.inject({ method: 'GET', url: '/v1/spaces/other' })).json();
    assert.equal(other.backlog.embed.pending + other.backlog.enrich.pending + other.backlog.refine.pending, 0);
  });

  await t.test('GET /v1/spaces/:space/jobs: newest first, with the space version, within the limit', async () => {
    const empty = await app.inject({ method: 'GET', url: '/v1/spaces/other/jobs' });
    assert.deepEqual(empty.json(), { jobs: [] });
    const { jobId } = (await post(app, '/v1/spaces/movies/train', {})).json();
    const staging = await post(app, '/v1/spaces/movies/versions', {});
    assert.equal(staging.statusCode, 201);
    const v2 = await post(app, '/v1/spaces/movies/train?version=2', {});
    assert.equal(v2.statusCode, 202, v2.body);
    const { jobs } = (await app.inject({ method: 'GET', url: '/v1/spaces/movies/jobs' })).json();
    assert.deepEqual(
      jobs.map((j: { id: string; kind: string; space: string; spaceVersion: number; state: string }) => [
        j.id,
        j.kind,
        j.space,
        j.spaceVersion,
        j.state,
      ]),
      [
        [v2.json().jobId, 'train', 'movies', 2, 'queued'],
        [jobId, 'train', 'movies', 1, 'queued'],
      ],
    );
    const one = (await app.inject({ method: 'GET', url: '/v1/spaces/movies/jobs?limit=1' })).json();
    assert.equal(one.jobs.length, 1);
    // each entry is what GET /v1/jobs/:id answers, plus its version
    const single = (await app.inject({ method: 'GET', url: `/v1/jobs/${jobs[1].id}` })).json();
    assert.deepEqual({ ...jobs[1], spaceVersion: undefined }, { ...single, spaceVersion: undefined });
    for (const limit of ['0', '101', 'x', '-1', '1.5'])
      assert.equal((await app.inject({ method: 'GET', url: `/v1/spaces/movies/jobs?limit=${limit}` })).statusCode, 400, limit);
    assert.equal((await app.inject({ method: 'GET', url: '/v1/spaces/nope/jobs' })).statusCode, 404);
    const limited = await key({ scopes: ['read'], spaces: ['other'] });
    assert.equal((await app.inject({ method: 'GET', url: '/v1/spaces/movies/jobs', headers: as(limited.key) })).statusCode, 404);
  });

  await t.test('/ui: no key needed; types, CSP, no inline script, ETag revalidation; only its own files', async () => {
    const page = await app.inject({ method: 'GET', url: '/ui', headers: as('') });
    assert.equal(page.statusCode, 200);
    assert.equal(page.headers['content-type'], 'text/html; charset=utf-8');
    const csp = String(page.headers['content-security-policy']);
    for (const d of ["default-src 'none'", "script-src 'self'", "style-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"])
      assert.ok(csp.includes(d), `${d} in ${csp}`);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    assert.equal(page.headers['x-content-type-options'], 'nosniff');
    assert.equal(page.headers['cache-control'], 'no-cache');
    assert.match(page.body, /<label for="api-key">API key<\/label>/);
    assert.doesNotMatch(page.body, /<script(?![^>]*\bsrc=)[^>]*>/, 'no inline script');
    assert.doesNotMatch(page.body, /\son[a-z]+=/i, 'no inline event handler');
    assert.doesNotMatch(page.body, /\sstyle=/i, 'no inline style');
    assert.equal((await app.inject({ method: 'GET', url: '/ui/', headers: as('') })).body, page.body);
    // every file the page names is served, with its type
    const refs = [...page.body.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    assert.ok(refs.length >= 3, refs.join(' '));
    const types: Record<string, RegExp> = { '.js': /^text\/javascript/, '.css': /^text\/css/, '.svg': /^image\/svg\+xml/ };
    for (const ref of refs) {
      assert.match(ref, /^\/ui\//, 'same-origin, absolute paths');
      const r = await app.inject({ method: 'GET', url: ref, headers: as('') });
      assert.equal(r.statusCode, 200, ref);
      assert.match(String(r.headers['content-type']), types[path.extname(ref)]!, ref);
    }
    // the modules the page imports are there too
    for (const f of fs.readdirSync(UI_DIR).filter((n) => n.endsWith('.js'))) {
      const r = await app.inject({ method: 'GET', url: `/ui/${f}`, headers: as('') });
      assert.equal(r.statusCode, 200, f);
      for (const m of r.body.matchAll(/^import .* from '\.\/([^']+)';$/gm))
        assert.equal((await app.inject({ method: 'GET', url: `/ui/${m[1]}`, headers: as('') })).statusCode, 200, `${f} imports ${m[1]}`);
    }
    const js = await app.inject({ method: 'GET', url: '/ui/app.js', headers: as('') });
    const etag = String(js.headers['etag']);
    const again = await app.inject({ method: 'GET', url: '/ui/app.js', headers: { ...as(''), 'if-none-match': etag } });
    assert.equal(again.statusCode, 304);
    assert.equal(again.body, '');
    for (const url of [
      '/ui/nope.js',
      '/ui/..%2Fpackage.json',
      '/ui/../package.json',
      '/ui/%2e%2e/routes.ts',
      '/ui/static/app.js',
      '/ui/routes.ts',
    ])
      assert.equal((await app.inject({ method: 'GET', url, headers: as('') })).statusCode, 404, url);
  });
});
