// One LISTEN connection kept up: taken from the pool, destroyed (never handed back) when
// it is lost, and opened again with backoff until it is. Notifications sent while it is
// down are lost, so `onDown` and `onUp` let the owner make up for them (the relay polls
// at once; the lookup cache goes off and comes back empty).
import type { Db, Tx } from './pool.js';

interface Log {
  info(obj: object | string, msg?: string): void;
  warn(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
}

export interface ListenOptions {
  onNotification(payload: string | undefined): void;
  /** After the first LISTEN and after every one that follows a loss. */
  onUp?(again: boolean): void;
  onDown?(err: Error | undefined): void;
  log: Log;
  /** What the log lines call this listener, and what happens while it is down. */
  what: string;
  whileDown: string;
  relistenMs?: number;
}

export interface Listener {
  readonly listening: boolean;
  close(): Promise<void>;
}

export async function keepListening(db: Db, channel: string, opts: ListenOptions): Promise<Listener> {
  const base = opts.relistenMs ?? 500;
  let client: Tx | null = null;
  let stopped = false;
  let timer: NodeJS.Timeout | null = null;
  let delay = base;

  const connect = async (again: boolean): Promise<void> => {
    const c = await db.connect();
    let lost = false;
    const onLost = (err?: Error) => {
      if (lost) return;
      lost = true;
      if (client === c) client = null;
      c.release(err ?? true); // destroy it: never hand a dead connection back to the pool
      if (stopped) return;
      opts.onDown?.(err);
      opts.log.warn({ err: err?.message }, `${opts.what} lost its LISTEN connection; ${opts.whileDown}`);
      schedule();
    };
    c.on('error', onLost);
    c.on('end', () => onLost());
    c.on('notification', (n) => {
      if (n.channel === channel) opts.onNotification(n.payload);
    });
    try {
      await c.query(`LISTEN ${channel}`);
    } catch (err) {
      onLost(err as Error);
      throw err;
    }
    if (lost) return;
    client = c;
    delay = base;
    opts.onUp?.(again);
  };

  const schedule = () => {
    if (stopped || timer) return;
    timer = setTimeout(() => {
      timer = null;
      if (stopped || client) return;
      connect(true).then(
        () => opts.log.info(`${opts.what} listens again`),
        () => schedule(),
      );
    }, delay);
    delay = Math.min(delay * 2, 30_000);
  };

  await connect(false);
  return {
    get listening() {
      return client !== null;
    },
    async close() {
      stopped = true;
      if (timer) clearTimeout(timer);
      const c = client;
      client = null;
      if (!c) return;
      await c
        .query(`UNLISTEN ${channel}`)
        .catch((err: Error) => opts.log.debug({ err: err.message }, 'UNLISTEN failed; the connection is closed anyway'));
      // its loss handlers would release it a second time
      c.removeAllListeners('end');
      c.removeAllListeners('error');
      c.on('error', (err: Error) => opts.log.debug({ err: err.message }, 'listener errored after close'));
      c.release();
    },
  };
}
