// The README's first command, as a real process: with no DATABASE_URL or REDIS_URL it
// starts its own PostgreSQL and Redis under DATA_DIR, serves, shuts down gracefully on
// SIGINT (sent twice, as Ctrl-C on npm start does), and finds its data again on the next start.
// The first start on a fresh DATA_DIR runs what `npm start` runs (tsx src/server.ts); the other
// starts run the code the suite runs (compiled), since the loader is not what they are about.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess, type SpawnSyncReturns } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../src/dev/postgres.js';
import { defer, waitFor } from './support/service.js';
import { REPO_ROOT, SERVER_ARGS, SOURCE_SERVER_ARGS } from './support/processes.js';

/**
 * `source`: what `npm start` runs, the tsx loader included (the first start on a fresh DATA_DIR);
 * `suite`: the code this suite runs (compiled when it is), where the loader is not the point.
 */
function start(
  env: Record<string, string>,
  entry: 'source' | 'suite' = 'suite',
): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const { DATABASE_URL: _d, REDIS_URL: _r, ...rest } = process.env;
  const child = spawn(process.execPath, entry === 'source' ? SOURCE_SERVER_ARGS : SERVER_ARGS, {
    cwd: REPO_ROOT,
    env: { ...rest, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (b: Buffer) => {
    out += b.toString();
  });
  child.stderr!.on('data', (b: Buffer) => {
    out += b.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => out, exited };
}

// The Postgres cluster the first test initialised, once both its runs have stopped cleanly: a
// later test that is not about initialising one starts on a copy (initdb costs seconds of CPU).
const dataDirs: string[] = [];
let initialisedCluster: string | null = null;
after(() => {
  for (const d of dataDirs) fs.rmSync(d, { recursive: true, force: true });
});

/** A new DATA_DIR, holding a copy of the initialised cluster when there is one. */
function dataDirForRestarts(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  dataDirs.push(dir);
  const from = initialisedCluster;
  // cp -a: the cluster's files keep their owner (as root, the postgres user) and modes, which Postgres checks
  if (from)
    for (const name of ['postgres', 'postgres.password']) {
      const copied: SpawnSyncReturns<string> = spawnSync('cp', ['-a', path.join(from, name), dir], { encoding: 'utf8' });
      assert.equal(copied.status, 0, `copying the initialised cluster: ${copied.stderr}`);
    }
  return dir;
}

test('npm start on embedded defaults: serves, stops gracefully, keeps its data', async (t) => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'emerflow-start-'));
  dataDirs.push(dataDir);
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const env = { DATA_DIR: dataDir, PORT: String(port), HOST: '127.0.0.1' };

  const first = start(env, 'source');
  defer(t, () => {
    first.child.kill('SIGKILL');
  });
  const ready = await waitFor(
    async () => {
      const r = await fetch(`${base}/readyz`).catch(() => null);
      return r?.ok ? (r.json() as Promise<{ postgres: string; redis: string; backend: string }>) : null;
    },
    `the service to be ready; output so far:\n${first.output().slice(-2000)}`,
    120_000,
  );
  assert.equal(ready.postgres, 'ok');
  assert.equal(ready.redis, 'ok');
  assert.ok(fs.existsSync(path.join(dataDir, 'postgres', 'PG_VERSION')), 'Postgres data under DATA_DIR');
  assert.ok(fs.existsSync(path.join(dataDir, 'redis')), 'Redis data under DATA_DIR');
  // No ADMIN_API_KEY and no key yet: the first start made one, in a file only its owner reads,
  // and logged where it is — never the key itself.
  const keyFile = path.join(dataDir, 'admin-api-key');
  assert.equal(fs.statSync(keyFile).mode & 0o777, 0o600);
  const key = fs.readFileSync(keyFile, 'utf8').trim();
  assert.match(first.output(), /admin-api-key/);
  assert.ok(!first.output().includes(key), 'the key is never logged');
  const anonymous = await fetch(`${base}/v1/spaces/kept`);
  assert.equal(anonymous.status, 401);
  const created = await fetch(`${base}/v1/spaces`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ id: 'kept', dim: 4, itemType: 'song', scorer: 'dot' }),
  });
  assert.equal(created.status, 201);

  // Ctrl-C on `npm start` signals this process twice (the terminal, and tsx relaying it): the
  // copy must not cut the graceful shutdown short. (Sent back to back, the kernel would merge
  // them into one: the copy follows once the first is being handled)
  first.child.kill('SIGINT');
  await waitFor(async () => /shutting down/.test(first.output()) || null, 'the shutdown to begin', 10_000);
  first.child.kill('SIGINT');
  assert.equal(await first.exited, 0, first.output().slice(-2000));
  assert.match(first.output(), /shutting down/);
  assert.doesNotMatch(first.output(), /exiting now|second SIGINT/);

  const second = start(env);
  defer(t, () => {
    second.child.kill('SIGKILL');
  });
  const space = await waitFor(
    async () => {
      const r = await fetch(`${base}/v1/spaces/kept`, { headers: { authorization: `Bearer ${key}` } }).catch(() => null);
      return r?.ok ? (r.json() as Promise<{ id: string; dim: number }>) : null;
    },
    'the restarted service',
    60_000,
  ).catch((err) => {
    throw new Error(`${(err as Error).message}; output:\n${second.output().slice(-3000)}`);
  });
  assert.equal(space.dim, 4);
  second.child.kill('SIGTERM');
  assert.equal(await second.exited, 0, second.output().slice(-3000));
  initialisedCluster = dataDir;
});

test('a bad configuration stops the process with every problem named', async () => {
  const bad = start({ PORT: 'eighty', ROLE: 'everything' });
  assert.notEqual(await bad.exited, 0);
  assert.match(bad.output(), /PORT must be an integer/);
  assert.match(bad.output(), /ROLE must be one of api, worker, all/);
});

test('after SIGKILL, npm start on the same DATA_DIR is ready again with every item and event', async (t) => {
  // What a SIGKILL leaves behind is the point here, not a first start: the cluster may be a copy.
  const dataDir = dataDirForRestarts('emerflow-kill-');
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const key = 'kill-test-admin-key';
  const env = { DATA_DIR: dataDir, PORT: String(port), HOST: '127.0.0.1', ADMIN_API_KEY: key };
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${key}` };
  const ready = (p: ReturnType<typeof start>) =>
    waitFor(async () => (await fetch(`${base}/readyz`).catch(() => null))?.ok, `ready; output:\n${p.output().slice(-2000)}`, 60_000);
  const send = (url: string, body: unknown) => fetch(`${base}${url}`, { method: 'POST', headers, body: JSON.stringify(body) });

  const first = start(env);
  defer(t, () => {
    first.child.kill('SIGKILL');
  });
  await ready(first);
  assert.equal((await send('/v1/spaces', { id: 's', dim: 2, itemType: 'song', scorer: 'dot' })).status, 201);
  assert.equal((await send('/v1/spaces/s/items', { items: [{ id: 'a', features: { t: 'A' } }] })).status, 202);
  const events = Array.from({ length: 5 }, (_, i) => ({ id: `e${i}`, userId: 'u', itemId: 'a', label: 1 }));
  assert.equal((await send('/v1/spaces/s/interactions', { events })).status, 202);
  // No goodbye: the process dies, and the Postgres and Redis it started go on running.
  first.child.kill('SIGKILL');
  await first.exited;

  const second = start(env);
  defer(t, async () => {
    second.child.kill('SIGTERM');
    await second.exited;
  });
  await ready(second);
  const item = await fetch(`${base}/v1/spaces/s/items/a`, { headers });
  assert.equal(item.status, 200, second.output().slice(-2000));
  assert.equal(((await item.json()) as { interactions: number }).interactions, 5);
  assert.match(second.output(), /stopped the (Postgres|redis-server) an earlier run left/);
});
