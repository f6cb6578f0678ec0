// What every part of the service is registered with.
import type { Logger } from 'pino';
import type { Config } from '../config.js';

export interface PartOptions {
  config: Config;
  log: Logger;
}
