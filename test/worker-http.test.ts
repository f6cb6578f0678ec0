// A worker-only process (ROLE=worker) listens too: /healthz and /readyz open (the images'
// HEALTHCHECK), /metrics for a key with the `metrics` or `admin` scope (what only workers
// count: jobs, the LLM, refinement), every other path 404 in the one error shape.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../src/dev/postgres.js';
import { ServiceProcesses } from './support/processes.js';
import { defer, freshDatabase, startTestService, TEST_ADMIN_KEY, waitFor, type TestService } from './support/service.js';
import { post } from './support/space.js';

const bearer = (key: string | null) => ({ authorization: key === null ? '' : `Bearer ${key}` });

async function makeKey(api: TestService, scopes: string[]): Promise<string> {
  const r = await post(api.app!, '/v1/keys', { scopes });
  assert.equal(r.statusCode, 201, r.body);
  return (r.json() as { key: string }).key;
}

test('a worker serves /healthz, /readyz and /metrics with the API keys and scopes, and nothing else', async (t) => {
  const databaseUrl = await freshDatabase(t);
  const api = await startTestService(t, { ROLE: 'api' }, { databaseUrl });
  const worker = await startTestService(t, { ROLE: 'worker' }, { databaseUrl });
  assert.equal(worker.app, null, 'no API in a worker-only process');
  const get = (url: string, key: string | null) => worker.http.inject({ method: 'GET', url, headers: bearer(key) });

  assert.equal((await get('/healthz', null)).statusCode, 200);
  assert.deepEqual((await get('/healthz', null)).json(), { status: 'ok' });
  const ready = await get('/readyz', null);
  assert.equal(ready.statusCode, 200);
  assert.equal(ready.json().status, 'ready');
  assert.equal(ready.json().backend.split(' ')[0], worker.backend.name);

  const read = await makeKey(api, ['read']);
  const metrics = await makeKey(api, ['metrics']);
  // made by the API; the worker knows them from its next reload of the keys in force (every 2 s)
  await waitFor(async () => (await get('/metrics', metrics)).statusCode === 200, 'the worker to know the new keys', 10_000);
  const none = await get('/metrics', null);
  assert.equal(none.statusCode, 401);
  assert.equal(none.json().error, 'unauthorized');
  const readOnly = await get('/metrics', read);
  assert.equal(readOnly.statusCode, 403);
  assert.deepEqual(readOnly.json(), { error: 'forbidden', message: 'this key lacks the "metrics" scope' });
  const scraped = await get('/metrics', metrics);
  assert.match(scraped.headers['content-type'] as string, /^text\/plain/);
  assert.match(scraped.body, new RegExp(`^emerflow_tensor_backend\\{backend="${worker.backend.name}"\\} 1$`, 'm'));
  assert.match(scraped.body, /^emerflow_process_process_resident_memory_bytes \d/m);
  assert.equal((await get('/metrics', TEST_ADMIN_KEY)).statusCode, 200, 'admin may too');

  // Nothing of the API: 404 in the one error shape; an unknown /v1 path, as on the API, only
  // once the caller is known.
  const spaces = await get('/v1/spaces', read);
  assert.equal(spaces.statusCode, 404);
  assert.deepEqual(spaces.json(), { error: 'not_found', message: 'no route GET /v1/spaces' });
  assert.equal((await get('/v1/spaces', null)).statusCode, 401);
  const write = await worker.http.inject({ method: 'POST', url: '/v1/spaces', payload: { id: 's', dim: 2, itemType: 'x', scorer: 'dot' } });
  assert.equal(write.statusCode, 404, 'with the admin key');
  for (const url of ['/docs', '/openapi.json', '/ui', '/']) {
    const r = await get(url, null);
    assert.equal(r.statusCode, 404, url);
    assert.equal(r.json().error, 'not_found', url);
  }
});

test('a worker makes no bootstrap admin key: the file is for whoever runs the API', async (t) => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'emerflow-worker-'));
  defer(t, () => fs.rmSync(dataDir, { recursive: true, force: true }));
  const worker = await startTestService(t, { ROLE: 'worker', ADMIN_API_KEY: '', DATA_DIR: dataDir });
  assert.equal(fs.existsSync(path.join(dataDir, 'admin-api-key')), false);
  assert.equal((await worker.db.query<{ n: number }>('SELECT count(*)::int AS n FROM api_keys')).rows[0]!.n, 0);
  assert.equal((await worker.http.inject({ method: 'GET', url: '/metrics', headers: bearer(null) })).statusCode, 401);
});

test('ROLE=worker as a process: listens on PORT, passes the HEALTHCHECK, exports what only workers count', async (t) => {
  const databaseUrl = await freshDatabase(t);
  const prefix = `w${crypto.randomBytes(4).toString('hex')}`;
  // The API in this process; the worker in its own, so each has its own metrics registry (as in
  // a deployment). No worker runs in this process, so its registry has no job counted.
  const api = await startTestService(t, { ROLE: 'api' }, { databaseUrl, prefix });
  const port = await freePort();
  const procs = new ServiceProcesses(
    {
      DATABASE_URL: databaseUrl,
      REDIS_URL: process.env['REDIS_URL']!,
      QUEUE_PREFIX: prefix,
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      ADMIN_API_KEY: TEST_ADMIN_KEY,
    },
    { maxRestarts: 0 },
  );
  defer(t, () => procs.stopAll());
  procs.start('worker', { ROLE: 'worker', PORT: String(port) });
  const base = `http://127.0.0.1:${port}`;
  await waitFor(async () => (await fetch(`${base}/healthz`).catch(() => null))?.ok, 'the worker to listen', 90_000).catch((err: Error) => {
    throw new Error(`${err.message}; output:\n${procs.output().slice(-3000)}`);
  });

  // the images' own health check, run as Docker runs it
  for (const file of ['Dockerfile', 'docker/gpu.Dockerfile']) {
    const m = /^HEALTHCHECK .* CMD node -e "(.*)"$/m.exec(fs.readFileSync(file, 'utf8'));
    assert.ok(m, `${file} has a node HEALTHCHECK`);
    await promisify(execFile)(process.execPath, ['-e', m[1]!], { env: { ...process.env, PORT: String(port) }, timeout: 10_000 });
  }

  const scrape = async () => {
    const r = await fetch(`${base}/metrics`, { headers: bearer(TEST_ADMIN_KEY) });
    assert.equal(r.status, 200);
    return r.text();
  };
  assert.equal((await fetch(`${base}/metrics`)).status, 401);
  // The API's registry is this process's, where other tests' workers may have counted jobs: what
  // must not change is its job counters while the worker does this test's work.
  const apiScrape = async () => (await api.app!.inject({ method: 'GET', url: '/metrics' })).body;
  const jobCounters = (body: string) => body.split('\n').filter((l) => l.startsWith('emerflow_jobs_total{'));
  const apiJobsBefore = jobCounters(await apiScrape());
  // work for the worker: items with no model yet (their embed jobs park them)
  assert.equal((await post(api.app!, '/v1/spaces', { id: 's', dim: 2, itemType: 'song', scorer: 'dot' })).statusCode, 201);
  assert.equal((await post(api.app!, '/v1/spaces/s/items', { items: [{ id: 'a', features: { title: 'A' } }] })).statusCode, 202);
  const sample = /^emerflow_jobs_total\{queue="embed",outcome="completed"\} [1-9]/m;
  const workerMetrics = await waitFor(async () => {
    const body = await scrape();
    return sample.test(body) ? body : null;
  }, 'the worker to count its embed job');
  const apiMetrics = await apiScrape();
  assert.deepEqual(jobCounters(apiMetrics), apiJobsBefore, 'the API runs no job');
  // Figures read from Postgres, and the API's own, come from the API only: no copies per worker.
  for (const name of [
    'emerflow_tasks_pending',
    'emerflow_lookup_cache_entries',
    'emerflow_quality_auc',
    'emerflow_http_request_duration_seconds',
  ]) {
    assert.match(apiMetrics, new RegExp(`^# TYPE ${name} `, 'm'), `the API exports ${name}`);
    assert.doesNotMatch(workerMetrics, new RegExp(`^# TYPE ${name} `, 'm'), `a worker does not export ${name}`);
  }
  assert.equal(procs.unexpectedExits.length, 0, procs.output().slice(-3000));
});
