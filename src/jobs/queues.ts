// The one registry of queues: names, payload types, job defaults and job ids.
import crypto from 'node:crypto';
import { Queue, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';

export const QUEUES = ['enrich', 'embed', 'refine', 'train'] as const;
export type QueueName = (typeof QUEUES)[number];

/**
 * Payloads as stored in tasks.payload; the BullMQ job carries {key, gen, payload}.
 * `requestId` is the HTTP request that last asked for the work, so logs tie a job to it.
 */
interface Traced { requestId?: string }
export interface Payloads {
  enrich: Traced & { space: string; item: string; hash: string; auxHash?: string };
  embed: Traced & { space: string; item: string };
  refine: Traced & { space: string; item: string };
  train: Traced & { space: string; run: string; seed: number };
}
export interface JobData<Q extends QueueName = QueueName> { key: string; gen: number; payload: Payloads[Q] }

export const taskKey = {
  enrich: (space: string, item: string) => `${space}/${item}`,
  embed: (space: string, item: string) => `${space}/${item}`,
  refine: (space: string, item: string) => `${space}/${item}`,
  train: (space: string, run: string) => `${space}/${run}`,
};

/**
 * Retries live in the Postgres task layer (tasks.attempts, not_before), so BullMQ
 * makes one attempt: two retry layers would multiply. Retention is bounded.
 */
export const JOB_DEFAULTS: JobsOptions = {
  attempts: 1,
  removeOnComplete: { count: 1000, age: 3600 },
  removeOnFail: { count: 5000, age: 7 * 24 * 3600 },
};

/** Deterministic, colon-free: the same dispatch of the same task always has the same id. */
export function jobId(queue: QueueName, key: string, gen: number, dispatch: number): string {
  const h = crypto.createHash('sha1').update(key).digest('hex').slice(0, 20);
  return `${queue}-${h}-g${gen}-d${dispatch}`;
}

export function createQueues(connection: Redis, prefix: string): Record<QueueName, Queue> {
  const out = {} as Record<QueueName, Queue>;
  for (const name of QUEUES) {
    out[name] = new Queue(name, { connection, prefix, defaultJobOptions: JOB_DEFAULTS });
    // Failed adds surface as rejected promises in the relay; the event itself needs a listener.
    out[name].on('error', () => {});
  }
  return out;
}
