// Composes a running service from a configuration, as a tree of Fastify plugins on one
// instance: each part opens what it needs when registered and frees it in an onClose hook,
// and Fastify closes them in the reverse order (the HTTP server stops taking requests first,
// the stores it started stop last). Parts, in order: the stores (local Postgres/Redis when no
// URL is given), the pool and migrations, the LLM client, the queues, the outbox relay and
// sweeper, the lookup cache (ROLE api|all), the API keys, the workers (ROLE worker|all), and
// the HTTP surface: the API (ROLE api|all) or, in a worker-only process, its health and
// metrics (workerHttp). A part that fails to start closes the ones before it. server.ts and
// the tests use it.
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Config } from './config.js';
import { createServer, httpApi, workerHttp } from './app.js';
import type { Db } from './db/pool.js';
import { initBackend, type BackendInfo } from './model/index.js';
import { backendPreference } from './model/backend.js';
import type { LlmClient } from './llm/index.js';
import type { OutboxRelay } from './jobs/relay.js';
import type { Sweeper } from './jobs/sweeper.js';
import type { Workers } from './jobs/workers.js';
import { storesPart } from './parts/stores.js';
import { databasePart } from './parts/database.js';
import { llmPart } from './parts/llm.js';
import { queuesPart } from './parts/queues.js';
import { outboxPart } from './parts/outbox.js';
import { lookupCachePart } from './parts/lookup-cache.js';
import { keysPart } from './parts/keys.js';
import { workersPart } from './parts/workers.js';

export interface Service {
  config: Config;
  db: Db;
  /** The HTTP API; null in a worker-only process (ROLE=worker). */
  app: FastifyInstance | null;
  /**
   * What this process listens on (PORT, HOST): the API (then the same instance as `app`), or in
   * a worker-only process only /healthz, /readyz and /metrics.
   */
  http: FastifyInstance;
  relay: OutboxRelay;
  sweeper: Sweeper;
  workers: Workers | null;
  llm: LlmClient | null;
  backend: BackendInfo;
  /** Graceful: stops taking work, lets in-flight requests and jobs finish, closes connections. */
  close(): Promise<void>;
}

export async function startService(config: Config, log: Logger, opts: { logRequests?: boolean } = {}): Promise<Service> {
  const root = createServer(config, opts.logRequests === false ? false : log);
  const servesApi = config.ROLE !== 'worker';
  const parts = { config, log };
  try {
    await root.register(storesPart, parts);
    await root.register(databasePart, parts);
    const backend = await initBackend(backendPreference(config.TENSOR_BACKEND));
    log.info({ backend }, 'tensor backend');
    await root.register(llmPart, parts);
    await root.register(queuesPart, parts);
    await root.register(outboxPart, parts);
    if (servesApi) await root.register(lookupCachePart, parts);
    await root.register(keysPart, parts);
    if (config.ROLE !== 'api') await root.register(workersPart, parts);
    const health = { db: root.db, redis: root.producer, backend: () => backend, llmBreaker: () => root.llm?.breakerState() ?? null };
    if (servesApi)
      await root.register(httpApi, {
        ...health,
        keys: root.keys,
        config,
        cache: root.cache,
        reads: root.reads,
        versions: root.spaceVersions,
        publish: async (space: string, ids: string[]) => root.cache.invalidate(space, ids),
      });
    else await root.register(workerHttp, { ...health, keys: root.keys });
    await root.ready();
    return {
      config,
      db: root.db,
      app: servesApi ? root : null,
      http: root,
      relay: root.relay,
      sweeper: root.sweeper,
      workers: root.hasDecorator('workers') ? root.workers : null,
      llm: root.llm,
      backend,
      close: () => root.close(),
    };
  } catch (err) {
    await root.close().catch((e: Error) => log.warn({ err: e }, 'closing what had started failed'));
    throw err;
  }
}
