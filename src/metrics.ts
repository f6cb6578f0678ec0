// One Prometheus registry for the whole process: every module registers its own
// counters here, and GET /metrics renders it. Module-level so that code with no
// Fastify instance (workers, the LLM client) can count too.
import { Registry, collectDefaultMetrics } from 'prom-client';

export const registry = new Registry();
collectDefaultMetrics({ register: registry, prefix: 'emerflow_process_' });
