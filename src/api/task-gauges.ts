// The outbox in /metrics: tasks pending and dead per queue, read from Postgres when Prometheus
// scrapes. These are the deployment's figures, not this process's, so only API processes
// report them (like the quality and webhook gauges): scraping the workers too adds no copies
// of them and no query per worker per scrape.
import { Gauge } from 'prom-client';
import type { Db } from '../db/pool.js';
import { taskStats } from '../db/tasks.js';
import { registry } from '../metrics.js';

export function registerTaskGauges(db: Db): void {
  // the newest API of this process reports
  registry.removeSingleMetric('emerflow_tasks_pending');
  registry.removeSingleMetric('emerflow_tasks_dead');
  const dead = new Gauge({
    name: 'emerflow_tasks_dead',
    help: 'Tasks parked after too many failed attempts, by queue.',
    labelNames: ['queue'],
    registers: [registry],
  });
  new Gauge({
    name: 'emerflow_tasks_pending',
    help: 'Tasks recorded in Postgres and not yet done, by queue.',
    labelNames: ['queue'],
    registers: [registry],
    async collect() {
      const rows = await taskStats(db).catch(() => []);
      this.reset();
      dead.reset();
      for (const r of rows) {
        this.set({ queue: r.queue }, r.pending);
        dead.set({ queue: r.queue }, r.dead);
      }
    },
  });
}
