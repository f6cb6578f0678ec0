// API keys of an API process: the bootstrap admin key (DATA_DIR/admin-api-key when none
// exists and ADMIN_API_KEY is unset), then the keys in force, reloaded every few seconds.
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
  await untilDbReady('API keys', () => store.bootstrap(path.join(config.DATA_DIR, 'admin-api-key')), ready);
  await untilDbReady('API keys', () => store.start(), ready);
  closeWithin(app, log, 'API keys', () => store.stop());
  app.decorate('keys', store);
}

export const keysPart = fp(keys, { name: 'emerflow-keys', dependencies: ['emerflow-database'] });
