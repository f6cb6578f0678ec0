// API keys of every process (the API checks them on /v1, a worker on /metrics): the keys in
// force, reloaded every few seconds; before them, in an API process, the bootstrap admin key
// (DATA_DIR/admin-api-key when none exists and ADMIN_API_KEY is unset).
import path from 'node:path';
import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import { KeyStore } from '../auth/keys.js';
import { untilDbReady } from '../db/wait-ready.js';
import { closeWithin } from './close-within.js';
import type { PartOptions } from './options.js';

declare module 'fastify' {
  interface FastifyInstance {
    keys: KeyStore;
  }
}

async function keys(app: FastifyInstance, { config, log }: PartOptions): Promise<void> {
  const store = new KeyStore(app.db, config.ADMIN_API_KEY, log.child({ part: 'keys' }));
  const ready = { deadlineMs: config.STARTUP_WAIT_MS, log };
  // Not a worker: the file is for whoever runs the API, and a worker starting first would
  // leave it in its own DATA_DIR (a container's) while the API, finding a key, made none.
  if (config.ROLE !== 'worker') await untilDbReady('API keys', () => store.bootstrap(path.join(config.DATA_DIR, 'admin-api-key')), ready);
  await untilDbReady('API keys', () => store.start(), ready);
  closeWithin(app, log, 'API keys', () => store.stop());
  app.decorate('keys', store);
}

export const keysPart = fp(keys, { name: 'emerflow-keys', dependencies: ['emerflow-database'] });
