// Entry point: configuration, logger, the service, listen, graceful shutdown.
import closeWithGrace from 'close-with-grace';
import { loadConfig } from './config.js';
import { createLogger } from './logger.js';
import { startService } from './service.js';

const config = loadConfig();
const log = createLogger(config.LOG_LEVEL);
const service = await startService(config, log);
if (service.app) {
  await service.app.listen({ port: config.PORT, host: config.HOST });
}
log.info({ role: config.ROLE, port: config.PORT }, 'EmerFlow is running');

closeWithGrace({ delay: 30_000 }, async ({ signal, err }) => {
  if (err) log.error({ err }, 'shutting down after an error');
  else log.info({ signal }, 'shutting down: finishing in-flight requests and jobs');
  await service.close();
});
