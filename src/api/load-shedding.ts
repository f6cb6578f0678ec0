// Load shedding: while the process is saturated (its event loop lags, or its heap is
// nearly full) a request is refused at once with 503 and Retry-After instead of queueing
// behind the others until every caller times out, or the process runs out of memory.
// Health routes are never shed, so a load balancer still sees the process; retrying
// callers spread over the other instances meanwhile.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import v8 from 'node:v8';
import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import { Counter } from 'prom-client';
import { registry } from '../metrics.js';

export interface ShedLimits {
  /** 0: never shed on event-loop lag. */
  eventLoopDelayMs: number;
  heapUsedPercent: number;
}
export interface Pressure {
  /** The worst event-loop delay in the last sampling interval. */
  lagMs: number;
  heapUsedPercent: number;
}

/** Why the process is saturated now, or null. */
export function overloadReason(p: Pressure, limits: ShedLimits): 'event_loop' | 'heap' | null {
  if (limits.eventLoopDelayMs > 0 && p.lagMs > limits.eventLoopDelayMs) return 'event_loop';
  if (p.heapUsedPercent > limits.heapUsedPercent) return 'heap';
  return null;
}

const SAMPLE_MS = 250;
const NEVER_SHED = new Set(['/healthz', '/readyz', '/metrics']);

const shed =
  (registry.getSingleMetric('emerflow_http_shed_total') as Counter<'reason'> | undefined) ??
  new Counter({
    name: 'emerflow_http_shed_total',
    help: 'Requests refused with 503 because the process was saturated, by reason.',
    labelNames: ['reason'],
    registers: [registry],
  });

declare module 'fastify' {
  interface FastifyInstance {
    /** Why requests are being shed now (null: they are not). */
    overloaded(): 'event_loop' | 'heap' | null;
  }
}

async function loadShedding(app: FastifyInstance, limits: ShedLimits): Promise<void> {
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  const heapLimit = v8.getHeapStatistics().heap_size_limit;
  let reason: 'event_loop' | 'heap' | null = null;
  const sample = () => {
    // v8's heap figures, not process.memoryUsage(): no RSS read every sample.
    const p = { lagMs: delay.max / 1e6, heapUsedPercent: (100 * v8.getHeapStatistics().used_heap_size) / heapLimit };
    delay.reset();
    reason = overloadReason(p, limits);
  };
  sample();
  const timer = setInterval(sample, SAMPLE_MS).unref();
  app.decorate('overloaded', () => reason);
  app.addHook('onClose', async () => {
    clearInterval(timer);
    delay.disable();
  });
  // Callback style, not async: on every request of the hot path, a promise and a microtask saved.
  app.addHook('onRequest', function shedWhenSaturated(req, reply, done) {
    if (!reason || NEVER_SHED.has(req.url.split('?')[0] ?? '')) return done();
    shed.inc({ reason });
    reply
      .status(503)
      .header('retry-after', '1')
      .send({ error: 'overloaded', message: `the service is saturated (${reason === 'heap' ? 'memory' : 'event loop'}); retry shortly` });
  });
}

export const loadSheddingPlugin = fp(loadShedding, { name: 'emerflow-load-shedding' });
