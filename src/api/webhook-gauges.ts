// What outbound webhooks have waiting, in /metrics: deliveries not yet delivered (due, or
// waiting out a retry delay) and outbox rows not yet batched, per event. Read when Prometheus
// scrapes, at most once per MIN_INTERVAL_MS (two counts on small partial sets).
import { Gauge } from 'prom-client';
import type { FastifyBaseLogger } from 'fastify';
import type { Db } from '../db/pool.js';
import { pendingByEvent, WEBHOOK_EVENTS } from '../db/outbound-webhooks.js';
import { registry } from '../metrics.js';

const MIN_INTERVAL_MS = 5_000;

export function registerWebhookGauges(db: Db, log: FastifyBaseLogger): void {
  let last = 0;
  let current: ReturnType<typeof pendingByEvent> | null = null;
  const read = () => {
    if (!current || Date.now() - last > MIN_INTERVAL_MS) {
      last = Date.now();
      current = pendingByEvent(db);
    }
    return current;
  };
  const figures = [
    [
      'emerflow_webhook_deliveries_pending',
      'Outbound webhook deliveries not delivered yet (due or awaiting a retry), by event.',
      'deliveries',
    ],
    [
      'emerflow_webhook_outbox_pending',
      'Outbound webhook events not batched into deliveries yet (one per item for embedding.updated).',
      'outbox',
    ],
  ] as const;
  for (const [name, help, field] of figures) {
    registry.removeSingleMetric(name); // the newest API of this process reports
    new Gauge({
      name,
      help,
      labelNames: ['event'],
      registers: [registry],
      async collect() {
        this.reset();
        try {
          const rows = await read();
          for (const event of WEBHOOK_EVENTS) this.set({ event }, rows.find((r) => r.event === event)?.[field] ?? 0);
        } catch (err) {
          // a scrape without these gauges beats a failed scrape; the next one tries again
          log.warn({ err: (err as Error).message }, 'webhook gauges not read');
          current = null;
        }
      },
    });
  }
}
