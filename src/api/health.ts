// Liveness, readiness (Postgres and Redis reachable; which tensor backend runs) and
// Prometheus metrics.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { Gauge } from 'prom-client';
import { registry } from '../metrics.js';
import { taskStats } from '../db/tasks.js';
import type { AppDeps } from './deps.js';

async function check(fn: () => Promise<unknown>, ms = 1000): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      fn(),
      new Promise((_, rej) => {
        timer = setTimeout(() => rej(new Error('timeout')), ms);
      }),
    ]);
    return 'ok';
  } catch (err) {
    return (err as Error).message || 'unreachable';
  } finally {
    clearTimeout(timer);
  }
}

function registerGauges(deps: AppDeps): void {
  if (registry.getSingleMetric('emerflow_tasks_pending')) registry.removeSingleMetric('emerflow_tasks_pending');
  if (registry.getSingleMetric('emerflow_tasks_dead')) registry.removeSingleMetric('emerflow_tasks_dead');
  if (registry.getSingleMetric('emerflow_tensor_backend')) registry.removeSingleMetric('emerflow_tensor_backend');
  if (registry.getSingleMetric('emerflow_lookup_cache_entries')) registry.removeSingleMetric('emerflow_lookup_cache_entries');
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
      const rows = await taskStats(deps.db).catch(() => []);
      this.reset();
      dead.reset();
      for (const r of rows) {
        this.set({ queue: r.queue }, r.pending);
        dead.set({ queue: r.queue }, r.dead);
      }
    },
  });
  new Gauge({
    name: 'emerflow_tensor_backend',
    help: 'The TensorFlow.js backend in use (value 1).',
    labelNames: ['backend'],
    registers: [registry],
    collect() {
      this.reset();
      const b = deps.backend();
      if (b) this.set({ backend: b.name }, 1);
    },
  });
  new Gauge({
    name: 'emerflow_lookup_cache_entries',
    help: 'Embeddings held by the lookup cache.',
    registers: [registry],
    collect() {
      this.set(deps.cache.size);
    },
  });
}

export const healthRoutes: FastifyPluginAsyncTypebox = async (app) => {
  registerGauges(app.deps);
  app.get('/healthz', { schema: { tags: ['health'], response: { 200: Type.Object({ status: Type.String() }) } } }, async () => ({
    status: 'ok',
  }));

  app.get(
    '/readyz',
    {
      schema: {
        tags: ['health'],
        response: {
          '2xx': Type.Object({
            status: Type.String(),
            postgres: Type.String(),
            redis: Type.String(),
            backend: Type.Union([Type.String(), Type.Null()]),
            llm: Type.Union([Type.String(), Type.Null()]),
          }),
          503: Type.Object({
            status: Type.String(),
            postgres: Type.String(),
            redis: Type.String(),
            backend: Type.Union([Type.String(), Type.Null()]),
            llm: Type.Union([Type.String(), Type.Null()]),
          }),
        },
      },
    },
    async (_req, reply) => {
      const [postgres, redis] = await Promise.all([check(() => app.deps.db.query('SELECT 1')), check(() => app.deps.redis.ping())]);
      // Ready while Postgres answers: writes go through the outbox even when Redis is down, so a
      // Redis blip shows as `degraded` rather than pulling every API instance out of the pool.
      const ok = postgres === 'ok';
      const b = app.deps.backend();
      return reply.status(ok ? 200 : 503).send({
        status: !ok ? 'not ready' : redis === 'ok' ? 'ready' : 'degraded',
        postgres,
        redis,
        backend: b ? `${b.name} (${b.detail})` : null,
        llm: app.deps.llmBreaker(),
      });
    },
  );

  app.get('/metrics', { schema: { tags: ['health'], hide: true } }, async (_req, reply) => {
    return reply.header('content-type', registry.contentType).send(await registry.metrics());
  });
};
