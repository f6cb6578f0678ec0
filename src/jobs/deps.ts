// What every processor needs, built once per worker process.
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { Db } from '../db/pool.js';
import type { LlmClient } from '../llm/index.js';
import type { ModelCache } from './model-cache.js';

export interface JobDeps {
  db: Db;
  log: Logger;
  config: Config;
  llm: LlmClient | null;
  models: ModelCache;
  /** Tells every API process that these items' embeddings changed. */
  invalidate(space: string, ids: string[]): Promise<void>;
  /** Tells this process's API (ROLE=all) at once that a space's versions changed; others learn it by NOTIFY. */
  versionsChanged?(space: string): void;
}
