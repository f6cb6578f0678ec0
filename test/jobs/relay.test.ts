// The relay's LISTEN connection can die (Postgres restarts, a proxy cuts idle connections). It must
// listen again by itself: with a long poll, only notifications get work to Redis quickly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import pino from 'pino';
import { createPool } from '../../src/db/pool.js';
import { migrate } from '../../src/db/migrate.js';
import { enqueueTasks } from '../../src/db/tasks.js';
import { createQueues } from '../../src/jobs/queues.js';
import { OutboxRelay } from '../../src/jobs/relay.js';
import { defer, freshDatabase, waitFor } from '../support/service.js';

test('the relay listens again after its LISTEN connection is killed, and notifications work again', async (t) => {
  const db = createPool(await freshDatabase(t), { max: 4 });
  defer(t, () => db.end());
  await migrate(db);
  const redis = new Redis(process.env['REDIS_URL']!, { maxRetriesPerRequest: null });
  defer(t, () => {
    redis.disconnect();
  });
  const prefix = `relay${Date.now()}`;
  const queues = createQueues(redis, prefix, pino({ level: 'silent' }));
  defer(t, async () => {
    for (const q of Object.values(queues)) await q.close();
  });
  // a poll far longer than the test: anything dispatched quickly came through a notification
  const relay = new OutboxRelay(db, queues, pino({ level: 'silent' }), {
    batch: { embed: 10, refine: 10, enrich: 1, train: 1, promote: 1 },
    maxWaitingJobs: 100,
    pollMs: 600_000,
    relistenMs: 100,
  });
  await relay.start();
  defer(t, () => relay.stop());

  const dispatched = async (key: string) =>
    (await db.query(`SELECT 1 FROM tasks WHERE key = $1 AND dispatched_at IS NOT NULL`, [key])).rowCount;
  const listenerPids = async () =>
    (
      await db.query(
        `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN%' AND pid <> pg_backend_pid()`,
      )
    ).rows.map((r) => r.pid as number);

  await enqueueTasks(db, 'embed', [{ key: 'a/1', payload: { space: 'a', item: '1' } }]);
  await waitFor(() => dispatched('a/1'), 'a task dispatched on NOTIFY', 5_000);

  const [pid] = await listenerPids();
  assert.ok(pid, 'the relay holds a LISTEN connection');
  await db.query('SELECT pg_terminate_backend($1)', [pid]);
  await waitFor(
    async () => {
      const p = await listenerPids();
      return relay.listening && p.length === 1 && p[0] !== pid;
    },
    'a new LISTEN connection',
    10_000,
  );

  await enqueueTasks(db, 'embed', [{ key: 'a/2', payload: { space: 'a', item: '2' } }]);
  await waitFor(() => dispatched('a/2'), 'a task dispatched on NOTIFY after the reconnect', 5_000);
  // each dispatch is a job that names its tasks by id: the rows point at jobs Redis holds
  const jobs = await queues.embed.getJobs(['waiting']);
  const assigned = await db.query<{ key: string; job_id: string }>(`SELECT key, job_id FROM tasks ORDER BY key`);
  assert.deepEqual(
    assigned.rows.map((r) => r.key),
    ['a/1', 'a/2'],
  );
  assert.deepEqual(jobs.map((j) => j.id).sort(), assigned.rows.map((r) => r.job_id).sort());
});
