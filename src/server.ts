// Entry point: configuration, logger, the service, listen, graceful shutdown.
import closeWithGrace from 'close-with-grace';
import { loadConfig } from './config.js';
import { createLogger } from './logger.js';
import { startService, type Service } from './service.js';

const config = loadConfig();
const log = createLogger(config.LOG_LEVEL);
let service: Service | null = null;
let stopping = false;

// Installed before anything starts, so a signal during start-up also stops the local
// Postgres and Redis cleanly.
closeWithGrace({ delay: 40_000 }, async ({ signal, err }) => {
  stopping = true;
  if (err) log.error({ err }, 'shutting down after an error');
  else log.info({ signal }, 'shutting down: finishing in-flight requests and jobs');
  await service?.close();
});

try {
  service = await startService(config, log);
} catch (err) {
  // Whatever stopped the start (a port in use, a database that refuses us, a bad migration)
  // is printed at every log level but silent, and the exit code says it failed.
  log.fatal({ err }, `EmerFlow could not start: ${(err as Error).message}`);
  process.exit(1);
}
if (stopping) await service.close();
else {
  // Every role listens: the API, or a worker's /healthz, /readyz and /metrics.
  try {
    await service.http.listen({ port: config.PORT, host: config.HOST });
  } catch (err) {
    // Most often a port in use: processes on one machine need a PORT each.
    log.fatal({ err }, `EmerFlow could not listen on ${config.HOST}:${config.PORT}: ${(err as Error).message}`);
    await service.close();
    process.exit(1);
  }
  log.info({ role: config.ROLE, port: config.PORT, backend: service.backend.name }, 'EmerFlow is running');
}
