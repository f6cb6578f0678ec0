// The Postgres pool, and the migrations applied before anything uses it. Start-up waits out
// a Postgres that is restarting (STARTUP_WAIT_MS).
import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import { createPool, type Db } from '../db/pool.js';
import { migrate } from '../db/migrate.js';
import { untilDbReady } from '../db/wait-ready.js';
import { closeWithin } from './close-within.js';
import type { PartOptions } from './options.js';

declare module 'fastify' {
  interface FastifyInstance {
    db: Db;
  }
}

async function database(app: FastifyInstance, { config, log }: PartOptions): Promise<void> {
  const db = createPool(app.dbUrl, {
    max: config.PG_POOL_MAX,
    connectTimeoutMs: config.PG_CONNECT_TIMEOUT_MS,
    statementTimeoutMs: config.PG_STATEMENT_TIMEOUT_MS,
    idleInTransactionTimeoutMs: config.PG_IDLE_IN_TX_TIMEOUT_MS,
    log,
  });
  closeWithin(app, log, 'Postgres pool', () => db.end());
  app.decorate('db', db);
  const applied = await untilDbReady('migrations', () => migrate(db), { deadlineMs: config.STARTUP_WAIT_MS, log });
  if (applied.length) log.info({ applied }, 'migrations applied');
}

export const databasePart = fp(database, { name: 'emerflow-database', dependencies: ['emerflow-stores'] });
