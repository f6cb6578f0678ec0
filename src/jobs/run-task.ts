// The shared life of a task's job: skip it if the task is done or superseded (a newer
// gen exists), run it, and on failure record the attempt and backoff in Postgres —
// the one retry layer for tasks. Processors remove the task row themselves, inside
// the transaction that writes their result, via the `done` callback.
import { UnrecoverableError, type Job } from 'bullmq';
import { getTask, failTask, completeTask, touchTask, type TaskRow } from '../db/tasks.js';
import type { Queryable } from '../db/pool.js';
import type { JobDeps } from './deps.js';
import type { JobData, Payloads, QueueName } from './queues.js';

export interface TaskContext<Q extends QueueName> {
  task: TaskRow;
  payload: Payloads[Q];
  job: Job<JobData<Q>>;
  /** Marks the task done; call it inside the transaction that writes the result. */
  done(tx: Queryable): Promise<void>;
}

/** An error that retrying cannot fix (bad input): the task is dropped, the job fails once. */
export class PermanentError extends Error {}

/** An error that says when to try again (e.g. an LLM's Retry-After). */
export class RetryLater extends Error {
  constructor(message: string, readonly delayMs?: number) { super(message); }
}

export function taskProcessor<Q extends QueueName>(queue: Q, deps: JobDeps, fn: (ctx: TaskContext<Q>) => Promise<unknown>) {
  return async (job: Job<JobData<Q>>): Promise<unknown> => {
    const { key, gen } = job.data ?? {};
    if (typeof key !== 'string' || typeof gen !== 'number') throw new UnrecoverableError(`invalid ${queue} job payload`);
    const task = await getTask(deps.db, queue, key);
    if (!task) return { skipped: 'done' };
    if (task.gen !== gen) return { skipped: 'superseded' };
    const log = deps.log.child({ queue, key, jobId: job.id, requestId: (task.payload as { requestId?: string }).requestId });
    // Renew the lease while running: only a task whose worker is gone is dispatched again.
    const heartbeat = setInterval(() => { void touchTask(deps.db, queue, key, gen).catch(() => {}); }, Math.max(250, deps.config.TASK_LEASE_MS / 3));
    try {
      const result = await fn({ task, payload: task.payload as unknown as Payloads[Q], job, done: (tx) => completeTask(tx, queue, key, gen) });
      return result ?? { ok: true };
    } catch (err) {
      const e = err as Error;
      if (e instanceof PermanentError) {
        log.warn({ err: e.message }, 'task failed permanently');
        await completeTask(deps.db, queue, key, gen);
        throw new UnrecoverableError(e.message);
      }
      log.warn({ err: e.message, attempts: task.attempts + 1 }, 'task failed; will retry from Postgres');
      await failTask(deps.db, queue, key, gen, e.message, { maxAttempts: deps.config.TASK_MAX_ATTEMPTS, ...(e instanceof RetryLater && e.delayMs !== undefined ? { delayMs: e.delayMs } : {}) });
      throw err;
    } finally {
      clearInterval(heartbeat);
    }
  };
}
