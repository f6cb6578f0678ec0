// The BullMQ workers (ROLE worker|all): enrich, embed, refine, train, promote; the quality
// monitor's scorer; the outbound webhook deliveries. Closing lets the jobs in flight finish
// (within their grace), then stops.
import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import { ModelCache } from '../jobs/model-cache.js';
import { startWorkers, type Workers } from '../jobs/workers.js';
import { QualityScorer } from '../jobs/quality-scorer.js';
import { WebhookDeliverer, webhookLoopOptions } from '../jobs/deliver-webhooks.js';
import { closeWithin } from './close-within.js';
import type { PartOptions } from './options.js';

declare module 'fastify' {
  interface FastifyInstance {
    workers: Workers;
    qualityScorer: QualityScorer | null;
    webhookDeliverer: WebhookDeliverer;
  }
}

async function workers(app: FastifyInstance, { config, log }: PartOptions): Promise<void> {
  // Other API processes learn of a change from the writing transaction's NOTIFY; this
  // process's own cache (ROLE=all) drops its entries at once, too.
  const cache = app.hasDecorator('cache') ? app.cache : null;
  const w = startWorkers(
    {
      db: app.db,
      log: log.child({ part: 'worker' }),
      config,
      llm: app.llm,
      models: new ModelCache(app.db, app.llm),
      invalidate: async (space, ids) => cache?.invalidate(space, ids),
      versionsChanged: (space) => (app.hasDecorator('spaceVersions') ? app.spaceVersions.invalidate(space) : undefined),
    },
    app.redisUrl,
    config.QUEUE_PREFIX,
    (queue) => app.relay.kick(queue),
  );
  closeWithin(app, log, 'workers', () => w.close());
  app.decorate('workers', w);
  let scorer: QualityScorer | null = null;
  if (config.QUALITY_MONITOR) {
    scorer = new QualityScorer(app.db, log.child({ part: 'quality' }), {
      pollMs: config.QUALITY_POLL_MS,
      batch: config.QUALITY_BATCH,
      retentionDays: config.QUALITY_RETENTION_DAYS,
    });
    scorer.start();
    closeWithin(app, log, 'quality scorer', () => scorer?.stop());
  }
  app.decorate('qualityScorer', scorer);
  const deliverer = new WebhookDeliverer(app.db, log.child({ part: 'webhooks' }), webhookLoopOptions(config));
  deliverer.start();
  // attempts in flight end within WEBHOOKS_TIMEOUT_MS; one cut short by the close limit is sent again (its lease runs out)
  closeWithin(app, log, 'webhook deliveries', () => deliverer.stop());
  app.decorate('webhookDeliverer', deliverer);
}

export const workersPart = fp(workers, { name: 'emerflow-workers', dependencies: ['emerflow-outbox', 'emerflow-llm'] });
