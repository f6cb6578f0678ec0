// Entry point: configuration, logger, the service, listen, graceful shutdown.
import v8 from 'node:v8';
import closeWithGrace from 'close-with-grace';
import { loadConfig } from './config.js';
import { createLogger } from './logger.js';
import type { Service } from './service.js';

// The configuration is checked before the service's modules load: a bad one is reported at
// once (about 0.2 CPU-s), not after seconds of loading Fastify, BullMQ and TF.js.
const config = loadConfig();
const log = createLogger(config.LOG_LEVEL);

// V8 pretenures what an allocation site makes once enough of it has survived young
// collections. A warm-up or warm start (a million cached items read through the lookup routes)
// left the request path's sites tenured, so every later request allocated straight into the
// old generation: ~8 MB/s at 15,000 GETs/s, a mark-compact every 2-3 s (0.2 MB/s without).
// Off in processes that serve the API, before any traffic.
if (config.ROLE !== 'worker') v8.setFlagsFromString('--no-allocation-site-pretenuring');
let service: Service | null = null;
let stopping = false;

// Installed before anything starts, so a signal during start-up also stops the local
// Postgres and Redis cleanly. Errors are close-with-grace's; the signals are ours (below).
const graceful = closeWithGrace({ delay: 40_000, skip: ['SIGINT', 'SIGTERM'] }, async ({ err }) => {
  stopping = true;
  if (err) log.error({ err }, 'shutting down after an error');
  else log.info({ signal: stopSignal }, 'shutting down: finishing in-flight requests and jobs');
  await service?.close();
});

// Ctrl-C on `npm start` reaches this process twice, a few milliseconds apart: the terminal
// signals the whole foreground group, and tsx, the parent, relays what it got. Taken as a
// second request to stop, that copy cut every graceful shutdown short. So a signal within
// a second of the first is the copy and is ignored; a later one forces the exit.
const SAME_SIGNAL_MS = 1000;
let stopSignal: NodeJS.Signals | undefined;
let stopAt = 0;
for (const sig of ['SIGINT', 'SIGTERM'] as const)
  process.on(sig, () => {
    if (stopSignal === undefined) {
      [stopSignal, stopAt] = [sig, Date.now()];
      void graceful.close();
    } else if (Date.now() - stopAt >= SAME_SIGNAL_MS) {
      log.error({ signal: sig }, 'a second signal while shutting down: exiting now');
      process.exit(1);
    }
  });

try {
  const { startService } = await import('./service.js');
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
