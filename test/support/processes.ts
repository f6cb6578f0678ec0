// Runs the real service as separate OS processes (its compiled copy, or `src/server.ts` through tsx), the
// way a deployment does: one per role, each its own pid, killable with a real signal.
// Keeps the tail of every process's output for the failure report, and, like the
// deployment's `restart: unless-stopped`, starts a process again when it dies by itself
// (each such exit is recorded, so a test can report it).
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
/** Where package.json is: two levels up from source, three from the compiled copy in .test-build. */
export const REPO_ROOT = fs.existsSync(path.resolve(HERE, '../../package.json'))
  ? path.resolve(HERE, '../..')
  : path.resolve(HERE, '../../..');
/** What `npm start` runs (`tsx src/server.ts`), as node arguments from REPO_ROOT: the source through the tsx loader. */
export const SOURCE_SERVER_ARGS: readonly string[] = ['--import', 'tsx', 'src/server.ts'];
/**
 * Node arguments that run an entry point of src/ (`source`, e.g. 'src/cli/main.ts') as the code this
 * test runs: its compiled copy when the suite is compiled (no loader to pay for in every process),
 * else the source through tsx.
 */
export function entryArgs(source: string): string[] {
  return import.meta.url.endsWith('.js')
    ? ['--enable-source-maps', path.resolve(HERE, '../..', source.replace(/\.ts$/, '.js'))]
    : ['--import', 'tsx', path.join(REPO_ROOT, source)];
}
/** The service entry of the code this test runs (entryArgs). */
export const SERVER_ARGS: readonly string[] = entryArgs('src/server.ts');

export interface ProcessExit {
  name: string;
  pid: number;
  code: number | null;
  signal: NodeJS.Signals | null;
  atMs: number;
  lastOutput: string[];
}

interface Managed {
  name: string;
  env: Record<string, string>;
  child: ChildProcess;
  exited: Promise<void>;
  /** Set when the test itself ends or kills the process: no restart, not "unexpected". */
  expected: boolean;
  restarts: number;
  /** The process's own last lines of output. */
  recent: string[];
}

/** A bounded log of every process's output, lines prefixed with the process name and time. */
class LogTail {
  private chunks: string[] = [];
  private size = 0;
  constructor(
    private readonly maxChars: number,
    private readonly t0: number,
  ) {}

  add(name: string, text: string): void {
    const stamp = ((Date.now() - this.t0) / 1000).toFixed(1).padStart(6);
    const lines = text
      .split('\n')
      .filter((l) => l.length > 0)
      .map((l) => `${stamp}s [${name}] ${l}\n`)
      .join('');
    this.chunks.push(lines);
    this.size += lines.length;
    while (this.size > this.maxChars && this.chunks.length > 1) this.size -= this.chunks.shift()!.length;
  }

  text(): string {
    return this.chunks.join('');
  }
}

export class ServiceProcesses {
  private procs = new Map<string, Managed>();
  private stopping = false;
  private readonly t0: number;
  private readonly log: LogTail;
  private readonly maxRestarts: number;
  readonly unexpectedExits: ProcessExit[] = [];
  private readonly onExit = () => {
    for (const m of this.procs.values()) if (m.child.exitCode === null && m.child.signalCode === null) m.child.kill('SIGKILL');
  };

  /** `t0`: the clock the log's times count from (default: now). */
  constructor(
    private readonly baseEnv: Record<string, string>,
    opts: { maxLogChars?: number; maxRestarts?: number; t0?: number } = {},
  ) {
    this.t0 = opts.t0 ?? Date.now();
    this.log = new LogTail(opts.maxLogChars ?? 400_000, this.t0);
    this.maxRestarts = opts.maxRestarts ?? 20;
    // Last resort if the test process exits without its teardown: leave no service behind.
    process.once('exit', this.onExit);
  }

  /** Starts the service (SERVER_ARGS) with the base env plus `env`, under `name`. */
  start(name: string, env: Record<string, string>): number {
    if (this.alive(name)) throw new Error(`process ${name} is already running`);
    const m = this.spawn(name, env, this.procs.get(name)?.restarts ?? 0);
    return m.child.pid!;
  }

  pid(name: string): number | undefined {
    return this.procs.get(name)?.child.pid;
  }

  alive(name: string): boolean {
    const c = this.procs.get(name)?.child;
    return !!c && c.exitCode === null && c.signalCode === null;
  }

  /** Sends `signal` and waits until the process is gone; SIGKILL after `graceMs`. No restart follows. */
  async kill(name: string, signal: NodeJS.Signals = 'SIGKILL', graceMs = 5000): Promise<void> {
    const m = this.procs.get(name);
    if (!m) return;
    m.expected = true;
    if (m.child.exitCode !== null || m.child.signalCode !== null) return;
    m.child.kill(signal);
    let timer: NodeJS.Timeout | undefined;
    const forced = new Promise<void>((r) => {
      timer = setTimeout(() => {
        m.child.kill('SIGKILL');
        r();
      }, graceMs);
    });
    await Promise.race([m.exited, forced]);
    clearTimeout(timer);
    await m.exited;
  }

  /** Ends every process: SIGTERM (graceful), SIGKILL after `graceMs`. */
  async stopAll(graceMs = 5000): Promise<void> {
    this.stopping = true;
    await Promise.all([...this.procs.keys()].map((n) => this.kill(n, 'SIGTERM', graceMs)));
    process.off('exit', this.onExit);
  }

  output(): string {
    return this.log.text();
  }

  note(text: string): void {
    this.log.add('test', text);
  }

  private spawn(name: string, env: Record<string, string>, restarts: number): Managed {
    const childEnv: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined) childEnv[k] = v;
    // The test runner's own variables must not leak into the service.
    delete childEnv['NODE_TEST_CONTEXT'];
    delete childEnv['NODE_OPTIONS'];
    Object.assign(childEnv, this.baseEnv, env);
    // node itself (not the tsx CLI, which would put a second process in between): a signal reaches the service.
    const child = spawn(process.execPath, SERVER_ARGS, {
      cwd: REPO_ROOT,
      env: childEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const m: Managed = {
      name,
      env,
      child,
      expected: false,
      restarts,
      recent: [],
      exited: new Promise<void>((r) => child.once('exit', () => r())),
    };
    const onOutput = (s: string) => {
      this.log.add(name, s);
      m.recent.push(
        ...s
          .split('\n')
          .filter((l) => l.length > 0)
          .map((l) => l.slice(0, 2000)),
      );
      if (m.recent.length > 20) m.recent.splice(0, m.recent.length - 20);
    };
    child.stdout!.setEncoding('utf8').on('data', onOutput);
    child.stderr!.setEncoding('utf8').on('data', onOutput);
    child.once('error', (err) => this.log.add(name, `spawn error: ${err.message}`));
    child.once('exit', (code, signal) => {
      this.log.add(name, `exited (code ${code}, signal ${signal})`);
      if (m.expected || this.stopping) return;
      this.unexpectedExits.push({ name, pid: child.pid ?? -1, code, signal, atMs: Date.now() - this.t0, lastOutput: [...m.recent] });
      if (m.restarts >= this.maxRestarts) {
        this.log.add(name, 'not restarted: too many restarts');
        return;
      }
      // The deployment's restart policy; the pause only keeps a crash loop from eating the CPU.
      setTimeout(() => {
        if (!this.stopping && this.procs.get(name) === m) {
          this.log.add(name, 'restarting');
          this.spawn(name, env, m.restarts + 1);
        }
      }, 1000).unref();
    });
    this.procs.set(name, m);
    return m;
  }
}
