// An onClose hook with a bound: a part that cannot close (a Redis that is down) must not
// hang shutdown; after CLOSE_LIMIT_MS the next part closes anyway.
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';

const CLOSE_LIMIT_MS = 35_000;

export function closeWithin(app: FastifyInstance, log: Logger, part: string, close: () => Promise<void> | void): void {
  app.addHook('onClose', async () => {
    let timer: NodeJS.Timeout | undefined;
    const limit = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        log.warn({ part }, 'a part did not close in time');
        resolve();
      }, CLOSE_LIMIT_MS);
    });
    const closing = Promise.resolve()
      .then(close)
      .catch((err: Error) => log.warn({ err, part }, 'close failed'));
    await Promise.race([closing, limit]);
    clearTimeout(timer);
  });
}
