// The outbox's rules, one at a time, against a real Postgres: claims in batches, leases that
// start with the job, generations that coalesce and never lose a request, retry with backoff,
// parking, and recovery of expired leases.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createPool, type Db } from '../../src/db/pool.js';
import { migrate } from '../../src/db/migrate.js';
import {
  claimDue,
  enqueueTasks,
  failJob,
  finishJob,
  getTask,
  parkTasks,
  releaseExpiredLeases,
  startJob,
  unparkTasks,
} from '../../src/db/tasks.js';
import { defer, freshDatabase } from '../support/service.js';

async function db(t: TestContext): Promise<Db> {
  const pool = createPool(await freshDatabase(t), { max: 4 });
  defer(t, () => pool.end());
  await migrate(pool);
  return pool;
}

const ask = (d: Db, ...items: string[]) =>
  enqueueTasks(
    d,
    'refine',
    items.map((i) => ({ key: `s/${i}`, payload: { space: 's', item: i } })),
  );

test('due tasks are claimed into jobs of the batch size, each task once', async (t) => {
  const d = await db(t);
  await ask(d, 'a', 'b', 'c');
  const jobs = await claimDue(d, 'refine', 10, 2, 'refine-x');
  assert.deepEqual([...jobs.values()].map((l) => l.length).sort(), [1, 2]);
  assert.deepEqual([...jobs.keys()].sort(), ['refine-x-0', 'refine-x-1']);
  assert.equal((await claimDue(d, 'refine', 10, 2, 'refine-y')).size, 0, 'dispatched tasks are not claimed again');
});

test('a request while the job waits is read by that job when it starts: no second dispatch', async (t) => {
  const d = await db(t);
  await ask(d, 'a');
  const [jobId] = [...(await claimDue(d, 'refine', 10, 10, 'j')).keys()];
  await ask(d, 'a'); // more events arrive while the job waits in Redis
  assert.equal((await claimDue(d, 'refine', 10, 10, 'k')).size, 0);
  const started = await startJob(d, jobId!, 60_000);
  assert.deepEqual(
    started.map((s) => [s.key, s.gen]),
    [['s/a', 2]],
  );
  assert.equal(await finishJob(d, 'refine', jobId!, started), 1);
  assert.equal(await getTask(d, 'refine', 's/a'), null);
});

test('a request while the job runs survives it: the task is released at its new generation, not deleted', async (t) => {
  const d = await db(t);
  await ask(d, 'a', 'b');
  const [jobId] = [...(await claimDue(d, 'refine', 10, 10, 'j')).keys()];
  const started = await startJob(d, jobId!, 60_000);
  await ask(d, 'a'); // arrives after the job read gen 1
  assert.equal(await finishJob(d, 'refine', jobId!, started), 1, 'only b is done');
  const a = await getTask(d, 'refine', 's/a');
  assert.equal(a?.gen, 2);
  assert.equal(a?.jobId, null, 'released');
  const again = await claimDue(d, 'refine', 10, 10, 'k');
  assert.deepEqual(
    [...again.values()].flat().map((x) => [x.key, x.gen]),
    [['s/a', 2]],
  );
});

test('a job takes only the tasks still assigned to it', async (t) => {
  const d = await db(t);
  await ask(d, 'a');
  const [first] = [...(await claimDue(d, 'refine', 10, 10, 'j')).keys()];
  // its worker died before starting and the task went to another job meanwhile
  await d.query(`UPDATE tasks SET job_id = 'other'`);
  assert.deepEqual(await startJob(d, first!, 60_000), []);
});

test('a failed job backs off, and is parked as dead after the last attempt', async (t) => {
  const d = await db(t);
  await ask(d, 'a');
  for (let attempt = 1; attempt <= 3; attempt++) {
    const jobs = await claimDue(d, 'refine', 10, 10, `j${attempt}`);
    const [jobId] = [...jobs.keys()];
    assert.ok(jobId, `attempt ${attempt} is due`);
    await startJob(d, jobId, 60_000);
    const dead = await failJob(d, jobId, 'boom', { maxAttempts: 3, delayMs: 0 });
    assert.deepEqual(dead, attempt === 3 ? ['s/a'] : []);
    const row = await d.query('SELECT attempts, last_error, job_id FROM tasks');
    assert.deepEqual(row.rows[0], { attempts: attempt, last_error: 'boom', job_id: null });
  }
  assert.equal((await claimDue(d, 'refine', 10, 10, 'late')).size, 0, 'dead tasks are not dispatched');
  await ask(d, 'a'); // asked again: it starts afresh
  assert.equal((await claimDue(d, 'refine', 10, 10, 'fresh')).size, 1);
});

test('the default backoff puts a failed task in the future', async (t) => {
  const d = await db(t);
  await ask(d, 'a');
  const [jobId] = [...(await claimDue(d, 'refine', 10, 10, 'j')).keys()];
  await startJob(d, jobId!, 60_000);
  await failJob(d, jobId!, 'boom', { maxAttempts: 5 });
  const r = await d.query<{ later: boolean }>('SELECT not_before > now() AS later FROM tasks');
  assert.equal(r.rows[0]?.later, true);
  assert.equal((await claimDue(d, 'refine', 10, 10, 'k')).size, 0);
});

test('parked tasks wait for their event, not for time', async (t) => {
  const d = await db(t);
  await enqueueTasks(d, 'embed', [
    { key: 's/a', payload: { space: 's', item: 'a' } },
    { key: 'z/a', payload: { space: 'z', item: 'a' } },
  ]);
  const [jobId] = [...(await claimDue(d, 'embed', 10, 10, 'j')).keys()];
  const started = await startJob(d, jobId!, 60_000);
  await parkTasks(
    d,
    'embed',
    jobId!,
    started.map((s) => s.key),
    'no model',
  );
  assert.equal((await claimDue(d, 'embed', 10, 10, 'k')).size, 0);
  assert.equal(await unparkTasks(d, 'embed', 's', 'no model'), 1, 'only the space whose model came');
  const due = await claimDue(d, 'embed', 10, 10, 'm');
  assert.deepEqual(
    [...due.values()].flat().map((x) => x.key),
    ['s/a'],
  );
});

test('a started task whose lease ran out is released; one still leased is not', async (t) => {
  const d = await db(t);
  await ask(d, 'a', 'b');
  const jobs = await claimDue(d, 'refine', 10, 1, 'j');
  const [ja, jb] = [...jobs.keys()].sort();
  await startJob(d, ja!, -1000); // a lease that already ran out: its worker is gone
  await startJob(d, jb!, 60_000);
  assert.equal(await releaseExpiredLeases(d), 1);
  const again = await claimDue(d, 'refine', 10, 10, 'k');
  assert.equal([...again.values()].flat().length, 1);
});
