// The outbox: work to do, recorded in the same transaction as the data that caused it.
// docs/DESIGN.md ("Tasks") states the life of a row: due → dispatched (in a job) →
// started (leased) → done (deleted), or released, failed with backoff, parked, dead.
import type { Queryable } from './pool.js';

export const TASKS_CHANNEL = 'emerflow_tasks';

/**
 * Every statement that changes several task rows locks them first in (queue, key) order —
 * the order enqueueTasks writes them in — so that two of them (a request bumping tasks, a
 * job finishing its own) can never each hold a row the other waits for.
 */
const locked = (where: string) =>
  `WITH l AS (SELECT queue, key FROM tasks WHERE ${where} ORDER BY queue COLLATE "C", key COLLATE "C" FOR UPDATE) `;
const LOCKED = 'FROM l WHERE t.queue = l.queue AND t.key = l.key';

/**
 * What asking again for pending work does (shared by every statement that writes tasks):
 * a new generation, due now — but a task already due keeps its place in line, so a hot
 * item asked for again and again is not pushed behind everything else forever.
 */
export const ASK_AGAIN = `ON CONFLICT (queue, key) DO UPDATE SET gen = tasks.gen + 1, payload = EXCLUDED.payload,
  not_before = least(tasks.not_before, now()), attempts = 0, dead_at = NULL, last_error = NULL, parked = NULL`;

export interface ClaimedTask {
  queue: string;
  key: string;
  gen: number;
  attempts: number;
  payload: Record<string, unknown>;
}

/**
 * Records work for each key. Asking again for work not yet done bumps `gen` and makes it
 * due (keeping its place if it already was); a dispatch already in flight is kept: a job that has not started yet will read
 * the newest gen when it does, and one that is running releases the task when it ends.
 * Keys are written in byte order (COLLATE "C"), the one order every task statement locks rows in.
 */
export async function enqueueTasks(
  db: Queryable,
  queue: string,
  tasks: { key: string; payload: Record<string, unknown> }[],
): Promise<void> {
  if (tasks.length === 0) return;
  const byKey = new Map(tasks.map((t) => [t.key, t.payload]));
  const keys = [...byKey.keys()];
  await db.query(
    `INSERT INTO tasks (queue, key, payload)
     SELECT $1, t.key, t.payload FROM unnest($2::text[], $3::jsonb[]) AS t(key, payload) ORDER BY t.key COLLATE "C"
     ${ASK_AGAIN}`,
    [queue, keys, keys.map((k) => JSON.stringify(byKey.get(k)))],
  );
  // Delivered at commit, so the relay wakes only once the rows are visible.
  await db.query(`SELECT pg_notify($1, $2)`, [TASKS_CHANNEL, queue]);
}

/**
 * Claims up to `limit` due tasks of one queue and assigns them to jobs of `batch` tasks,
 * named `${jobPrefix}-0`, `${jobPrefix}-1`, …; returns them grouped by job id.
 * Due: not dispatched, not parked, not dead, not_before passed (found through tasks_due).
 */
export async function claimDue(
  db: Queryable,
  queue: string,
  limit: number,
  batch: number,
  jobPrefix: string,
): Promise<Map<string, ClaimedTask[]>> {
  const r = await db.query<ClaimedTask & { jobId: string }>(
    `WITH due AS (
       SELECT key FROM tasks
       WHERE queue = $1 AND dispatched_at IS NULL AND dead_at IS NULL AND parked IS NULL AND not_before <= now()
       ORDER BY not_before LIMIT $2 FOR UPDATE SKIP LOCKED),
     numbered AS (SELECT key, (row_number() OVER () - 1) / $3 AS b FROM due)
     UPDATE tasks t SET dispatched_at = now(), dispatches = t.dispatches + 1, job_id = $4 || '-' || n.b,
       started_at = NULL, lease_until = NULL
     FROM numbered n WHERE t.queue = $1 AND t.key = n.key
     RETURNING t.queue, t.key, t.gen, t.attempts, t.payload, t.job_id AS "jobId"`,
    [queue, limit, batch, jobPrefix],
  );
  const out = new Map<string, ClaimedTask[]>();
  for (const { jobId, ...task } of r.rows) {
    const list = out.get(jobId);
    if (list) list.push(task);
    else out.set(jobId, [task]);
  }
  return out;
}

/** Gives back the tasks of these jobs (dispatch failed, job lost, job ended): due again at once. */
export async function releaseJobs(db: Queryable, jobIds: string[]): Promise<number> {
  if (jobIds.length === 0) return 0;
  const r = await db.query(
    `${locked('job_id = ANY($1::text[])')}
     UPDATE tasks t SET dispatched_at = NULL, job_id = NULL, started_at = NULL, lease_until = NULL ${LOCKED}`,
    [jobIds],
  );
  return r.rowCount ?? 0;
}

/**
 * A job starts: it takes the tasks still assigned to it and their lease starts now.
 * Tasks done meanwhile are gone; tasks released and dispatched again belong to another job.
 */
export async function startJob(db: Queryable, jobId: string, leaseMs: number): Promise<ClaimedTask[]> {
  const r = await db.query<ClaimedTask>(
    `${locked('job_id = $1 AND dead_at IS NULL')}
     UPDATE tasks t SET started_at = now(), lease_until = now() + make_interval(secs => $2::float8 / 1000) ${LOCKED}
     RETURNING t.queue, t.key, t.gen, t.attempts, t.payload`,
    [jobId, leaseMs],
  );
  return r.rows.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/** A running job renews the lease of the tasks it holds. */
export async function renewLease(db: Queryable, jobId: string, leaseMs: number): Promise<void> {
  await db.query(
    `${locked('job_id = $1 AND started_at IS NOT NULL')}
     UPDATE tasks t SET lease_until = now() + make_interval(secs => $2::float8 / 1000) ${LOCKED}`,
    [jobId, leaseMs],
  );
}

/** Done: deletes each listed task at the gen the job read; one requested again meanwhile stays. */
export async function completeTasks(db: Queryable, queue: string, jobId: string, done: { key: string; gen: number }[]): Promise<number> {
  if (done.length === 0) return 0;
  const r = await db.query(
    `WITH l AS (SELECT t.queue, t.key FROM tasks t JOIN unnest($3::text[], $4::int[]) AS d(key, gen) ON t.key = d.key AND t.gen = d.gen
                WHERE t.queue = $1 AND t.job_id = $2 ORDER BY t.queue COLLATE "C", t.key COLLATE "C" FOR UPDATE OF t)
     DELETE FROM tasks t USING l WHERE t.queue = l.queue AND t.key = l.key`,
    [queue, jobId, done.map((d) => d.key), done.map((d) => d.gen)],
  );
  return r.rowCount ?? 0;
}

/**
 * The job ends: completes `done` (see completeTasks), and releases every task the job still
 * holds — those requested again while it ran — to be dispatched again. Returns how many were done.
 */
export async function finishJob(db: Queryable, queue: string, jobId: string, done: { key: string; gen: number }[]): Promise<number> {
  const n = await completeTasks(db, queue, jobId, done);
  await releaseJobs(db, [jobId]);
  return n;
}

/** Parks tasks until an event un-parks them (e.g. a model is activated); not retried by time. */
export async function parkTasks(db: Queryable, queue: string, jobId: string, keys: string[], reason: string): Promise<void> {
  if (keys.length === 0) return;
  await db.query(
    `${locked('queue = $1 AND job_id = $2 AND key = ANY($3::text[])')}
     UPDATE tasks t SET parked = $4, dispatched_at = NULL, job_id = NULL, started_at = NULL, lease_until = NULL ${LOCKED}`,
    [queue, jobId, keys, reason],
  );
}

/** Makes parked tasks of a space due again (its model was activated). */
export async function unparkTasks(db: Queryable, queue: string, space: string, reason: string): Promise<number> {
  const r = await db.query(
    `${locked(`queue = $1 AND parked = $3 AND payload->>'space' = $2`)}
     UPDATE tasks t SET parked = NULL, not_before = now() ${LOCKED}`,
    [queue, space, reason],
  );
  if (r.rowCount) await db.query(`SELECT pg_notify($1, $2)`, [TASKS_CHANNEL, queue]);
  return r.rowCount ?? 0;
}

/**
 * Makes due again the tasks of a queue parked with a reason `${prefix}<x>` where x sorts before
 * `upTo` byte-wise: e.g. enrichment parked for a spent budget on a day that is over (ISO dates
 * sort as they count). Found through tasks_parked, so a backlog of other pending work costs nothing.
 */
export async function unparkBefore(db: Queryable, queue: string, prefix: string, upTo: string): Promise<number> {
  const r = await db.query(
    `${locked(`queue = $1 AND parked IS NOT NULL AND starts_with(parked, $2) AND parked COLLATE "C" < ($2 || $3) COLLATE "C"`)}
     UPDATE tasks t SET parked = NULL, not_before = now() ${LOCKED}`,
    [queue, prefix, upTo],
  );
  if (r.rowCount) await db.query(`SELECT pg_notify($1, $2)`, [TASKS_CHANNEL, queue]);
  return r.rowCount ?? 0;
}

/**
 * Failed: each task the job holds is tried again after an exponential backoff with jitter
 * (or the delay asked for), and parked as dead after maxAttempts. A task requested again
 * meanwhile starts its attempts afresh. Returns the keys that are now dead.
 */
export async function failJob(
  db: Queryable,
  jobId: string,
  error: string,
  opts: { maxAttempts: number; delayMs?: number },
): Promise<string[]> {
  const r = await db.query<{ key: string; dead: boolean }>(
    `${locked('job_id = $1')}
     UPDATE tasks t SET attempts = t.attempts + 1, last_error = $2, dispatched_at = NULL, job_id = NULL,
       started_at = NULL, lease_until = NULL,
       not_before = now() + make_interval(secs => coalesce($3::float8, least(600, 2 ^ t.attempts) * (0.5 + random()))),
       dead_at = CASE WHEN t.attempts + 1 >= $4 THEN now() END
     ${LOCKED}
     RETURNING t.key, t.dead_at IS NOT NULL AS dead`,
    [jobId, error.slice(0, 1000), opts.delayMs === undefined ? null : opts.delayMs / 1000, opts.maxAttempts],
  );
  return r.rows.filter((x) => x.dead).map((x) => x.key);
}

/** Drops tasks that are done or superseded without a result to write (e.g. bad payload). */
export async function dropJobTasks(db: Queryable, jobId: string, keys: string[]): Promise<void> {
  if (keys.length === 0) return;
  await db.query(
    `${locked('job_id = $1 AND key = ANY($2::text[])')} DELETE FROM tasks t USING l WHERE t.queue = l.queue AND t.key = l.key`,
    [jobId, keys],
  );
}

/** Started tasks whose lease ran out (the worker is gone): released to be dispatched again. */
export async function releaseExpiredLeases(db: Queryable): Promise<number> {
  const r = await db.query(
    `${locked('dispatched_at IS NOT NULL AND started_at IS NOT NULL AND lease_until < now()')}
     UPDATE tasks t SET dispatched_at = NULL, job_id = NULL, started_at = NULL, lease_until = NULL ${LOCKED}`,
  );
  return r.rowCount ?? 0;
}

/** Jobs dispatched at least `olderThanMs` ago whose tasks have not started: waiting, or lost by Redis. */
export async function unstartedJobs(db: Queryable, olderThanMs: number, limit: number): Promise<{ queue: string; jobId: string }[]> {
  const r = await db.query<{ queue: string; jobId: string }>(
    `SELECT DISTINCT queue, job_id AS "jobId" FROM tasks
     WHERE dispatched_at IS NOT NULL AND dispatched_at < now() - make_interval(secs => $1::float8 / 1000) AND started_at IS NULL
     LIMIT $2`,
    [olderThanMs, limit],
  );
  return r.rows;
}

/** Still waiting in Redis: check again later. */
export async function touchDispatch(db: Queryable, jobIds: string[]): Promise<void> {
  if (jobIds.length === 0) return;
  await db.query(`${locked('job_id = ANY($1::text[]) AND started_at IS NULL')} UPDATE tasks t SET dispatched_at = now() ${LOCKED}`, [
    jobIds,
  ]);
}

export async function getTask(
  db: Queryable,
  queue: string,
  key: string,
): Promise<(ClaimedTask & { dispatches: number; parked: string | null; jobId: string | null }) | null> {
  const r = await db.query<ClaimedTask & { dispatches: number; parked: string | null; jobId: string | null }>(
    'SELECT queue, key, payload, gen, dispatches, attempts, parked, job_id AS "jobId" FROM tasks WHERE queue = $1 AND key = $2',
    [queue, key],
  );
  return r.rows[0] ?? null;
}

export async function taskStats(db: Queryable): Promise<{ queue: string; pending: number; dead: number; parked: number }[]> {
  const r = await db.query<{ queue: string; pending: number; dead: number; parked: number }>(
    `SELECT queue, count(*) FILTER (WHERE dead_at IS NULL)::int AS pending, count(*) FILTER (WHERE dead_at IS NOT NULL)::int AS dead,
       count(*) FILTER (WHERE parked IS NOT NULL)::int AS parked
     FROM tasks GROUP BY queue`,
  );
  return r.rows;
}

/** Drops pending work (a job already running finds its task gone: a no-op). */
export async function dropTasks(db: Queryable, tasks: { queue: string; key: string }[]): Promise<void> {
  if (tasks.length === 0) return;
  await db.query(
    `WITH l AS (SELECT t.queue, t.key FROM tasks t
                JOIN unnest($1::text[], $2::text[]) AS d(queue, key) ON t.queue = d.queue AND t.key = d.key
                ORDER BY t.queue COLLATE "C", t.key COLLATE "C" FOR UPDATE OF t)
     DELETE FROM tasks t USING l WHERE t.queue = l.queue AND t.key = l.key`,
    [tasks.map((t) => t.queue), tasks.map((t) => t.key)],
  );
}

export interface QueueBacklog {
  pending: number;
  parked: number;
  dead: number;
  /** Seconds since the oldest pending task was first asked for (null: none pending). */
  oldestAgeS: number | null;
}
export const ITEM_QUEUES = ['enrich', 'embed', 'refine'] as const;

/**
 * The item work one (physical) space has waiting, per queue: how far behind its embeddings
 * are. A task's created_at stays put while it is asked for again, so the oldest is the
 * longest any item has waited. One statement, keyed like dropSpaceTasks (`<space>/<item>`).
 */
export async function spaceBacklog(db: Queryable, physical: string): Promise<Record<(typeof ITEM_QUEUES)[number], QueueBacklog>> {
  const r = await db.query<QueueBacklog & { queue: string }>(
    `SELECT queue, count(*) FILTER (WHERE dead_at IS NULL)::int AS pending,
       count(*) FILTER (WHERE dead_at IS NULL AND parked IS NOT NULL)::int AS parked,
       count(*) FILTER (WHERE dead_at IS NOT NULL)::int AS dead,
       extract(epoch FROM now() - min(created_at) FILTER (WHERE dead_at IS NULL))::float8 AS "oldestAgeS"
     FROM tasks WHERE queue = ANY($2::text[]) AND starts_with(key, $1 || '/') GROUP BY queue`,
    [physical, ITEM_QUEUES],
  );
  const empty = (): QueueBacklog => ({ pending: 0, parked: 0, dead: 0, oldestAgeS: null });
  const out = { enrich: empty(), embed: empty(), refine: empty() };
  for (const { queue, ...b } of r.rows) if (queue in out) out[queue as keyof typeof out] = b;
  return out;
}
