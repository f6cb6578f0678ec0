// Composes a running service from a configuration: local Postgres/Redis when no URL is
// given, migrations, the tensor backend, the LLM client, the outbox relay, workers
// (ROLE worker|all) and the HTTP app (ROLE api|all). server.ts and the tests use it.
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Config } from './config.js';
import { buildApp } from './app.js';
import { createPool, type Db } from './db/pool.js';
import { migrate } from './db/migrate.js';
import { untilDbReady } from './db/wait-ready.js';
import { pgLlmCache } from './db/llm-cache.js';
import { startLocalPostgres } from './dev/postgres.js';
import { startLocalRedis } from './dev/redis.js';
import { EmbeddingCache } from './lookup/cache.js';
import { listenInvalidations } from './lookup/invalidation.js';
import { registerCacheGauges } from './lookup/metrics.js';
import { preloadSpaces } from './lookup/preload.js';
import { initBackend, type BackendInfo } from './model/index.js';
import { backendPreference } from './model/backend.js';
import { createLlmClient, llmOptionsFromConfig, type LlmClient } from './llm/index.js';
import { createQueues } from './jobs/queues.js';
import { OutboxRelay } from './jobs/relay.js';
import { Sweeper } from './jobs/sweeper.js';
import { ModelCache } from './jobs/model-cache.js';
import { startWorkers, type Workers } from './jobs/workers.js';
import { KeyStore } from './auth/keys.js';

export interface Service {
  config: Config;
  db: Db;
  app: FastifyInstance | null;
  relay: OutboxRelay;
  sweeper: Sweeper;
  workers: Workers | null;
  llm: LlmClient | null;
  backend: BackendInfo;
  /** Graceful: stops taking work, lets in-flight requests and jobs finish, closes connections. */
  close(): Promise<void>;
}

export async function startService(config: Config, log: Logger, opts: { logRequests?: boolean } = {}): Promise<Service> {
  const closers: (() => Promise<void>)[] = [];
  // Each part gets a bounded time to close (a Redis that is down must not hang shutdown).
  const closeAll = async () => {
    for (const c of closers.reverse()) {
      let timer: NodeJS.Timeout | undefined;
      const limit = new Promise<void>((r) => {
        timer = setTimeout(() => {
          log.warn('a part did not close in time');
          r();
        }, 35_000);
      });
      await Promise.race([c().catch((err) => log.warn({ err }, 'close failed')), limit]);
      clearTimeout(timer);
    }
    closers.length = 0;
  };
  try {
    let dbUrl = config.DATABASE_URL;
    if (!dbUrl) {
      const pg = await startLocalPostgres(path.join(config.DATA_DIR, 'postgres'), { log: (m) => log.debug(m), notice: (m) => log.info(m) });
      closers.push(() => pg.stop());
      dbUrl = pg.url;
      log.info({ dataDir: config.DATA_DIR }, 'DATABASE_URL unset: started the embedded PostgreSQL');
    }
    let redisUrl = config.REDIS_URL;
    if (!redisUrl) {
      const r = await startLocalRedis(path.join(config.DATA_DIR, 'redis'), { log: (m) => log.info(m) });
      closers.push(() => r.stop());
      redisUrl = r.url;
      log.info({ dataDir: config.DATA_DIR }, 'REDIS_URL unset: started a local redis-server (AOF, noeviction)');
    }
    const db = createPool(dbUrl, {
      max: config.PG_POOL_MAX,
      connectTimeoutMs: config.PG_CONNECT_TIMEOUT_MS,
      statementTimeoutMs: config.PG_STATEMENT_TIMEOUT_MS,
      idleInTransactionTimeoutMs: config.PG_IDLE_IN_TX_TIMEOUT_MS,
      log,
    });
    closers.push(() => db.end());
    const ready = { deadlineMs: config.STARTUP_WAIT_MS, log };
    const applied = await untilDbReady('migrations', () => migrate(db), ready);
    if (applied.length) log.info({ applied }, 'migrations applied');

    const backend = await initBackend(backendPreference(config.TENSOR_BACKEND));
    log.info({ backend }, 'tensor backend');

    const llmOptions = llmOptionsFromConfig({ ...config, EMBEDDING_DIM: config.EMBEDDING_DIM || undefined });
    // LLM_RPM / LLM_TPM are shared by every process through Redis, on a connection of their own that fails fast
    // while Redis is down, so that the client falls back to this process's own buckets at once.
    const llmRedis = llmOptions ? new Redis(redisUrl, { enableOfflineQueue: false, maxRetriesPerRequest: 1 }) : undefined;
    llmRedis?.on('error', (err) => log.debug({ err: err.message }, 'LLM rate-limit Redis connection error'));
    if (llmRedis) closers.push(async () => llmRedis.disconnect());
    const llm = llmOptions
      ? createLlmClient(llmOptions, { cache: pgLlmCache(db), log, redis: llmRedis, prefix: config.QUEUE_PREFIX })
      : null;
    if (llm) closers.push(() => llm.close());

    // Producers fail fast when Redis is down (the task stays in Postgres); see CONVENTIONS.md #12.
    const producer = new Redis(redisUrl, { enableOfflineQueue: false, maxRetriesPerRequest: 1 });
    producer.on('error', (err) => log.debug({ err: err.message }, 'producer Redis connection error'));
    closers.push(async () => {
      producer.disconnect();
    });
    const queues = createQueues(producer, config.QUEUE_PREFIX, log);
    closers.push(async () => {
      await Promise.all(Object.values(queues).map((q) => q.close()));
    });

    const cache = new EmbeddingCache({
      maxBytes: config.LOOKUP_CACHE_BYTES,
      ttlMs: config.LOOKUP_CACHE_TTL_MS,
      negativeTtlMs: config.LOOKUP_NEGATIVE_TTL_MS,
    });
    registerCacheGauges(() => ({ bytes: cache.bytes, entries: cache.size }));
    // Other processes learn of a change from the writing transaction's NOTIFY (see
    // lookup/invalidation.ts); this one drops its entries at once, too.
    const publish = async (space: string, ids: string[]) => {
      cache.invalidate(space, ids);
    };

    const relay = new OutboxRelay(db, queues, log.child({ part: 'relay' }), {
      batch: { refine: config.REFINE_BATCH, embed: config.EMBED_BATCH, enrich: 1, train: 1 },
      maxWaitingJobs: config.RELAY_MAX_WAITING_JOBS,
      pollMs: config.RELAY_POLL_MS,
    });
    await untilDbReady('outbox relay', () => relay.start(), ready);
    closers.push(() => relay.stop());
    const sweeper = new Sweeper(db, queues, log.child({ part: 'sweeper' }), {
      leaseMs: config.TASK_LEASE_MS,
      keepVersions: config.EMBEDDING_KEEP_VERSIONS,
      onReleased: () => relay.kick(),
    });
    sweeper.start();
    closers.push(async () => sweeper.stop());

    let workers: Workers | null = null;
    if (config.ROLE !== 'api') {
      const models = new ModelCache(db, llm);
      workers = startWorkers(
        { db, log: log.child({ part: 'worker' }), config, llm, models, invalidate: publish },
        redisUrl,
        config.QUEUE_PREFIX,
        () => relay.kick(),
      );
      closers.push(() => workers!.close());
    }

    let app: FastifyInstance | null = null;
    if (config.ROLE !== 'worker') {
      const keys = new KeyStore(db, config.ADMIN_API_KEY, log.child({ part: 'keys' }));
      await untilDbReady('API keys', () => keys.bootstrap(path.join(config.DATA_DIR, 'admin-api-key')), ready);
      await untilDbReady('API keys', () => keys.start(), ready);
      closers.push(async () => keys.stop());
      const sub = await untilDbReady(
        'lookup invalidations',
        () => listenInvalidations(db, cache, log.child({ part: 'lookup-cache' })),
        ready,
      );
      closers.push(() => sub.close());
      // In the background: lookups are served meanwhile, from Postgres for what is not loaded yet.
      preloadSpaces(db, cache, config.LOOKUP_PRELOAD_SPACES, config.LOOKUP_CACHE_BYTES, log.child({ part: 'lookup-cache' })).catch(
        (err: Error) => log.warn({ err: err.message }, 'lookup cache preload failed; lookups read from Postgres'),
      );
      app = await buildApp(
        {
          keys,
          config,
          db,
          redis: producer,
          cache,
          backend: () => backend,
          llmBreaker: () => llm?.breakerState() ?? null,
          publish,
        },
        opts.logRequests === false ? false : log,
      );
      closers.push(() => app!.close());
    }
    return { config, db, app, relay, sweeper, workers, llm, backend, close: closeAll };
  } catch (err) {
    await closeAll();
    throw err;
  }
}
