// What every bench shares: its own Postgres and Redis in a tmp dir (or a service given
// by --url), the service under test as its own process (tsx src/server.ts), and a
// teardown that always runs — at the end, on an error, on SIGINT/SIGTERM, or when the
// bench overruns its time limit — stopping everything this bench started, in reverse
// order, each step bounded in time.
import { BENCH_KEY } from './key.js';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startLocalPostgres, freePort } from '../../src/dev/postgres.js';
import { startLocalRedis } from '../../src/dev/redis.js';
import { assertLoopback } from './http.js';
import { PG_STATEMENTS } from './pg-statements.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

// ---- teardown -------------------------------------------------------------------------

interface Cleanup {
  name: string;
  fn: () => Promise<void>;
  timeoutMs: number;
}
const cleanups: Cleanup[] = [];
let tearingDown: Promise<void> | null = null;
let interruptedBy: string | null = null;

/** Registers a teardown step (run last-in first-out); returns a function that unregisters it. */
export function addCleanup(name: string, fn: () => Promise<void>, timeoutMs = 60_000): () => void {
  const c = { name, fn, timeoutMs };
  cleanups.push(c);
  return () => {
    const i = cleanups.indexOf(c);
    if (i >= 0) cleanups.splice(i, 1);
  };
}

export function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export class Interrupted extends Error {
  constructor(why: string) {
    super(why);
    this.name = 'Interrupted';
  }
}

export function interrupted(): boolean {
  return interruptedBy !== null;
}

/** Sleep in the bench's main flow: throws once the bench is being torn down. */
export async function sleep(ms: number): Promise<void> {
  if (interruptedBy) throw new Interrupted(interruptedBy);
  const step = 250;
  for (let left = ms; left > 0; left -= step) {
    await delay(Math.min(step, left));
    if (interruptedBy) throw new Interrupted(interruptedBy);
  }
}

export function teardown(): Promise<void> {
  if (!tearingDown) {
    tearingDown = (async () => {
      while (cleanups.length) {
        const c = cleanups.pop()!;
        let timer: NodeJS.Timeout | undefined;
        const limit = new Promise<void>((r) => {
          timer = setTimeout(() => {
            console.error(`[bench] teardown: ${c.name} did not finish in ${c.timeoutMs / 1000} s; moving on`);
            r();
          }, c.timeoutMs);
        });
        await Promise.race([c.fn().catch((err) => console.error(`[bench] teardown: ${c.name}: ${(err as Error).message}`)), limit]);
        clearTimeout(timer);
      }
    })();
  }
  return tearingDown;
}

export function log(msg: string): void {
  console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}`);
}

/** Logs only with BENCH_DEBUG=1: for what is handled elsewhere and only worth seeing when digging. */
export function debug(msg: string): void {
  if (process.env['BENCH_DEBUG'] === '1') log(`debug: ${msg}`);
}

/**
 * Runs a bench: `main` returns the exit code. Errors print and give 1; SIGINT/SIGTERM
 * and the time limit tear down and exit (130 / 1). Teardown always runs before exit.
 */
export function runBench(main: () => Promise<number>, opts: { maxSeconds: number }): void {
  const onSignal = (sig: NodeJS.Signals) => {
    if (interruptedBy) return; // a second signal (terminal + tsx relay): teardown is already bounded
    interruptedBy = sig;
    log(`${sig}: stopping and tearing down`);
    void teardown().finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const watchdog = setTimeout(() => {
    if (interruptedBy) return;
    interruptedBy = 'time limit';
    log(`the bench ran past its time limit (${Math.round(opts.maxSeconds)} s): tearing down`);
    void teardown().finally(() => process.exit(1));
  }, opts.maxSeconds * 1000);
  watchdog.unref();
  void (async () => {
    let code = 1;
    try {
      code = await main();
    } catch (err) {
      if (err instanceof Interrupted || interruptedBy) return; // torn down under it: the signal handler exits
      console.error(`\nbench failed: ${(err as Error).stack ?? String(err)}`);
      printServerLogTail(40);
      code = 1;
    }
    if (interruptedBy) return;
    await teardown();
    process.exit(code);
  })();
}

// ---- the service under test ------------------------------------------------------------

export interface BenchEnv {
  /** Base URL of the service, no trailing slash. */
  url: string;
  /** Whether this bench spawned the service (and so can read its /proc entry). */
  spawned: boolean;
  /** Postgres / Redis the service uses, when known (own ones, or --database / --redis). */
  databaseUrl?: string;
  redisUrl?: string;
  /** pid of the spawned process (the server runs in it, or in its child under tsx's CLI). */
  serverPid?: number;
  /** With `split`: the worker process's pid and the base URL of its health and metrics. */
  worker?: { pid: number; url: string };
}

let serverLogPath: string | null = null;

export function printServerLogTail(lines: number): void {
  if (!serverLogPath || !fs.existsSync(serverLogPath)) return;
  const text = fs.readFileSync(serverLogPath, 'utf8').trimEnd();
  if (!text) return;
  const all = text.split('\n');
  console.error(`\n--- last ${Math.min(lines, all.length)} of ${all.length} lines of the server's log (LOG_LEVEL=warn) ---`);
  console.error(
    all
      .slice(-lines)
      .map((l) => l.slice(0, 400))
      .join('\n'),
  );
}

/** Lines the server logged (warn and above) so far; 0 when it is not ours. */
export function serverLogLines(): number {
  if (!serverLogPath || !fs.existsSync(serverLogPath)) return 0;
  const t = fs.readFileSync(serverLogPath, 'utf8').trim();
  return t ? t.split('\n').length : 0;
}

export async function startEnv(
  opts: {
    url?: string;
    database?: string;
    redis?: string;
    serverEnv?: Record<string, string>;
    /** Run the server as `node --import tsx src/server.ts` (one process, so its pid is the server's) instead of tsx's CLI. */
    nodeImport?: boolean;
    /**
     * As deployed (docker-compose.yml): the API (ROLE=api) and a worker process (ROLE=worker) beside
     * it, on the same Postgres and Redis, instead of one ROLE=all process.
     */
    split?: boolean;
  } = {},
): Promise<BenchEnv> {
  if (opts.url) {
    assertLoopback(opts.url, '--url');
    if (opts.database) assertLoopback(opts.database, '--database');
    if (opts.redis) assertLoopback(opts.redis, '--redis');
    log(`using the running service at ${opts.url}`);
    await waitReady(opts.url, 30_000, null);
    return { url: opts.url, spawned: false, databaseUrl: opts.database, redisUrl: opts.redis };
  }
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'emerflow-bench-'));
  fs.chmodSync(tmp, 0o755);
  addCleanup('tmp dir', async () => {
    // BENCH_KEEP_SERVER_LOG=<file> keeps the service's log for a look afterwards
    const keep = process.env['BENCH_KEEP_SERVER_LOG'];
    if (keep && serverLogPath && fs.existsSync(serverLogPath)) fs.copyFileSync(serverLogPath, keep);
    fs.rmSync(tmp, { recursive: true, force: true });
  });
  log(`starting Postgres and Redis under ${tmp}`);
  // BENCH_PG_SETTINGS='name=value;name=value': server settings for a look inside, e.g.
  // shared_preload_libraries=pg_stat_statements (then CREATE EXTENSION and read the view).
  // BENCH_PG_STATEMENTS=1 preloads pg_stat_statements for the benches that report it (pg-statements.ts).
  const settings = Object.fromEntries(
    [
      process.env['BENCH_PG_SETTINGS'] ?? '',
      PG_STATEMENTS ? 'shared_preload_libraries=pg_stat_statements;pg_stat_statements.track_planning=on' : '',
    ]
      .join(';')
      .split(';')
      .filter(Boolean)
      .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
  );
  const pg = await startLocalPostgres(path.join(tmp, 'pg'), { settings });
  addCleanup('postgres', () => pg.stop(), 60_000);
  const redis = await startLocalRedis(path.join(tmp, 'redis'));
  addCleanup('redis', () => redis.stop(), 30_000);
  serverLogPath = path.join(tmp, 'server.log');
  const base: NodeJS.ProcessEnv = {
    ...process.env,
    DATABASE_URL: pg.url,
    REDIS_URL: redis.url,
    HOST: '127.0.0.1',
    ROLE: opts.split ? 'api' : 'all',
    ADMIN_API_KEY: BENCH_KEY,
    LOG_LEVEL: 'warn',
    DATA_DIR: path.join(tmp, 'data'),
    // e.g. BENCH_SERVER_LOG_LEVEL=debug to see the jobs' own timings in the server log
    ...(process.env['BENCH_SERVER_LOG_LEVEL'] ? { LOG_LEVEL: process.env['BENCH_SERVER_LOG_LEVEL'] } : {}),
    ...opts.serverEnv,
  };
  // Traffic stays on this machine: an LLM endpoint inherited from the shell is dropped
  // unless it is a local one.
  for (const k of ['LLM_BASE_URL'] as const) {
    const v = base[k];
    if (!v) continue;
    let local = false;
    try {
      assertLoopback(v, k);
      local = true;
    } catch {
      /* not local */
    }
    if (!local) {
      log(`ignoring ${k}=${v} from the environment (the benches only talk to 127.0.0.1): the service runs without an LLM`);
      delete base[k];
      delete base['EMBEDDING_MODEL'];
    }
  }
  const server = await spawnServer(base, 'service', opts.nodeImport === true);
  if (!opts.split) return { url: server.url, spawned: true, databaseUrl: pg.url, redisUrl: redis.url, serverPid: server.pid };
  const worker = await spawnServer({ ...base, ROLE: 'worker' }, 'worker', opts.nodeImport === true);
  return { url: server.url, spawned: true, databaseUrl: pg.url, redisUrl: redis.url, serverPid: server.pid, worker };
}

/** Starts src/server.ts on a free port with `env`, logging into the service log; its pid and URL once ready. */
async function spawnServer(env: NodeJS.ProcessEnv, what: string, nodeImport: boolean): Promise<{ pid: number; url: string }> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const out = fs.openSync(serverLogPath!, 'a');
  // BENCH_SERVER_CPU_PROF=<dir>: a V8 CPU profile of the service, written when it stops (node --cpu-prof);
  // BENCH_SERVER_NODE_FLAGS: more flags for its node, e.g. --trace-gc (lines in BENCH_KEEP_SERVER_LOG)
  const prof = process.env['BENCH_SERVER_CPU_PROF'];
  const flags = (process.env['BENCH_SERVER_NODE_FLAGS'] ?? '').split(' ').filter(Boolean);
  const [cmd, args] = nodeImport
    ? [process.execPath, [...(prof ? ['--cpu-prof', `--cpu-prof-dir=${prof}`] : []), ...flags, '--import', 'tsx', 'src/server.ts']]
    : [path.join(ROOT, 'node_modules/.bin/tsx'), ['src/server.ts']];
  log(`starting the ${what} (ROLE=${env['ROLE']}): ${nodeImport ? 'node --import tsx' : 'tsx'} src/server.ts on ${url}`);
  // Its own process group, so a terminal's Ctrl-C reaches it only through this bench
  // (which stops it gracefully) and a stuck server can be killed as a group.
  const child = spawn(cmd, args, {
    cwd: ROOT,
    env: { ...env, PORT: String(port) },
    detached: true,
    stdio: ['ignore', out, out],
  });
  fs.closeSync(out);
  addCleanup(what, () => stopServer(child, interrupted() ? 15_000 : 50_000), 70_000);
  await waitReady(url, 180_000, child);
  log(`${what} ready`);
  return { pid: child.pid!, url };
}

async function waitReady(url: string, timeoutMs: number, child: ChildProcess | null): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    if (child && (child.exitCode !== null || child.signalCode !== null))
      throw new Error(`the service exited during start-up (${child.exitCode ?? child.signalCode})`);
    try {
      const r = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(5000) });
      last = `${r.status} ${await r.text()}`;
      if (r.status === 200) return;
    } catch (err) {
      last = (err as Error).message;
    }
    await sleep(500);
  }
  throw new Error(`the service at ${url} was not ready within ${timeoutMs / 1000} s (last: ${last.slice(0, 300)})`);
}

async function stopServer(child: ChildProcess, graceMs: number): Promise<void> {
  const pid = child.pid;
  if (pid === undefined) return;
  const alive = () => child.exitCode === null && child.signalCode === null;
  if (alive()) {
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGTERM'); // tsx passes it on to the server, which shuts down gracefully
    const clean = await Promise.race([exited.then(() => true), delay(graceMs).then(() => false)]);
    if (!clean) {
      log(`the service did not stop within ${graceMs / 1000} s of SIGTERM: killing its process group`);
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        /* gone */
      }
      await Promise.race([exited, delay(5000)]);
    }
  }
  // Anything left in the group this bench created (e.g. tsx's esbuild service).
  try {
    process.kill(-pid, 0);
    process.kill(-pid, 'SIGKILL');
  } catch {
    /* none left */
  }
}

// ---- /proc ----------------------------------------------------------------------------

/** A file of /proc, or null (the process is gone, or this is not Linux). */
function readProcFile(file: string): string | null {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}

const readProc = (pid: number, file: string): string | null => readProcFile(`/proc/${pid}/${file}`);

/**
 * The process that runs the server: tsx's CLI runs the script in a child node process,
 * so this is the deepest process under `rootPid` whose command line names src/server.ts.
 */
export function serverProcessPid(rootPid: number): number | null {
  const parent = new Map<number, number>();
  for (const e of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    const stat = readProc(Number(e), 'stat');
    if (!stat) continue;
    const after = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    parent.set(Number(e), Number(after[1]));
  }
  let best: { pid: number; depth: number } | null = null;
  for (const pid of [rootPid, ...parent.keys()]) {
    let depth = 0;
    let p: number | undefined = pid;
    while (p !== undefined && p !== rootPid && p > 1) {
      p = parent.get(p);
      depth++;
    }
    if (p !== rootPid) continue;
    const cmd = (readProc(pid, 'cmdline') ?? '').replace(/\0/g, ' ');
    if (!cmd.includes('src/server.ts')) continue;
    if (!best || depth > best.depth) best = { pid, depth };
  }
  return best?.pid ?? null;
}

/** CPU time a process (all its threads) has used, user + system, in seconds, or null. */
export function cpuSeconds(pid: number): number | null {
  const stat = procStat(pid);
  return stat && (Number(stat.fields[11]) + Number(stat.fields[12])) / clockTicks();
}

/**
 * /proc/<pid>/stat: the command name, and the fields after it, from field 3 (state) on: utime
 * and stime (fields 14 and 15, in clock ticks) are fields[11] and fields[12], ppid fields[1].
 */
function procStat(pid: number): { comm: string; fields: string[] } | null {
  const stat = readProc(pid, 'stat');
  if (!stat) return null;
  const close = stat.lastIndexOf(')');
  return { comm: stat.slice(stat.indexOf('(') + 1, close), fields: stat.slice(close + 2).split(' ') };
}

/**
 * CPU seconds of every process on the machine by kind: its command name, or for Postgres
 * what its process title says it is (client backends together); `names` labels known pids.
 * Children that exited count through their parent (cutime, cstime: Postgres's autovacuum
 * workers come and go). Kernel threads are left out.
 */
export function cpuByKind(names: Map<number, string> = new Map()): Map<string, number> {
  const out = new Map<string, number>();
  for (const entry of fs.readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid <= 0) continue;
    const stat = procStat(pid);
    if (!stat) continue;
    const { comm, fields: f } = stat;
    // kernel threads (children of kthreadd) are left out: in this VM their counters run while /proc/stat says idle
    if (pid === 2 || f[1] === '2') continue;
    // utime stime cutime cstime: fields 14-17
    const seconds = (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / clockTicks();
    let kind = names.get(pid) ?? comm;
    if (comm === 'postgres') {
      const title = (readProc(pid, 'cmdline') ?? '').replace(/\0/g, ' ').trim();
      kind = !title.startsWith('postgres: ')
        ? 'postgres (postmaster)'
        : title.includes('(')
          ? 'postgres: client backends'
          : title.replace(/ +$/, '');
    }
    out.set(kind, (out.get(kind) ?? 0) + seconds);
  }
  return out;
}

/** CPU time the whole machine has been busy (every core, all but idle and iowait), in seconds, or null. */
export function machineBusySeconds(): number | null {
  const line = readProcFile('/proc/stat')?.split('\n')[0];
  if (!line?.startsWith('cpu ')) return null;
  const f = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal ...
  const busy = f.reduce((a, b) => a + b, 0) - (f[3] ?? 0) - (f[4] ?? 0);
  return busy / clockTicks();
}

let ticks: number | undefined;
/** USER_HZ: what /proc counts CPU time in (100 on every Linux build we know; getconf says). */
function clockTicks(): number {
  if (ticks === undefined) {
    try {
      ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticks = 100;
    }
  }
  return ticks;
}

/** Resident memory of a process in bytes (VmRSS), or null. */
export function rssBytes(pid: number): number | null {
  const s = readProc(pid, 'status');
  const m = s ? /^VmRSS:\s+(\d+)\s+kB/m.exec(s) : null;
  return m ? Number(m[1]) * 1024 : null;
}
