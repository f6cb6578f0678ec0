// Starts one BullMQ worker per queue in this process (ROLE=worker or all).
// Worker connections block on Redis, so they use maxRetriesPerRequest: null.
import { Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import type { JobDeps } from './deps.js';
import { embedProcessor } from './embed.js';
import { enrichProcessor } from './enrich.js';
import { refineProcessor } from './refine.js';
import { trainProcessor } from './train.js';
import { promoteProcessor } from './promote.js';
import type { QueueName } from './queues.js';
import { jobCounter } from './metrics.js';

export interface Workers {
  close(): Promise<void>;
}

/**
 * `onJobDone` lets this process's relay dispatch more of that queue as soon as a job frees a
 * slot in it, or gave back tasks asked for again while it ran (work for other queues that a job
 * causes is NOTIFYed by the transaction that records it).
 */
export function startWorkers(deps: JobDeps, redisUrl: string, prefix: string, onJobDone: (queue: QueueName) => void = () => {}): Workers {
  const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
  // Reconnection is automatic; the listener keeps ioredis from printing every failed attempt.
  connection.on('error', (err) => deps.log.debug({ err: err.message }, 'worker Redis connection error'));
  const c = deps.config;
  const specs: { name: QueueName; fn: (job: Job) => Promise<unknown>; concurrency: number; lockDuration?: number }[] = [
    { name: 'embed', fn: embedProcessor(deps), concurrency: c.WORKER_CONCURRENCY },
    { name: 'refine', fn: refineProcessor(deps), concurrency: c.WORKER_CONCURRENCY },
    { name: 'enrich', fn: enrichProcessor(deps), concurrency: c.LLM_CONCURRENCY },
    // Training is long; it runs in a thread, so the lock keeps renewing.
    { name: 'train', fn: trainProcessor(deps), concurrency: 1, lockDuration: 120_000 },
    // A promotion waits on the training and the migration it asked for; one at a time.
    { name: 'promote', fn: promoteProcessor(deps), concurrency: 1, lockDuration: 120_000 },
  ];
  const workers = specs.map((s) => {
    const w = new Worker(s.name, s.fn, {
      connection,
      prefix,
      concurrency: s.concurrency,
      ...(s.lockDuration ? { lockDuration: s.lockDuration } : {}),
    });
    w.on('completed', () => {
      jobCounter.inc({ queue: s.name, outcome: 'completed' });
      onJobDone(s.name);
    });
    w.on('failed', (job, err) => {
      jobCounter.inc({ queue: s.name, outcome: 'failed' });
      onJobDone(s.name);
      deps.log.warn({ queue: s.name, jobId: job?.id, err: err.message }, 'job failed');
    });
    w.on('error', (err) => deps.log.warn({ queue: s.name, err: err.message }, 'worker error'));
    return w;
  });
  return {
    // Graceful: lets in-flight jobs finish, then disconnects. If Redis is unreachable
    // the graceful close cannot complete, so it is forced after a deadline; an
    // unfinished task stays in Postgres and is dispatched again.
    async close() {
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<'timeout'>((r) => {
        timer = setTimeout(() => r('timeout'), 30_000);
      });
      const graceful = await Promise.race([Promise.all(workers.map((w) => w.close())), deadline]);
      clearTimeout(timer);
      if (graceful === 'timeout') {
        await Promise.all(
          workers.map((w) => w.close(true).catch((err: Error) => deps.log.debug({ err: err.message }, 'forced close failed'))),
        );
      }
      connection.disconnect();
    },
  };
}
