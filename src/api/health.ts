// Liveness, readiness (Postgres and Redis reachable; which tensor backend runs) and
// Prometheus metrics: on the API and on a worker-only process's HTTP surface alike, so
// they take only what both have (HealthDeps), not the API's deps.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { Gauge } from 'prom-client';
import { registry } from '../metrics.js';
import type { AppDeps } from './deps.js';

export type HealthDeps = Pick<AppDeps, 'db' | 'redis' | 'backend' | 'llmBreaker'>;

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

// This process's backend: a worker's matters most (the GPU worker trains on tensorflow-gpu).
function registerBackendGauge(backend: HealthDeps['backend']): void {
  registry.removeSingleMetric('emerflow_tensor_backend'); // the newest HTTP surface of this process reports
  new Gauge({
    name: 'emerflow_tensor_backend',
    help: 'The TensorFlow.js backend in use (value 1).',
    labelNames: ['backend'],
    registers: [registry],
    collect() {
      this.reset();
      const b = backend();
      if (b) this.set({ backend: b.name }, 1);
    },
  });
}

export const healthRoutes: FastifyPluginAsyncTypebox<HealthDeps> = async (app, deps) => {
  registerBackendGauge(deps.backend);
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
      const [postgres, redis] = await Promise.all([check(() => deps.db.query('SELECT 1')), check(() => deps.redis.ping())]);
      // Ready while Postgres answers: writes go through the outbox even when Redis is down, so a
      // Redis blip shows as `degraded` rather than pulling every API instance out of the pool.
      const ok = postgres === 'ok';
      const b = deps.backend();
      return reply.status(ok ? 200 : 503).send({
        status: !ok ? 'not ready' : redis === 'ok' ? 'ready' : 'degraded',
        postgres,
        redis,
        backend: b ? `${b.name} (${b.detail})` : null,
        llm: deps.llmBreaker(),
      });
    },
  );

  app.get('/metrics', { schema: { tags: ['health'], hide: true } }, async (_req, reply) => {
    return reply.header('content-type', registry.contentType).send(await registry.metrics());
  });
};
