// The dashboard in a real browser (Debian's Chromium, driven by playwright-core) against a real
// service: a space with a trained model, emerging items and scored events; the page asks for
// the key, shows the space, its states, backlog, the quality chart, models, versions and jobs,
// refreshes by itself, sends the key only as a bearer token to this origin's /v1, keeps it in
// sessionStorage alone, and asks for it again once it is refused. No console error, no failed
// request. UPDATE_SCREENSHOT=1 writes docs/dashboard.png.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Page } from 'playwright-core';
import { startTestService, TEST_ADMIN_KEY, waitFor, defer, listenOnLoopback } from '../support/service.js';
import { embeddingOf, post, seedSpace } from '../support/space.js';
import { makeWorld } from '../support/fixtures.js';
import { REPO_ROOT } from '../support/processes.js';

const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
const MISSING = fs.existsSync(CHROMIUM)
  ? null
  : `no Chromium at ${CHROMIUM}: install Debian's (as root: apt-get update && apt-get install -y chromium; .ci/run does) ` +
    'or point CHROMIUM_PATH at one';
const EMERGING = 12;
const ROUND = 20; // events per emerging item per round: two rounds fill the cold, 1-20 and 21-40 buckets

/** Everything that went wrong in the page: console errors and warnings, uncaught errors, failed or refused requests. */
function watch(page: Page, origin: string) {
  const problems: string[] = [];
  const requests: { url: string; method: string; authorization: string | undefined }[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('requestfailed', (r) => {
    // a refresh superseded by a newer one is aborted on purpose
    if (r.failure()?.errorText !== 'net::ERR_ABORTED') problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`);
  });
  page.on('response', (r) => {
    if (r.status() >= 400) problems.push(`${r.status()} ${r.request().method()} ${r.url()}`);
  });
  page.on('request', (r) => requests.push({ url: r.url(), method: r.method(), authorization: r.headers()['authorization'] }));
  return {
    problems,
    requests,
    /** Requests that left this origin, or carried a key anywhere but /v1, or no key to /v1. */
    strays: () =>
      requests.filter((r) => {
        const u = new URL(r.url);
        if (u.origin !== origin) return true;
        if (u.pathname.startsWith('/v1/')) return r.method !== 'GET' || !/^Bearer \S+$/.test(r.authorization ?? '');
        return r.authorization !== undefined;
      }),
  };
}

const rowsOf = (page: Page, table: string) =>
  page.locator(`#${table} tbody tr`).evaluateAll((trs) => trs.map((tr) => [...tr.children].map((c) => (c.textContent ?? '').trim())));

test(
  'dashboard in Chromium: key, space, states, backlog, quality chart, models, versions, jobs',
  {
    skip: MISSING !== null && !process.env['CI'] ? MISSING : false,
    timeout: 240_000,
  },
  async (t) => {
    // Under CI a missing browser is a failure: the test must not pass by not running.
    if (MISSING) assert.fail(MISSING);
    const svc = await startTestService(t, { QUALITY_POLL_MS: '50' });
    const app = svc.app!;
    const world = makeWorld({ dim: 8, users: 60, items: 30 + EMERGING, seed: 5 });
    await seedSpace(app, { world, established: 30 });
    const emerging = world.items.slice(30);
    assert.equal(
      (await post(app, '/v1/spaces/movies/items', { items: emerging.map((i) => ({ id: i.id, features: i.features })) })).statusCode,
      202,
    );
    for (const it of emerging) await waitFor(() => embeddingOf(app, 'movies', it.id), `a cold embedding of ${it.id}`);
    // Two rounds, the second scored with what refinement made of the first: served and cold differ.
    for (let round = 0; round < 2; round++) {
      const events = emerging.flatMap((it, j) =>
        Array.from({ length: ROUND }, (_, k) => {
          const u = (j * 11 + round * ROUND + k) % world.users.length;
          return {
            id: `d-${it.id}-${round}-${k}`,
            userId: world.users[u]!.id,
            itemId: it.id,
            label: world.label(u, 30 + j),
            ts: new Date(Date.UTC(2026, 2, 1, round, j, k)).toISOString(),
          };
        }),
      );
      assert.equal((await post(app, '/v1/spaces/movies/interactions', { events })).statusCode, 202);
      for (const it of emerging)
        await waitFor(async () => {
          const e = await embeddingOf(app, 'movies', it.id);
          return e?.kind === 'refined' && e.interactions === (round + 1) * ROUND;
        }, `${it.id} refined on round ${round}`);
    }
    await waitFor(async () => {
      const q = (await app.inject({ method: 'GET', url: '/v1/spaces/movies/quality' })).json();
      return q.pending === 0 && q.buckets.filter((b: { auc: number | null }) => b.auc !== null).length >= 3;
    }, 'the quality monitor to score both rounds');

    const origin = await listenOnLoopback(app);
    // As root (CI containers) Chromium's sandbox cannot start; the page is our own.
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: process.getuid?.() === 0 ? ['--no-sandbox'] : [] });
    defer(t, () => browser.close());
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 }, locale: 'en-US' });
    const seen = watch(page, origin);

    await page.goto(`${origin}/ui`);
    await page.getByLabel('API key', { exact: true }).fill(TEST_ADMIN_KEY);
    await page.getByRole('button', { name: 'Use key' }).click();
    await page.locator('#space-title', { hasText: 'movies' }).waitFor();

    await t.test('the space: its list entry, summary and items per state', async () => {
      assert.match(await page.getByRole('button', { name: /movies/ }).innerText(), /movie · dim 8 · v1/);
      assert.match(await page.locator('#space-summary').innerText(), /serving version 1 · model 1/);
      const states = new Map((await rowsOf(page, 'states')).map((r) => [r[0], r[1]]));
      assert.equal(states.get('established'), '30');
      const emergingShown = ['received', 'enriched', 'cold', 'warming'].reduce((a, s) => a + Number(states.get(s)), 0);
      assert.equal(emergingShown, EMERGING);
      assert.equal(states.get('interactions'), (30 * 30 + EMERGING * 2 * ROUND).toLocaleString('en-US'));
      assert.deepEqual(
        (await rowsOf(page, 'backlog')).map((r) => r[0]),
        ['enrich', 'embed', 'refine'],
      );
    });

    await t.test('the quality chart: an svg with served and cold bars per bucket', async () => {
      const chart = page.locator('#quality-chart svg.quality-chart');
      assert.ok((await chart.locator('rect.bar.served').count()) >= 3);
      assert.ok((await chart.locator('rect.bar.cold').count()) >= 3);
      const labels = await chart.locator('text.label').allTextContents();
      assert.deepEqual(labels, ['cold', '1-20', '21-40', '41-60', '61+']);
      assert.match(await page.locator('#quality-summary').innerText(), /^480 events scored .*; 0 waiting to be scored$/);
    });

    await t.test('models, versions and jobs', async () => {
      const models = await rowsOf(page, 'models');
      assert.equal(models.length, 1);
      assert.deepEqual(models[0]!.slice(0, 2), ['1', 'active']);
      assert.match(models[0]!.join(' '), /the first model of this version/);
      const versions = await rowsOf(page, 'versions');
      assert.deepEqual(versions[0]!.slice(0, 4), ['1', 'current', '8', '1']);
      const jobs = await rowsOf(page, 'jobs');
      assert.equal(jobs.length, 1);
      assert.deepEqual(jobs[0]!.slice(1, 4), ['train', '1', 'completed']);
      assert.match(jobs[0]![4]!, /100 % done/);
      assert.match(jobs[0]![5]!, /model 1 activated/);
    });

    await t.test('it refreshes by itself', async () => {
      const next = await page.waitForResponse((r) => r.url().endsWith('/v1/spaces/movies/jobs?limit=10'), { timeout: 20_000 });
      assert.equal(next.status(), 200);
    });

    if (process.env['UPDATE_SCREENSHOT'] === '1') {
      await page.locator('#space-title').scrollIntoViewIfNeeded();
      await page.screenshot({ path: path.join(REPO_ROOT, 'docs', 'dashboard.png'), fullPage: true });
    }

    await t.test('the key: in sessionStorage only, sent only as a bearer token to /v1 of this origin', async () => {
      const stored = await page.evaluate(() => ({ session: sessionStorage.getItem('emerflow.apiKey'), local: localStorage.length }));
      assert.deepEqual(stored, { session: TEST_ADMIN_KEY, local: 0 });
      assert.ok(seen.requests.some((r) => r.url.startsWith(`${origin}/v1/spaces`)));
      assert.deepEqual(seen.strays(), []);
      assert.ok(
        seen.requests.filter((r) => r.url.includes('/v1/')).every((r) => r.authorization === `Bearer ${TEST_ADMIN_KEY}`),
        'the key typed in',
      );
    });

    await t.test('no console error, no failed request', () => {
      assert.deepEqual(seen.problems, []);
    });

    await t.test('a key refused (revoked) sends the page back to the key field, saying why', async () => {
      const made = (await post(app, '/v1/keys', { name: 'dashboard', scopes: ['read'], spaces: ['movies'] })).json();
      await page.getByRole('button', { name: 'Forget key' }).click();
      assert.equal(await page.evaluate(() => sessionStorage.getItem('emerflow.apiKey')), null);
      await page.getByLabel('API key', { exact: true }).fill(made.key);
      await page.getByRole('button', { name: 'Use key' }).click();
      await page.locator('#space-title', { hasText: 'movies' }).waitFor();
      const before = seen.problems.length;
      assert.equal((await app.inject({ method: 'DELETE', url: `/v1/keys/${made.id}` })).statusCode, 204);
      await page.getByLabel('API key', { exact: true }).waitFor({ state: 'visible', timeout: 20_000 });
      assert.match(await page.getByRole('alert').innerText(), /API key was refused/);
      assert.equal(await page.evaluate(() => sessionStorage.getItem('emerflow.apiKey')), null);
      assert.ok(await page.locator('#main').isHidden());
      // the only trouble was the refusal itself: a 401 from /v1, and Chromium's line about it
      const after = seen.problems.slice(before);
      assert.ok(after.length > 0);
      for (const p of after) assert.match(p, /^401 GET .*\/v1\/|^console error: Failed to load resource: .* 401/, p);
    });
  },
);
