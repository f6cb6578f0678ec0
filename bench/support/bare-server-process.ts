// Starts bench/support/bare-server.ts as its own process (node --import tsx) and waits
// until it has built its Map and listens; teardown stops it.
import { fork } from 'node:child_process';
import path from 'node:path';
import { ROOT, addCleanup, delay } from './harness.js';
import type { BareConfig, BareMessage } from './bare-server.js';

export interface BareServer {
  url: string;
  pid: number;
  buildS: number;
}

export async function startBareServer(cfg: BareConfig, timeoutMs = 600_000): Promise<BareServer> {
  // BENCH_BARE_CPU_PROF=<dir>: a V8 CPU profile of it, written when it stops (to set beside the service's)
  const prof = process.env['BENCH_BARE_CPU_PROF'];
  const child = fork(path.join(ROOT, 'bench/support/bare-server.ts'), [JSON.stringify(cfg)], {
    cwd: ROOT,
    execArgv: [...(prof ? ['--cpu-prof', `--cpu-prof-dir=${prof}`] : []), '--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  addCleanup(
    'bare server',
    async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([exited, delay(5000)]);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
    10_000,
  );
  let timer: NodeJS.Timeout | undefined;
  try {
    return await new Promise<BareServer>((resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`the bare server was not ready within ${timeoutMs / 1000} s`)), timeoutMs);
      child.on('message', (m: BareMessage) => {
        if (m.type === 'ready') resolve({ url: `http://127.0.0.1:${m.port}`, pid: child.pid!, buildS: m.buildS });
        else reject(new Error(`the bare server failed: ${m.message}`));
      });
      child.once('exit', (code, signal) => reject(new Error(`the bare server exited during start-up (${code ?? signal})`)));
    });
  } finally {
    clearTimeout(timer);
  }
}
