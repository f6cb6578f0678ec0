// Start-up against a database that is restarting (a deploy, a failover, the chaos test):
// a transient failure is waited out with backoff until a deadline; anything else, or the
// deadline, fails the start with the reason.
import { isTransientDbError } from './errors.js';

export interface WaitLog {
  info(obj: object, msg: string): void;
}

export async function untilDbReady<T>(what: string, fn: () => Promise<T>, opts: { deadlineMs: number; log: WaitLog }): Promise<T> {
  const giveUpAt = Date.now() + opts.deadlineMs;
  for (let wait = 200; ; wait = Math.min(wait * 2, 5000)) {
    try {
      return await fn();
    } catch (err) {
      if (!isTransientDbError(err) || Date.now() + wait > giveUpAt) throw err;
      opts.log.info({ err: (err as Error).message, retryInMs: wait }, `${what}: Postgres not ready, waiting`);
      await new Promise((r) => setTimeout(r, wait));
    }
  }
}
