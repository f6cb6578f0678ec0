// Request latency by route (the route's pattern, not the URL, so ids do not explode
// the label set), method and status class.
import type { FastifyInstance } from 'fastify';
import { Histogram } from 'prom-client';
import { registry } from '../metrics.js';

const NAME = 'emerflow_http_request_duration_seconds';

type Hist = Histogram<'route' | 'method' | 'status'>;
// Made on first use: a worker-only process (which imports this module too) exports none.
let made: Hist | undefined;
const hist = (): Hist =>
  (made ??=
    (registry.getSingleMetric(NAME) as Hist | undefined) ??
    new Histogram({
      name: NAME,
      help: 'HTTP request duration by route, method and status class.',
      labelNames: ['route', 'method', 'status'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
      registers: [registry],
    }));

// One child per label set, kept: resolving labels on every observation is a measurable
// share of a cached lookup's cost.
const children = new Map<string, ReturnType<Hist['labels']>>();

function child(route: string, method: string, statusCode: number): ReturnType<Hist['labels']> {
  const status = `${Math.floor(statusCode / 100)}xx`;
  const key = `${method} ${status} ${route}`;
  let c = children.get(key);
  if (!c) children.set(key, (c = hist().labels({ route, method, status })));
  return c;
}

/** The recorder of one label set's durations (seconds), for a caller that always has the same (the fast lane, fast-lane.ts). */
export function requestTimer(route: string, method: string, statusCode: number): (seconds: number) => void {
  const c = child(route, method, statusCode);
  return (seconds) => c.observe(seconds);
}

export function installHttpMetrics(app: FastifyInstance): void {
  hist(); // exported from the start, before the first request
  // callback style: no promise per request
  app.addHook('onResponse', function observeDuration(req, reply, done) {
    child(req.routeOptions.url ?? 'unknown', req.method, reply.statusCode).observe(reply.elapsedTime / 1000);
    done();
  });
}
