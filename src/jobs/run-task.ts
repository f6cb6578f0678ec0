// The shared life of a job: take the tasks assigned to it (its lease starts now), check
// their payloads, run the step, then complete what it read (gen-guarded) and release the
// rest; on failure record the attempt and backoff in Postgres — the one retry layer for
// tasks. docs/DESIGN.md ("Tasks", "Leases") has the states.
import { UnrecoverableError, type Job } from 'bullmq';
import type { Logger } from 'pino';
import { completeTasks, dropJobTasks, failJob, finishJob, parkTasks, renewLease, startJob, type ClaimedTask } from '../db/tasks.js';
import type { Queryable } from '../db/pool.js';
import type { JobDeps } from './deps.js';
import { payloadCheckers, type JobData, type Payloads, type QueueName } from './queues.js';
import { tasksDone } from './metrics.js';

export interface Task<Q extends QueueName> {
  key: string;
  gen: number;
  attempts: number;
  payload: Payloads[Q];
}

export interface JobContext<Q extends QueueName> {
  jobId: string;
  tasks: Task<Q>[];
  log: Logger;
  /** The first request id among the tasks: follow-up work carries it. */
  requestId: string | undefined;
  /** Completes these tasks (those requested again meanwhile are released instead); call it in the write's transaction. */
  complete(tx: Queryable, tasks: Task<Q>[]): Promise<void>;
  /** Parks these tasks until an event wakes them (e.g. a model is activated). */
  park(tx: Queryable, tasks: Task<Q>[], reason: string): Promise<void>;
}

/** An error that retrying cannot fix (bad input): the tasks are dropped, the job fails once. */
export class PermanentError extends Error {}

/** An error that says when to try again (e.g. an LLM's Retry-After). */
export class RetryLater extends Error {
  constructor(
    message: string,
    readonly delayMs?: number,
  ) {
    super(message);
  }
}

export interface ProcessorHooks<Q extends QueueName> {
  /** After a failure is recorded: `dead` are the keys parked for good. */
  onFailed?(tasks: Task<Q>[], err: Error, dead: string[]): Promise<void>;
}

export function taskProcessor<Q extends QueueName>(
  queue: Q,
  deps: JobDeps,
  fn: (ctx: JobContext<Q>) => Promise<Record<string, unknown> | void>,
  hooks: ProcessorHooks<Q> = {},
) {
  return async (job: Job<JobData>): Promise<unknown> => {
    const jobId = job.id;
    if (!jobId || job.data?.queue !== queue)
      throw new UnrecoverableError(`invalid ${queue} job: ${JSON.stringify(job.data)?.slice(0, 200)}`);
    const leaseMs = deps.config.TASK_LEASE_MS;
    const claimed = await startJob(deps.db, jobId, leaseMs);
    if (claimed.length === 0) return { skipped: 'no tasks (done, or dispatched again elsewhere)' };
    const { tasks, bad } = checkPayloads(queue, claimed);
    const requestId = tasks.find((t) => t.payload.requestId)?.payload.requestId;
    const log = deps.log.child({ queue, jobId, tasks: tasks.length, requestId });
    if (bad.length) {
      log.error({ keys: bad.map((t) => t.key) }, 'tasks with an invalid payload dropped');
      await dropJobTasks(
        deps.db,
        jobId,
        bad.map((t) => t.key),
      );
    }
    if (tasks.length === 0) throw new UnrecoverableError('every task of the job had an invalid payload');
    const handled = new Set<string>();
    const ctx: JobContext<Q> = {
      jobId,
      tasks,
      log,
      requestId,
      async complete(tx, list) {
        const n = await completeTasks(tx, queue, jobId, list);
        for (const t of list) handled.add(t.key);
        tasksDone.inc({ queue }, n);
      },
      async park(tx, list, reason) {
        await parkTasks(
          tx,
          queue,
          jobId,
          list.map((t) => t.key),
          reason,
        );
        for (const t of list) handled.add(t.key);
      },
    };
    // Renew the lease while running: only a task whose worker is gone is dispatched again.
    const heartbeat = setInterval(
      () => {
        renewLease(deps.db, jobId, leaseMs).catch((err: Error) =>
          log.warn({ err: err.message }, 'lease renewal failed; the task may be dispatched again'),
        );
      },
      Math.max(250, leaseMs / 3),
    );
    try {
      const result = await fn(ctx);
      // What the step did not complete or park itself is done now; the rest is released.
      const rest = tasks.filter((t) => !handled.has(t.key));
      const n = await finishJob(deps.db, queue, jobId, rest);
      tasksDone.inc({ queue }, n);
      return result ?? { ok: true };
    } catch (err) {
      const e = err as Error;
      if (e instanceof PermanentError) {
        log.warn({ err: e.message }, 'tasks failed permanently');
        await dropJobTasks(
          deps.db,
          jobId,
          tasks.filter((t) => !handled.has(t.key)).map((t) => t.key),
        );
        await hooks.onFailed?.(
          tasks,
          e,
          tasks.map((t) => t.key),
        );
        throw new UnrecoverableError(e.message);
      }
      log.warn({ err: e.message }, 'job failed; its tasks will be retried from Postgres');
      const dead = await failJob(deps.db, jobId, e.message, {
        maxAttempts: deps.config.TASK_MAX_ATTEMPTS,
        ...(e instanceof RetryLater && e.delayMs !== undefined ? { delayMs: e.delayMs } : {}),
      });
      await hooks.onFailed?.(tasks, e, dead);
      throw err;
    } finally {
      clearInterval(heartbeat);
    }
  };
}

function checkPayloads<Q extends QueueName>(queue: Q, claimed: ClaimedTask[]): { tasks: Task<Q>[]; bad: ClaimedTask[] } {
  const check = payloadCheckers[queue];
  const tasks: Task<Q>[] = [];
  const bad: ClaimedTask[] = [];
  for (const c of claimed) {
    if (check.Check(c.payload)) tasks.push({ key: c.key, gen: c.gen, attempts: c.attempts, payload: c.payload as Payloads[Q] });
    else bad.push(c);
  }
  return { tasks, bad };
}
