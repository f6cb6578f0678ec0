// The relay's LISTEN connection can die (Postgres restarts, a proxy cuts idle connections). It must
// listen again by itself: with a long poll, only notifications get work to Redis quickly.
// A lingering queue is dispatched at most once per linger: what is asked for meanwhile fills one job.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import pino from 'pino';
import { createPool } from '../../src/db/pool.js';
import { migrate } from '../../src/db/migrate.js';
import { enqueueTasks } from '../../src/db/tasks.js';
import { createQueues } from '../../src/jobs/queues.js';
import { OutboxRelay, type RelayOptions } from '../../src/jobs/relay.js';
import { defer, freshDatabase, waitFor } from '../support/service.js';

/** A relay on a fresh database and its own queues, with a poll far longer than any test. */
async function startRelay(t: TestContext, opts: Partial<RelayOptions>) {
  const db = createPool(await freshDatabase(t), { max: 4 });
  defer(t, () => db.end());
  await migrate(db);
  const redis = new Redis(process.env['REDIS_URL']!, { maxRetriesPerRequest: null });
  defer(t, () => {
    redis.disconnect();
  });
  const queues = createQueues(redis, `relay${Date.now()}`, pino({ level: 'silent' }));
  defer(t, async () => {
    for (const q of Object.values(queues)) await q.close();
  });
  const relay = new OutboxRelay(db, queues, pino({ level: 'silent' }), {
    batch: { embed: 10, refine: 10, enrich: 1, train: 1, promote: 1 },
    maxWaitingJobs: 100,
    pollMs: 600_000,
    ...opts,
  });
  await relay.start();
  defer(t, () => relay.stop());
  return { db, queues, relay };
}

test('the relay listens again after its LISTEN connection is killed, and notifications work again', async (t) => {
  // a poll far longer than the test: anything dispatched quickly came through a notification
  const { db, queues, relay } = await startRelay(t, { relistenMs: 100 });

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

async function relayWithLinger(t: TestContext, lingerMs: number) {
  const { db, relay } = await startRelay(t, { lingerMs: { refine: lingerMs } });
  const jobOf = async (key: string) =>
    (await db.query<{ job_id: string | null }>(`SELECT job_id FROM tasks WHERE key = $1`, [key])).rows[0]?.job_id ?? null;
  const ask = (queue: 'refine' | 'embed', key: string) => enqueueTasks(db, queue, [{ key, payload: { space: 'a', item: key } }]);
  return { relay, jobOf, ask };
}

test('a lingering queue: tasks asked for within the linger of a pass wait for it, and then go in one job', async (t) => {
  const { relay, jobOf, ask } = await relayWithLinger(t, 600_000);
  await ask('refine', 'a/1');
  // a pass on demand does not linger; it dispatches a/1 and the linger starts again
  await relay.pass();
  assert.ok(await jobOf('a/1'));
  await ask('refine', 'a/2');
  await ask('refine', 'a/3');
  // Committed after them, so the relay has had their notifications by the time it dispatches
  // this one (notifications arrive in commit order; embed does not linger).
  await ask('embed', 'marker');
  await waitFor(() => jobOf('marker'), 'the embed task dispatched on NOTIFY', 5_000);
  assert.equal(await jobOf('a/2'), null, 'asked for within the linger: not dispatched yet');
  assert.equal(await jobOf('a/3'), null);
  await relay.pass();
  const [j2, j3] = [await jobOf('a/2'), await jobOf('a/3')];
  assert.ok(j2, 'dispatched by the pass');
  assert.equal(j3, j2, 'both in one job');
  assert.notEqual(j2, await jobOf('a/1'));
});

test('a lingering queue is dispatched when its linger ends, without a poll or another notification', async (t) => {
  const { relay, jobOf, ask } = await relayWithLinger(t, 4_000);
  await ask('refine', 'a/1');
  await relay.pass(); // the linger starts now
  assert.ok(await jobOf('a/1'));
  await ask('refine', 'a/2');
  await ask('embed', 'marker');
  await waitFor(() => jobOf('marker'), 'the embed task dispatched on NOTIFY', 5_000);
  assert.equal(await jobOf('a/2'), null, 'its notification came within the linger: put off');
  await waitFor(() => jobOf('a/2'), 'the refine task dispatched by the wake-up the linger put off', 15_000);
});
