// Postgres is the source of truth: work recorded while Redis is down, or dispatched
// to a Redis that then lost it, or left by a worker that is gone, still completes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { startLocalRedis } from '../../src/dev/redis.js';
import { freePort } from '../../src/dev/postgres.js';
import { defer, freshDatabase, startTestService, waitFor } from '../support/service.js';
import { embeddingOf, post, seedSpace } from '../support/space.js';

test('work recorded while Redis is down completes after it returns', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'emerflow-redis-'));
  defer(t, () => fs.rmSync(dir, { recursive: true, force: true }));
  const port = await freePort();
  let redis = await startLocalRedis(dir, { port });
  defer(t, () => redis.stop());
  const svc = await startTestService(t, { REDIS_URL: redis.url });
  const app = svc.app!;
  const world = await seedSpace(app);

  await redis.stop();
  const fresh = world.items[36]!;
  const res = await post(app, '/v1/spaces/movies/items', { items: [{ id: fresh.id, features: fresh.features }] });
  assert.equal(res.statusCode, 202, 'ingestion must not need Redis');
  const ev = await post(app, '/v1/spaces/movies/interactions', { events: [{ id: 'down-1', userId: 'u1', itemId: fresh.id, label: 1 }] });
  assert.equal(ev.statusCode, 202);
  const ready = await app.inject({ method: 'GET', url: '/readyz' });
  assert.equal(ready.statusCode, 200, 'still ready: writes work without Redis');
  assert.equal(ready.json().status, 'degraded');
  assert.notEqual(ready.json().redis, 'ok');
  const pending = await svc.db.query(`SELECT queue FROM tasks WHERE key = $1 ORDER BY queue`, [`movies/${fresh.id}`]);
  assert.deepEqual(
    pending.rows.map((r) => r.queue),
    ['embed', 'refine'],
  );
  // A relay pass runs while Redis is down: it cannot dispatch, and the tasks stay due in Postgres.
  await svc.relay.pass();
  const due = await svc.db.query(`SELECT queue FROM tasks WHERE key = $1 AND dispatched_at IS NULL AND job_id IS NULL ORDER BY queue`, [
    `movies/${fresh.id}`,
  ]);
  assert.deepEqual(
    due.rows.map((r) => r.queue),
    ['embed', 'refine'],
  );
  assert.equal(await embeddingOf(app, 'movies', fresh.id), null);

  redis = await startLocalRedis(dir, { port });
  const e = await waitFor(
    async () => {
      const x = await embeddingOf(app, 'movies', fresh.id);
      return x?.kind === 'refined' ? x : null;
    },
    'the item to be embedded and refined after Redis returned',
    30_000,
  );
  assert.equal(e.interactions, 1);
  // the embed step refined already; the refine task finds nothing newer and completes
  await waitFor(
    async () => (await svc.db.query(`SELECT 1 FROM tasks WHERE key = $1`, [`movies/${fresh.id}`])).rowCount === 0,
    'no work left for the item',
  );
});

test('jobs lost from Redis, or left by an absent worker, are dispatched again and done', async (t) => {
  const databaseUrl = await freshDatabase(t);
  const prefix = `rec${Date.now()}`;
  // A full service trains the model, then goes away.
  const trainer = await startTestService(t, {}, { databaseUrl, prefix });
  const world = await seedSpace(trainer.app!);
  await trainer.close();

  // An API-only process accepts an item; its relay dispatches the job, but no worker runs.
  const api = await startTestService(t, { ROLE: 'api' }, { databaseUrl, prefix });
  const fresh = world.items[37]!;
  assert.equal((await post(api.app!, '/v1/spaces/movies/items', { items: [{ id: fresh.id, features: fresh.features }] })).statusCode, 202);
  await waitFor(
    async () => (await api.db.query(`SELECT 1 FROM tasks WHERE queue = 'embed' AND dispatched_at IS NOT NULL`)).rowCount,
    'dispatch',
  );
  // Redis loses everything (a failover without persistence, a FLUSHALL by mistake).
  const r = new Redis(process.env['REDIS_URL']!);
  const keys = await r.keys(`${prefix}:*`);
  assert.ok(keys.length > 0, 'the job was in Redis');
  await r.del(...keys);
  r.disconnect();

  // A worker starts later: the task's lease runs out, the relay dispatches it again.
  const worker = await startTestService(t, { ROLE: 'worker' }, { databaseUrl, prefix });
  assert.equal(worker.app, null);
  const e = await waitFor(() => embeddingOf(api.app!, 'movies', fresh.id), 'the lost job to be redone', 30_000);
  assert.equal(e.kind, 'cold');
  const tasks = await api.db.query(`SELECT dispatches FROM tasks WHERE key = $1`, [`movies/${fresh.id}`]);
  assert.equal(tasks.rowCount, 0);
});
