// The BullMQ queues jobs are dispatched to, on a producer connection that fails fast while
// Redis is down (the task stays in Postgres; see CONVENTIONS.md #12).
import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import type { Queue } from 'bullmq';
import { createQueues, type QueueName } from '../jobs/queues.js';
import { closeWithin } from './close-within.js';
import type { PartOptions } from './options.js';

declare module 'fastify' {
  interface FastifyInstance {
    producer: Redis;
    queues: Record<QueueName, Queue>;
  }
}

async function queues(app: FastifyInstance, { config, log }: PartOptions): Promise<void> {
  const producer = new Redis(app.redisUrl, { enableOfflineQueue: false, maxRetriesPerRequest: 1 });
  producer.on('error', (err) => log.debug({ err: err.message }, 'producer Redis connection error (tasks wait in Postgres)'));
  closeWithin(app, log, 'producer Redis', () => producer.disconnect());
  const q = createQueues(producer, config.QUEUE_PREFIX, log);
  closeWithin(app, log, 'queues', async () => {
    await Promise.all(Object.values(q).map((x) => x.close()));
  });
  app.decorate('producer', producer);
  app.decorate('queues', q);
}

export const queuesPart = fp(queues, { name: 'emerflow-queues', dependencies: ['emerflow-stores'] });
