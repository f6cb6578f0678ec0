// Starts the load generator in its own process (node --import tsx), hands it its
// configuration, and returns its figures. The child is killed on teardown if still there.
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { ROOT, addCleanup, debug, delay } from './harness.js';
import type { FromChild, LoadConfig, LoadStats, ToChild } from './loadgen-protocol.js';

export class LoadGen {
  private constructor(
    private readonly child: ChildProcess,
    readonly done: Promise<LoadStats>,
    private readonly startedP: Promise<void>,
    private readonly removeCleanup: () => void,
  ) {}

  latest: LoadStats | null = null;

  /** Forks the generator and waits until it has built its data and is ready to send. */
  static async start(config: LoadConfig, onProgress?: (s: LoadStats) => void): Promise<LoadGen> {
    const child = fork(path.join(ROOT, 'bench/support/loadgen.ts'), [], {
      cwd: ROOT,
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    let self: LoadGen | null = null;
    let readyResolve: () => void = () => {};
    let readyReject: (e: Error) => void = () => {};
    const ready = new Promise<void>((res, rej) => {
      readyResolve = res;
      readyReject = rej;
    });
    let startedResolve: () => void = () => {};
    const started = new Promise<void>((r) => {
      startedResolve = r;
    });
    const done = new Promise<LoadStats>((resolve, reject) => {
      let final: LoadStats | null = null;
      let failure: string | null = null;
      child.on('message', (m: FromChild) => {
        if (m.type === 'ready') readyResolve();
        else if (m.type === 'started') startedResolve();
        else if (m.type === 'progress') {
          if (self) self.latest = m.stats;
          onProgress?.(m.stats);
        } else if (m.type === 'done') {
          final = m.stats;
          if (self) self.latest = m.stats;
        } else if (m.type === 'error') failure = m.message;
      });
      child.once('exit', (code, signal) => {
        const err = new Error(`load generator exited (${code ?? signal})${failure ? `: ${failure}` : ' before reporting its figures'}`);
        readyReject(err);
        startedResolve();
        if (final) resolve(final);
        else reject(err);
      });
    });
    // finish() rethrows it to the caller; until then it must not count as unhandled.
    done.catch((err: Error) => debug(`load generator: ${err.message} (finish() reports it)`));
    const removeCleanup = addCleanup(
      'load generator',
      async () => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        child.kill('SIGTERM');
        await Promise.race([new Promise((r) => child.once('exit', r)), delay(5000)]);
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      },
      10_000,
    );
    child.send({ type: 'start', config } satisfies ToChild);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      ready,
      new Promise<never>((_, rej) => {
        timer = setTimeout(() => rej(new Error('load generator not ready within 60 s')), 60_000);
      }),
    ]).finally(() => clearTimeout(timer));
    self = new LoadGen(child, done, started, removeCleanup);
    return self;
  }

  /** Starts the clock in the generator; resolves when it has started sending. */
  async go(): Promise<void> {
    this.child.send({ type: 'go' } satisfies ToChild);
    await this.startedP;
  }

  stop(): void {
    if (this.child.connected) this.child.send({ type: 'stop' } satisfies ToChild);
  }

  async finish(): Promise<LoadStats> {
    try {
      return await this.done;
    } finally {
      this.removeCleanup();
    }
  }
}
