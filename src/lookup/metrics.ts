// How well the lookup cache serves: hits and misses per space (negative entries count as
// hits: they spare the database as much), and what it holds.
import { Counter, Gauge } from 'prom-client';
import { registry } from '../metrics.js';

const counter = (name: string, help: string) =>
  (registry.getSingleMetric(name) as Counter<'space'> | undefined) ??
  new Counter({ name, help, labelNames: ['space'], registers: [registry] });

const hits = counter('emerflow_lookup_cache_hits_total', 'Lookup ids answered from the cache (negative entries included).');
const misses = counter(
  'emerflow_lookup_cache_misses_total',
  'Lookup ids not in the cache: read from Postgres, by this lookup or by a read in flight it joined (lookup/reads.ts).',
);

const refreshes = counter(
  'emerflow_lookup_cache_refreshes_total',
  'Cached entries checked against Postgres before their deadline because lookups were using them (lookup/ttl-refresh.ts).',
);

/** Counts per space through a kept child: resolving labels on every lookup costs more than the count. */
function perSpace(c: Counter<'space'>): (space: string, n: number) => void {
  const children = new Map<string, ReturnType<typeof c.labels>>();
  return (space, n) => {
    if (n === 0) return;
    let child = children.get(space);
    if (!child) children.set(space, (child = c.labels({ space })));
    child.inc(n);
  };
}
export const countHits = perSpace(hits);
export const countMisses = perSpace(misses);
export const countRefreshes = perSpace(refreshes);

export function registerCacheGauges(read: () => { bytes: number; entries: number }): void {
  for (const [name, help, pick] of [
    ['emerflow_lookup_cache_bytes', 'Estimated bytes the lookup cache holds (bounded by LOOKUP_CACHE_BYTES).', 'bytes'],
    ['emerflow_lookup_cache_entries', 'Entries in the lookup cache, negative ones included.', 'entries'],
  ] as const) {
    registry.removeSingleMetric(name); // the newest cache of this process reports
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(read()[pick]);
      },
    });
  }
}
