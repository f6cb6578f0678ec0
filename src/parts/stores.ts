// The stores a process talks to: DATABASE_URL / REDIS_URL, or, when unset, a PostgreSQL
// and a redis-server of its own under DATA_DIR (stopped last, when the process closes).
import path from 'node:path';
import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import { startLocalPostgres } from '../dev/postgres.js';
import { startLocalRedis } from '../dev/redis.js';
import { closeWithin } from './close-within.js';
import type { PartOptions } from './options.js';

declare module 'fastify' {
  interface FastifyInstance {
    dbUrl: string;
    redisUrl: string;
  }
}

async function stores(app: FastifyInstance, { config, log }: PartOptions): Promise<void> {
  let dbUrl = config.DATABASE_URL;
  if (!dbUrl) {
    const pg = await startLocalPostgres(path.join(config.DATA_DIR, 'postgres'), { log: (m) => log.debug(m), notice: (m) => log.info(m) });
    closeWithin(app, log, 'embedded PostgreSQL', () => pg.stop());
    dbUrl = pg.url;
    log.info({ dataDir: config.DATA_DIR }, 'DATABASE_URL unset: started the embedded PostgreSQL');
  }
  let redisUrl = config.REDIS_URL;
  if (!redisUrl) {
    const r = await startLocalRedis(path.join(config.DATA_DIR, 'redis'), { log: (m) => log.info(m) });
    closeWithin(app, log, 'local Redis', () => r.stop());
    redisUrl = r.url;
    log.info({ dataDir: config.DATA_DIR }, 'REDIS_URL unset: started a local redis-server (AOF, noeviction)');
  }
  app.decorate('dbUrl', dbUrl);
  app.decorate('redisUrl', redisUrl);
}

export const storesPart = fp(stores, { name: 'emerflow-stores' });
