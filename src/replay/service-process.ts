// The service the replay talks to when no --url is given: `src/server.ts` in a process of its
// own, on embedded defaults (its own Postgres and Redis under a temporary DATA_DIR, as
// `npm start` runs), with a fresh admin key. Stopped with SIGTERM (a graceful shutdown), and
// its process group killed if that does not end it.
import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../dev/postgres.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
/** Where package.json is: two levels up from source, three from a compiled copy (the test build). */
const ROOT = fs.existsSync(path.resolve(HERE, '../../package.json')) ? path.resolve(HERE, '../..') : path.resolve(HERE, '../../..');
/** The service entry beside this code: compiled when this is, else from source through tsx. */
const SERVER_ARGS = import.meta.url.endsWith('.js')
  ? ['--enable-source-maps', path.resolve(HERE, '../server.js')]
  : ['--import', 'tsx', path.join(ROOT, 'src/server.ts')];

export interface ServiceProcess {
  url: string;
  key: string;
  /** the service's log (LOG_LEVEL warn), for a look when something went wrong */
  logPath: string;
  stop(): Promise<void>;
}

async function waitReady(url: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`the service exited during start-up (${child.exitCode ?? child.signalCode})`);
    try {
      const r = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(5000) });
      if (r.status === 200) return;
      last = `${r.status} ${await r.text()}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`the service was not ready within ${timeoutMs / 1000} s (last: ${last.slice(0, 300)})`);
}

export async function startServiceProcess(env: Record<string, string>): Promise<ServiceProcess> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'emerflow-replay-'));
  const port = await freePort();
  const key = crypto.randomBytes(24).toString('base64url');
  const url = `http://127.0.0.1:${port}`;
  const logPath = path.join(dir, 'service.log');
  const out = fs.openSync(logPath, 'a');
  const child = spawn(process.execPath, SERVER_ARGS, {
    cwd: ROOT,
    env: {
      ...process.env,
      DATABASE_URL: '',
      REDIS_URL: '',
      DATA_DIR: path.join(dir, 'data'),
      PORT: String(port),
      HOST: '127.0.0.1',
      ROLE: 'all',
      ADMIN_API_KEY: key,
      LOG_LEVEL: 'warn',
      ...env,
    },
    detached: true, // its own process group: a Ctrl-C reaches it through the replay only
    stdio: ['ignore', out, out],
  });
  fs.closeSync(out);
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill('SIGTERM');
      // The grace timer is cleared once the service exits: left running, it kept the replay's
      // process alive for the rest of the minute after a clean stop.
      let timer: NodeJS.Timeout | undefined;
      const clean = await Promise.race([
        exited.then(() => true),
        new Promise<boolean>((r) => (timer = setTimeout(() => r(false), 60_000))),
      ]).finally(() => clearTimeout(timer));
      if (!clean && child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
    }
    fs.rmSync(path.join(dir, 'data'), { recursive: true, force: true });
  };
  try {
    await waitReady(url, child, 180_000);
  } catch (err) {
    await stop();
    throw new Error(`${(err as Error).message}; the service's log: ${logPath}`);
  }
  return { url, key, logPath, stop };
}
