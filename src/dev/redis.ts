// A local redis-server for `npm start` and the tests when REDIS_URL is unset.
// Runs with the settings BullMQ needs in production: append-only file on (a restart
// keeps the queues) and maxmemory-policy noeviction (Redis never drops a job key).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { freePort } from './postgres.js';
import { stopLeftover } from './leftover.js';

export interface LocalRedis {
  url: string;
  port: number;
  stop(): Promise<void>;
}

export function findRedisServer(): string | null {
  const r = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' });
  const p = r.stdout.trim();
  return r.status === 0 && p ? p : null;
}

/** Finds redis-server, installing Debian's package when running as root on Debian/Ubuntu. */
export function ensureRedisServer(log: (msg: string) => void): string {
  const found = findRedisServer();
  if (found) return found;
  const isRoot = process.getuid?.() === 0;
  const hasApt = fs.existsSync('/usr/bin/apt-get');
  if (isRoot && hasApt) {
    log('redis-server is not installed; installing the Debian package redis-server (apt-get)');
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
    const r = spawnSync('apt-get', ['install', '-y', '-qq', 'redis-server'], { stdio: 'inherit', env });
    const after = findRedisServer();
    if (r.status === 0 && after) return after;
  }
  throw new Error(
    'redis-server is not installed. Install it with: sudo apt-get install -y redis-server (or set REDIS_URL to a running Redis)',
  );
}

export async function startLocalRedis(dir: string, opts: { port?: number; log?: (msg: string) => void } = {}): Promise<LocalRedis> {
  const bin = ensureRedisServer(opts.log ?? (() => {}));
  fs.mkdirSync(dir, { recursive: true });
  const port = opts.port ?? (await freePort());
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--dir',
    path.resolve(dir),
    '--appendonly',
    'yes',
    '--maxmemory-policy',
    'noeviction',
    '--save',
    '',
    '--daemonize',
    'no',
    '--protected-mode',
    'yes',
    // read by the next start, which stops a redis-server an earlier (killed) run left behind
    '--pidfile',
    path.resolve(dir, 'redis.pid'),
  ];
  if (await stopLeftover(path.resolve(dir, 'redis.pid'), 'redis-server', 'SIGTERM'))
    opts.log?.('stopped the redis-server an earlier run left on this data directory');
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  await waitForReady(child, port);
  return { url: `redis://127.0.0.1:${port}`, port, stop: () => stopChild(child) };
}

function waitForReady(child: ChildProcess, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`redis-server did not start on port ${port}: ${out.slice(-500)}`)), 15_000);
    const onData = (b: Buffer) => {
      out += b.toString();
      if (out.includes('Ready to accept connections')) {
        clearTimeout(timer);
        child.stdout?.off('data', onData);
        child.stdout?.resume();
        resolve();
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (b: Buffer) => {
      out += b.toString();
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`redis-server exited with ${code}: ${out.slice(-500)}`));
    });
  });
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}
