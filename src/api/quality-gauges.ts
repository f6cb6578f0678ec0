// The live quality monitor in /metrics: per space, version and bucket over the last
// QUALITY_METRICS_WINDOW_S, the same figures GET …/quality answers. Computed when Prometheus
// scrapes, at most once per MIN_INTERVAL_MS (each computation ranks the window's events).
import { Gauge } from 'prom-client';
import type { FastifyBaseLogger } from 'fastify';
import type { Db } from '../db/pool.js';
import { aucFromRanks, bucketAggregates, QUALITY_BUCKETS, type BucketAggregate } from '../db/quality.js';
import { registry } from '../metrics.js';

const MIN_INTERVAL_MS = 15_000;
const LABELS = ['space', 'version', 'bucket'] as const;

type Figure = (r: BucketAggregate) => number | null;
const FIGURES: [string, string, Figure][] = [
  [
    'emerflow_quality_auc',
    'AUC of the served embeddings of emerging items (prequential), by bucket.',
    (r) => aucFromRanks(r.events, r.positives, r.rankSum),
  ],
  [
    'emerflow_quality_cold_auc',
    'AUC of the same events scored with the cold embeddings (the reference).',
    (r) => aucFromRanks(r.coldEvents, r.coldPositives, r.coldRankSum),
  ],
  ['emerflow_quality_log_loss', 'Log loss of the served embeddings of emerging items, by bucket.', (r) => r.logLoss],
  ['emerflow_quality_events', 'Events scored by the quality monitor in the window, by bucket.', (r) => r.events],
];

export function registerQualityGauges(db: Db, windowS: number, log: FastifyBaseLogger): void {
  let last = 0;
  let current: Promise<{ rows: BucketAggregate[]; names: Map<string, { space: string; version: number }> }> | null = null;
  const read = () => {
    if (!current || Date.now() - last > MIN_INTERVAL_MS) {
      last = Date.now();
      current = (async () => {
        const rows = await bucketAggregates(db, null, new Date(Date.now() - windowS * 1000));
        const v = await db.query<{ physical: string; space: string; version: number }>(
          `SELECT physical_id AS physical, space_id AS space, version FROM space_versions WHERE physical_id = ANY($1)`,
          [[...new Set(rows.map((r) => r.spaceId))]],
        );
        return { rows, names: new Map(v.rows.map((x) => [x.physical, { space: x.space, version: x.version }])) };
      })();
    }
    return current;
  };
  for (const [name, help, figure] of FIGURES) {
    registry.removeSingleMetric(name); // the newest API of this process reports
    new Gauge({
      name,
      help,
      labelNames: LABELS,
      registers: [registry],
      async collect() {
        this.reset();
        try {
          const { rows, names } = await read();
          for (const r of rows) {
            const n = names.get(r.spaceId);
            const value = figure(r);
            if (!n || value === null) continue;
            this.set({ space: n.space, version: String(n.version), bucket: QUALITY_BUCKETS[r.bucket] ?? String(r.bucket) }, value);
          }
        } catch (err) {
          // a scrape without these gauges beats a failed scrape; the next one tries again
          log.warn({ err: (err as Error).message }, 'quality gauges not computed');
        }
      },
    });
  }
}
