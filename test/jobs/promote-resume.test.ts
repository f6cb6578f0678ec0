// A promotion survives its worker: the workers as separate processes, the worker SIGKILLed
// while the promotion migrates emerging items, another worker started. The promotion's task
// lease runs out, the task is dispatched again, and the new worker resumes it from what
// Postgres holds (the fast path is not redone) to the switch. The API runs in this process:
// only workers are killed here, and a process of its own would only add its start-up.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { freePort } from '../../src/dev/postgres.js';
import { createPool } from '../../src/db/pool.js';
import { makeWorld } from '../support/fixtures.js';
import { HttpClient } from '../support/http-client.js';
import { poll, seedSpaceOverHttp } from '../support/http-space.js';
import { ServiceProcesses } from '../support/processes.js';
import { defer, freshDatabase, listenOnLoopback, startTestService, TEST_ADMIN_KEY } from '../support/service.js';

const SPACE = 'resume';
// Enough that the migration, one item a job, is still running when the test sees it start and
// kills its worker (the test checks that the kill came before the end, so too few fails loudly).
const EMERGING = 50;

test('a worker killed during a promotion: another one resumes it to the switch', { timeout: 300_000 }, async (t) => {
  const dbUrl = await freshDatabase(t);
  // What the API and the workers must agree on: the queues, and one item a job so that the
  // migration lasts long enough to be interrupted (one job at a time, the promotion polling often).
  const shared = { QUEUE_PREFIX: `resume${crypto.randomBytes(4).toString('hex')}`, EMBED_BATCH: '1', TASK_LEASE_MS: '3000' };
  const api = await startTestService(t, { ...shared, ROLE: 'api' }, { databaseUrl: dbUrl, prefix: shared.QUEUE_PREFIX });
  const http = new HttpClient(await listenOnLoopback(api.http), TEST_ADMIN_KEY);
  // a worker listens too (/healthz, /readyz, /metrics); worker-2 starts once worker-1 is gone
  const workerPort = String(await freePort());
  const procs = new ServiceProcesses(
    {
      ...shared,
      DATABASE_URL: dbUrl,
      REDIS_URL: process.env['REDIS_URL']!,
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      TRAIN_PRESET: 'quick',
      ADMIN_API_KEY: TEST_ADMIN_KEY,
      WORKER_CONCURRENCY: '1',
      PROMOTE_POLL_MS: '50',
    },
    { maxLogChars: 60_000, t0: Date.now() },
  );
  // (defer runs last-registered first: the workers stop before the API closes and the database goes)
  defer(t, async () => {
    http.close();
    await procs.stopAll();
  });
  try {
    procs.start('worker-1', { ROLE: 'worker', PORT: workerPort });
    const world = makeWorld({ dim: 8, users: 40, items: 30 + EMERGING, seed: 3 });
    await seedSpaceOverHttp(http, { space: SPACE, world, established: 30 });
    const emerging = world.items.slice(30).map((i) => ({ id: i.id, features: i.features }));
    assert.equal((await http.post(`/v1/spaces/${SPACE}/items`, { items: emerging })).status, 202);
    await poll(
      async () => (await http.post(`/v1/spaces/${SPACE}/embeddings/lookup`, { ids: emerging.map((i) => i.id) })).body.missing?.length === 0,
      'cold embeddings in version 1',
      { timeoutMs: 120_000 },
    );

    assert.equal((await http.post(`/v1/spaces/${SPACE}/versions`, {})).status, 201);
    const users = await http.post(`/v1/spaces/${SPACE}/users?version=2`, { users: world.users });
    assert.equal(users.status, 200);
    const established = world.items.slice(0, 30).map((i) => ({ id: i.id, features: i.features, embedding: i.vector.map((x) => -x) }));
    assert.equal((await http.post(`/v1/spaces/${SPACE}/items?version=2`, { items: established })).status, 202);
    const { jobId } = (await http.post(`/v1/spaces/${SPACE}/versions/2/promote`, {})).body as { jobId: string };

    const job = async () =>
      (await http.get(`/v1/jobs/${jobId}`)).body as { state: string; progress: { phase: string }; result: Record<string, unknown> };
    const migrating = await poll(
      async () => {
        const j = await job();
        return j.progress.phase === 'migrating' ? j : null;
      },
      'the promotion to migrate',
      { timeoutMs: 120_000, everyMs: 50 },
    );
    const fastPath = migrating.result['fastPath'];
    await procs.kill('worker-1', 'SIGKILL');
    procs.note('worker-1 killed while migrating');
    // No worker runs now, so nothing can finish the promotion before worker-2: done already would
    // mean the kill came after the end, and this test would prove no resumption.
    const interrupted = await job();
    assert.notEqual(interrupted.state, 'completed', `worker-1 had finished the promotion before its kill: ${JSON.stringify(interrupted)}`);
    t.diagnostic(`worker-1 killed at ${JSON.stringify(interrupted.progress)}`);
    procs.start('worker-2', { ROLE: 'worker', PORT: workerPort });

    const done = await poll(
      async () => {
        const j = await job();
        if (j.state === 'failed') throw new Error(`promotion failed: ${JSON.stringify(j)}`);
        return j.state === 'completed' ? j : null;
      },
      'the promotion to complete on worker-2',
      { timeoutMs: 180_000 },
    );
    assert.equal(done.result['switched'], true);
    assert.deepEqual(done.result['fastPath'], fastPath, 'the fast path ran once');
    assert.equal(done.result['migrated'], EMERGING);
    const l = (await http.post(`/v1/spaces/${SPACE}/embeddings/lookup`, { ids: emerging.map((i) => i.id) })).body as {
      spaceVersion: number;
      missing: string[];
      embeddings: { kind: string }[];
    };
    assert.equal(l.spaceVersion, 2);
    assert.deepEqual(l.missing, []);
    assert.ok(l.embeddings.every((e) => e.kind === 'cold' || e.kind === 'refined'));
    assert.deepEqual(procs.unexpectedExits, []);
  } catch (err) {
    console.error(procs.output());
    const db = createPool(dbUrl, { max: 1 });
    const tasks = await db.query(
      `SELECT queue, count(*)::int AS n, count(*) FILTER (WHERE dispatched_at IS NULL)::int AS undispatched,
         count(*) FILTER (WHERE parked IS NOT NULL)::int AS parked, count(*) FILTER (WHERE dead_at IS NOT NULL)::int AS dead,
         min(last_error) AS error, min(job_id) AS job, min(started_at)::text AS started, min(lease_until)::text AS lease,
         max(dispatches) AS dispatches FROM tasks GROUP BY queue`,
    );
    const runs = await db.query('SELECT kind, space_id, state, progress, error FROM train_runs ORDER BY created_at');
    const items = await db.query('SELECT space_id, state, count(*)::int AS n FROM items GROUP BY 1, 2 ORDER BY 1, 2');
    console.error(JSON.stringify({ tasks: tasks.rows, runs: runs.rows, items: items.rows }, null, 1));
    await db.end();
    throw err;
  }
});
