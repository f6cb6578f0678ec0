// The one registry of queues: names, payload schemas and types, task keys, how many
// tasks one job takes, and the BullMQ job defaults.
import { Queue, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { Type, type Static } from 'typebox';
import { Compile } from 'typebox/compile';

export const QUEUES = ['enrich', 'embed', 'refine', 'train', 'promote'] as const;
export type QueueName = (typeof QUEUES)[number];

// `requestId` is the HTTP request that last asked for the work, so logs tie a job to it.
const Traced = { requestId: Type.Optional(Type.String()) };
const ItemRef = { space: Type.String({ minLength: 1 }), item: Type.String({ minLength: 1 }) };

/** Payloads as stored in tasks.payload, checked when a job takes its tasks. */
export const PayloadSchemas = {
  enrich: Type.Object({ ...Traced, ...ItemRef, hash: Type.String(), auxHash: Type.Optional(Type.String()) }),
  embed: Type.Object({ ...Traced, ...ItemRef }),
  refine: Type.Object({ ...Traced, ...ItemRef }),
  train: Type.Object({
    ...Traced,
    space: Type.String({ minLength: 1 }),
    run: Type.String({ minLength: 1 }),
    seed: Type.Integer({ minimum: 0 }),
  }),
  // a space's version to promote to current; `space` is the space itself (not a physical one)
  promote: Type.Object({
    ...Traced,
    space: Type.String({ minLength: 1 }),
    version: Type.Integer({ minimum: 1 }),
    run: Type.String({ minLength: 1 }),
    seed: Type.Integer({ minimum: 0 }),
  }),
};
export type Payloads = { [Q in QueueName]: Static<(typeof PayloadSchemas)[Q]> };
export const payloadCheckers = {
  enrich: Compile(PayloadSchemas.enrich),
  embed: Compile(PayloadSchemas.embed),
  refine: Compile(PayloadSchemas.refine),
  train: Compile(PayloadSchemas.train),
  promote: Compile(PayloadSchemas.promote),
};

/** The task key of each queue, derived from its payload: one row per unit of work. */
export const taskKey: { [Q in QueueName]: (p: Payloads[Q]) => string } = {
  enrich: (p) => `${p.space}/${p.item}`,
  embed: (p) => `${p.space}/${p.item}`,
  refine: (p) => `${p.space}/${p.item}`,
  train: (p) => `${p.space}/${p.run}`,
  promote: (p) => `${p.space}/${p.version}`,
};

/** A BullMQ job names no task: it takes, when it starts, the tasks assigned to its id. */
export interface JobData {
  queue: QueueName;
  tasks: number;
}

/**
 * Retries live in the Postgres task layer (tasks.attempts, not_before), so BullMQ
 * makes one attempt: two retry layers would multiply. Retention is bounded.
 */
export const JOB_DEFAULTS: JobsOptions = {
  attempts: 1,
  removeOnComplete: { count: 1000, age: 3600 },
  removeOnFail: { count: 5000, age: 7 * 24 * 3600 },
};

export function createQueues(connection: Redis, prefix: string, log: { debug(o: object, m: string): void }): Record<QueueName, Queue> {
  const out = {} as Record<QueueName, Queue>;
  for (const name of QUEUES) {
    const q = new Queue(name, { connection, prefix, defaultJobOptions: JOB_DEFAULTS });
    // A failed add surfaces as a rejected promise in the relay, which keeps the tasks in
    // Postgres; the event itself needs a listener or Node would throw it.
    q.on('error', (err) => log.debug({ queue: name, err: err.message }, 'queue connection error'));
    out[name] = q;
  }
  return out;
}
