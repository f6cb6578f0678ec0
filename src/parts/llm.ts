// The LLM client (when LLM_BASE_URL is set), with its Redis connection for the rate limit
// every process shares. That connection fails fast while Redis is down, so the client
// falls back to this process's own buckets at once.
import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { pgLlmCache } from '../db/llm-cache.js';
import { createLlmClient, llmOptionsFromConfig, type LlmClient } from '../llm/index.js';
import { closeWithin } from './close-within.js';
import type { PartOptions } from './options.js';

declare module 'fastify' {
  interface FastifyInstance {
    llm: LlmClient | null;
  }
}

async function llm(app: FastifyInstance, { config, log }: PartOptions): Promise<void> {
  const options = llmOptionsFromConfig({ ...config, EMBEDDING_DIM: config.EMBEDDING_DIM || undefined });
  if (!options) {
    app.decorate('llm', null);
    return;
  }
  const redis = new Redis(app.redisUrl, { enableOfflineQueue: false, maxRetriesPerRequest: 1 });
  redis.on('error', (err) => log.debug({ err: err.message }, 'LLM rate-limit Redis connection error (the local budgets decide meanwhile)'));
  closeWithin(app, log, 'LLM rate-limit Redis', () => redis.disconnect());
  const client = createLlmClient(options, { cache: pgLlmCache(app.db), log, redis, prefix: config.QUEUE_PREFIX });
  closeWithin(app, log, 'LLM client', () => client.close());
  app.decorate('llm', client);
}

export const llmPart = fp(llm, { name: 'emerflow-llm', dependencies: ['emerflow-database'] });
