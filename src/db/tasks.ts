// The outbox: work to do, recorded in the same transaction as the data that caused it.
// See migrations/001_init.sql for the meaning of gen, dispatches and not_before.
import type { Queryable } from './pool.js';

export const TASKS_CHANNEL = 'emerflow_tasks';

export interface TaskRow { queue: string; key: string; payload: Record<string, unknown>; gen: number; dispatches: number; attempts: number }

/**
 * Records work for each key. Asking again for work not yet done bumps `gen`, which
 * coalesces requests: the relay dispatches the newest gen and older jobs skip.
 */
export async function enqueueTasks(db: Queryable, queue: string, tasks: { key: string; payload: Record<string, unknown> }[]): Promise<void> {
  if (tasks.length === 0) return;
  await db.query(
    `INSERT INTO tasks (queue, key, payload)
     SELECT $1, t.key, t.payload FROM unnest($2::text[], $3::jsonb[]) AS t(key, payload)
     ON CONFLICT (queue, key) DO UPDATE SET gen = tasks.gen + 1, payload = EXCLUDED.payload, dispatched_at = NULL,
       not_before = now(), attempts = 0, dead_at = NULL, last_error = NULL`,
    [queue, tasks.map((t) => t.key), tasks.map((t) => JSON.stringify(t.payload))],
  );
  // Delivered at commit, so the relay wakes only once the rows are visible.
  await db.query(`SELECT pg_notify($1, $2)`, [TASKS_CHANNEL, queue]);
}

/**
 * Claims tasks due for dispatch: never dispatched, or dispatched longer than `leaseMs`
 * ago and still not done (lost Redis, killed worker). Bumps `dispatches` so that the
 * BullMQ job id is new and cannot collide with a job Redis still remembers.
 */
export async function claimDue(db: Queryable, leaseMs: number, limit: number): Promise<TaskRow[]> {
  const r = await db.query<TaskRow>(
    `UPDATE tasks t SET dispatched_at = now(), dispatches = t.dispatches + 1
     FROM (SELECT queue, key FROM tasks
           WHERE dead_at IS NULL AND not_before <= now()
             AND (dispatched_at IS NULL OR dispatched_at < now() - make_interval(secs => $1::float8 / 1000))
           ORDER BY not_before LIMIT $2 FOR UPDATE SKIP LOCKED) due
     WHERE t.queue = due.queue AND t.key = due.key
     RETURNING t.queue, t.key, t.payload, t.gen, t.dispatches, t.attempts`,
    [leaseMs, limit],
  );
  return r.rows;
}

/** Undoes a claim whose dispatch failed (Redis down), so it is retried at once. */
export async function unclaim(db: Queryable, rows: { queue: string; key: string }[]): Promise<void> {
  if (rows.length === 0) return;
  await db.query(
    `UPDATE tasks t SET dispatched_at = NULL FROM unnest($1::text[], $2::text[]) AS u(queue, key) WHERE t.queue = u.queue AND t.key = u.key`,
    [rows.map((r) => r.queue), rows.map((r) => r.key)],
  );
}

export async function getTask(db: Queryable, queue: string, key: string): Promise<TaskRow | null> {
  const r = await db.query<TaskRow>('SELECT queue, key, payload, gen, dispatches, attempts FROM tasks WHERE queue = $1 AND key = $2', [queue, key]);
  return r.rows[0] ?? null;
}

/** A running task renews its lease, so a long job (training) is not dispatched twice. */
export async function touchTask(db: Queryable, queue: string, key: string, gen: number): Promise<void> {
  await db.query('UPDATE tasks SET dispatched_at = now() WHERE queue = $1 AND key = $2 AND gen = $3 AND dispatched_at IS NOT NULL', [queue, key, gen]);
}

/** Done: removes the task unless it was requested again meanwhile (gen moved on). */
export async function completeTask(db: Queryable, queue: string, key: string, gen: number): Promise<void> {
  await db.query('DELETE FROM tasks WHERE queue = $1 AND key = $2 AND gen = $3', [queue, key, gen]);
}

/** Failed: try again after an exponential backoff (or the delay asked for); park it after maxAttempts. */
export async function failTask(db: Queryable, queue: string, key: string, gen: number, error: string, opts: { maxAttempts: number; delayMs?: number }): Promise<void> {
  await db.query(
    `UPDATE tasks SET attempts = attempts + 1, last_error = $4, dispatched_at = NULL,
       not_before = now() + make_interval(secs => coalesce($5::float8, least(600, 2 ^ attempts) * (0.5 + random())) ),
       dead_at = CASE WHEN attempts + 1 >= $6 THEN now() END
     WHERE queue = $1 AND key = $2 AND gen = $3`,
    [queue, key, gen, error.slice(0, 1000), opts.delayMs === undefined ? null : opts.delayMs / 1000, opts.maxAttempts],
  );
}

export async function taskStats(db: Queryable): Promise<{ queue: string; pending: number; dead: number }[]> {
  const r = await db.query<{ queue: string; pending: number; dead: number }>(
    `SELECT queue, count(*) FILTER (WHERE dead_at IS NULL)::int AS pending, count(*) FILTER (WHERE dead_at IS NOT NULL)::int AS dead FROM tasks GROUP BY queue`,
  );
  return r.rows;
}

/** Drops pending work (a job already running finds its task gone and its item missing: a no-op). */
export async function dropTasks(db: Queryable, tasks: { queue: string; key: string }[]): Promise<void> {
  if (tasks.length === 0) return;
  await db.query(
    `DELETE FROM tasks t USING unnest($1::text[], $2::text[]) AS d(queue, key) WHERE t.queue = d.queue AND t.key = d.key`,
    [tasks.map((t) => t.queue), tasks.map((t) => t.key)],
  );
}
