// The outbox's two loops: the relay (dispatches due tasks to the queues) and the sweeper
// (leases, lost jobs, healing, retention). Every process runs both.
import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import { untilDbReady } from '../db/wait-ready.js';
import { OutboxRelay } from '../jobs/relay.js';
import { Sweeper } from '../jobs/sweeper.js';
import { closeWithin } from './close-within.js';
import type { PartOptions } from './options.js';

declare module 'fastify' {
  interface FastifyInstance {
    relay: OutboxRelay;
    sweeper: Sweeper;
  }
}

async function outbox(app: FastifyInstance, { config, log }: PartOptions): Promise<void> {
  const relay = new OutboxRelay(app.db, app.queues, log.child({ part: 'relay' }), {
    batch: { refine: config.REFINE_BATCH, embed: config.EMBED_BATCH, enrich: 1, train: 1, promote: 1 },
    maxWaitingJobs: config.RELAY_MAX_WAITING_JOBS,
    pollMs: config.RELAY_POLL_MS,
    lingerMs: { refine: config.REFINE_LINGER_MS },
  });
  await untilDbReady('outbox relay', () => relay.start(), { deadlineMs: config.STARTUP_WAIT_MS, log });
  closeWithin(app, log, 'relay', () => relay.stop());
  const sweeper = new Sweeper(app.db, app.queues, log.child({ part: 'sweeper' }), {
    leaseMs: config.TASK_LEASE_MS,
    keepVersions: config.EMBEDDING_KEEP_VERSIONS,
    onReleased: () => relay.kick(),
  });
  sweeper.start();
  closeWithin(app, log, 'sweeper', () => sweeper.stop());
  app.decorate('relay', relay);
  app.decorate('sweeper', sweeper);
}

export const outboxPart = fp(outbox, { name: 'emerflow-outbox', dependencies: ['emerflow-database', 'emerflow-queues'] });
