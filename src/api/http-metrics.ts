// Request latency by route (the route's pattern, not the URL, so ids do not explode
// the label set), method and status class.
import type { FastifyInstance } from 'fastify';
import { Histogram } from 'prom-client';
import { registry } from '../metrics.js';

const NAME = 'emerflow_http_request_duration_seconds';

export function installHttpMetrics(app: FastifyInstance): void {
  const existing = registry.getSingleMetric(NAME) as Histogram<'route' | 'method' | 'status'> | undefined;
  const hist =
    existing ??
    new Histogram({
      name: NAME,
      help: 'HTTP request duration by route, method and status class.',
      labelNames: ['route', 'method', 'status'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
      registers: [registry],
    });
  // One child per label set, kept: resolving labels on every observation is a measurable
  // share of a cached lookup's cost.
  const children = new Map<string, ReturnType<typeof hist.labels>>();
  // callback style: no promise per request
  app.addHook('onResponse', (req, reply, done) => {
    const route = req.routeOptions.url ?? 'unknown';
    const status = `${Math.floor(reply.statusCode / 100)}xx`;
    const key = `${req.method} ${status} ${route}`;
    let child = children.get(key);
    if (!child) children.set(key, (child = hist.labels({ route, method: req.method, status })));
    child.observe(reply.elapsedTime / 1000);
    done();
  });
}
