// Chaos: the real service as separate processes (one API, two workers) on its own
// Postgres and Redis, while events stream in, loses a worker to SIGKILL, then Redis, then
// Postgres (each stopped and started again on the same data and port). Afterwards every
// accepted event must be stored, every emerging item's newest embedding must be refined
// from exactly its stored events, and established items must keep their own vectors.
//
// This test starts its own Postgres and Redis (it restarts them); the shared ones that
// `npm test` provides are not used.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../src/dev/postgres.js';
import { EventStream } from '../support/event-stream.js';
import { makeWorld } from '../support/fixtures.js';
import { HttpClient, mapLimit, type HttpResult } from '../support/http-client.js';
import { poll, seedSpaceOverHttp } from '../support/http-space.js';
import { ServiceProcesses } from '../support/processes.js';
import { RestartablePostgres, RestartableRedis } from '../support/restartable-stores.js';

// Not support/service.js's key: importing that module loads the whole service (seconds of
// CPU), and here the service runs only in its own processes.
const ADMIN_KEY = 'chaos-admin-key-not-secret';
const SPACE = 'chaos';
const USERS = 40;
const ESTABLISHED = 30;
const EMERGING = 100;
// The stream's length in batches (150 events/s in batches of 20: about 8 s, some 12 events an
// item); faults are placed by the stream's progress and by what the service reports, not by the
// clock. The stream goes on until the last fault is over, so events arrive before, during and
// after each of them.
const STREAM_BATCHES = 60;
/** After how many batches: the worker is killed, Redis stopped, Postgres stopped. */
const FAULTS_AT = { killWorker: 11, stopRedis: 23, stopPostgres: 41 };
const CONVERGE_MS = 120_000;
const MAX_PER_ITEM = 150;
/** Printed on failure: the tail of what the service processes wrote. */
const LOG_TAIL_CHARS = 120_000;

async function distinctFreePorts(n: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < n) ports.add(await freePort());
  return [...ports];
}

function listFailures(what: string, total: number, bad: string[]): string {
  const more = bad.length > 20 ? `\n  … and ${bad.length - 20} more` : '';
  return `${bad.length} of ${total} ${what}:\n  ${bad.slice(0, 20).join('\n  ')}${more}`;
}

test(
  'chaos: a killed worker, a Redis restart and a Postgres restart lose no accepted event and leave no item refined from part of its events',
  { timeout: 420_000 },
  async (t) => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'emerflow-chaos-'));
    // every process listens (a worker on its /healthz, /readyz and /metrics): each its own port
    const [pgPort, redisPort, apiPort, ...workerPorts] = (await distinctFreePorts(6)) as [number, number, number, ...number[]];
    const workerPort = (n: 1 | 2 | 3) => String(workerPorts[n - 1]);
    const pg = new RestartablePostgres(path.join(tmp, 'pg'), pgPort);
    const redis = new RestartableRedis(path.join(tmp, 'redis'), redisPort);
    let procs: ServiceProcesses | null = null;
    const http = new HttpClient(`http://127.0.0.1:${apiPort}`, ADMIN_KEY);
    // If the test process dies without its teardown, the stores must not outlive it.
    const lastResort = () => {
      if (pg.running) pg.killNow();
      if (redis.running) redis.killNow();
    };
    process.once('exit', lastResort);
    t.after(async () => {
      http.close();
      // Teardown goes on past a part that fails to stop, and says which.
      const said = (what: string) => (err: Error) => console.error(`chaos teardown: ${what} did not stop cleanly: ${err.message}`);
      await procs?.stopAll().catch(said('the service processes'));
      await redis.stop().catch(said('Redis'));
      await pg.stop().catch(said('Postgres'));
      process.off('exit', lastResort);
      fs.rmSync(tmp, { recursive: true, force: true });
    });

    let failed = false;
    const check = (name: string, fn: () => Promise<void> | void) =>
      t.test(name, async () => {
        try {
          await fn();
        } catch (err) {
          failed = true;
          throw err;
        }
      });
    const t0 = Date.now();
    const timeline: string[] = [];
    const mark = (what: string) => {
      timeline.push(`${((Date.now() - t0) / 1000).toFixed(1)}s ${what}`);
      procs?.note(what);
    };

    try {
      await Promise.all([pg.start(), redis.start()]);
      mark(`Postgres on ${pgPort}, Redis on ${redisPort}`);
      procs = new ServiceProcesses(
        {
          DATABASE_URL: pg.url,
          REDIS_URL: redis.url,
          HOST: '127.0.0.1',
          LOG_LEVEL: 'warn',
          DATA_DIR: path.join(tmp, 'data'),
          TASK_LEASE_MS: '3000',
          // the faults are what is tested here, not the model: a few epochs are enough
          TRAIN_PRESET: 'quick',
          ADMIN_API_KEY: ADMIN_KEY,
        },
        { maxLogChars: LOG_TAIL_CHARS, t0 },
      );
      procs.start('api', { ROLE: 'api', PORT: String(apiPort) });
      procs.start('worker-1', { ROLE: 'worker', PORT: workerPort(1) });
      procs.start('worker-2', { ROLE: 'worker', PORT: workerPort(2) });
      await poll(async () => (await http.get('/healthz').catch(() => null))?.status === 200, 'the API process to answer /healthz', {
        timeoutMs: 90_000,
        everyMs: 250,
      });
      mark('API is up');

      // --- the space: users, established items with their interactions, a model ---
      const world = makeWorld({ dim: 8, users: USERS, items: ESTABLISHED + EMERGING, seed: 7 });
      await seedSpaceOverHttp(http, { space: SPACE, world, established: ESTABLISHED, trainTimeoutMs: 120_000 });
      mark('seeded and trained');
      const established = world.items.slice(0, ESTABLISHED);
      const emerging = world.items.slice(ESTABLISHED);
      const emergingIds = emerging.map((i) => i.id);
      const posted = await http.post(`/v1/spaces/${SPACE}/items`, { items: emerging.map((i) => ({ id: i.id, features: i.features })) });
      assert.equal(posted.status, 202, JSON.stringify(posted.body));
      assert.equal(posted.body.accepted, EMERGING);
      await poll(
        async () => {
          const r = await http.post(`/v1/spaces/${SPACE}/embeddings/lookup`, { ids: emergingIds });
          return r.status === 200 && r.body.missing.length === 0;
        },
        `all ${EMERGING} emerging items to have an embedding`,
        { timeoutMs: 90_000, everyMs: 500 },
      );
      mark('every emerging item has an embedding');

      // --- the stream, with faults ---
      const stream = new EventStream(http, {
        space: SPACE,
        itemIds: emergingIds,
        userIds: world.users.map((u) => u.id),
        ratePerSec: 150,
        batchSize: 20,
        senders: 3,
        maxPerItem: MAX_PER_ITEM,
        maxResendMs: 60_000,
      });
      const reposts = { requests: 0, notUnchanged: [] as string[], errors: [] as string[] };
      const afterBatches = (n: number) =>
        poll(async () => stream.stats.batches >= n, `${n} batches sent`, { timeoutMs: 120_000, everyMs: 50 });
      let streaming = true;
      stream.start();
      mark('stream started');
      // The catalogue re-sends established items now and then: identical content, a no-op.
      const reposter = (async () => {
        let k = 0;
        while (streaming) {
          const some = Array.from({ length: 5 }, () => established[(k++ * 7) % ESTABLISHED]!);
          try {
            const { res } = await http.until(
              'POST',
              `/v1/spaces/${SPACE}/items`,
              { items: some.map((i) => ({ id: i.id, features: i.features, embedding: i.vector })) },
              202,
              { maxMs: 60_000 },
            );
            reposts.requests++;
            if (res.body.unchanged !== some.length) reposts.notUnchanged.push(JSON.stringify(res.body));
          } catch (err) {
            reposts.errors.push((err as Error).message);
          }
          const sent = stream.stats.batches;
          await poll(async () => !streaming || stream.stats.batches >= sent + 10, 'ten more batches', { timeoutMs: 120_000, everyMs: 50 });
        }
      })();
      const chaos = (async () => {
        await afterBatches(FAULTS_AT.killWorker);
        mark(`SIGKILL worker-1 (pid ${procs!.pid('worker-1')})`);
        await procs!.kill('worker-1', 'SIGKILL');
        procs!.start('worker-3', { ROLE: 'worker', PORT: workerPort(3) });
        mark(`started worker-3 (pid ${procs!.pid('worker-3')})`);
        await afterBatches(FAULTS_AT.stopRedis);
        mark('stopping Redis');
        await redis.stop();
        mark('Redis stopped');
        // until the API has seen it: writes go on through the outbox meanwhile
        await poll(async () => (await http.get('/readyz').catch(() => null))?.body?.status === 'degraded', 'the API to see Redis down', {
          timeoutMs: 30_000,
          everyMs: 100,
        });
        await redis.start();
        mark('Redis started again (same dir and port, AOF)');
        await afterBatches(FAULTS_AT.stopPostgres);
        mark('stopping Postgres');
        const resends = http.resends;
        await pg.stop();
        mark('Postgres stopped');
        // until a client has been refused: the stream is then resending what did not get its 202
        await poll(async () => http.resends > resends, 'a request refused while Postgres is down', { timeoutMs: 30_000, everyMs: 50 });
        await pg.start();
        mark('Postgres started again (same dir and port)');
      })();
      await Promise.all([chaos, afterBatches(STREAM_BATCHES)]);
      streaming = false;
      await stream.stop();
      await reposter;
      mark(`stream stopped: ${JSON.stringify(stream.stats)}, ${http.resends} resends in all`);

      // --- convergence: poll the items' state until every item is where it must be ---
      const uncertain = stream.uncertainItems();
      const expected = new Map(emergingIds.filter((id) => !uncertain.has(id)).map((id) => [id, stream.accepted.get(id)!.size]));
      const settled = (id: string, r: HttpResult | null) => {
        const n = expected.get(id)!;
        const e = r?.status === 200 ? r.body.embedding : null;
        return !!e && r!.body.interactions === n && e.interactions === n && e.kind === (n > 0 ? 'refined' : 'cold');
      };
      let pending = [...expected.keys()];
      const c0 = Date.now();
      await poll(
        async () => {
          const views = await mapLimit(pending, 8, (id) => http.get(`/v1/spaces/${SPACE}/items/${id}`).catch(() => null));
          pending = pending.filter((id, i) => !settled(id, views[i]!));
          return pending.length === 0;
        },
        'every item settled',
        { timeoutMs: CONVERGE_MS, everyMs: 250 },
      ).catch(() => undefined); // not converged: the subtests below say which items and why
      mark(
        pending.length ? `not converged after ${CONVERGE_MS} ms: ${pending.length} items unsettled` : `converged in ${Date.now() - c0} ms`,
      );
      const metrics = await http.get('/metrics').catch(() => null);
      const taskLines =
        typeof metrics?.body === 'string' ? metrics.body.split('\n').filter((l: string) => /^emerflow_tasks_(pending|dead)\{/.test(l)) : [];
      // The TAP reporter escapes newlines inside one diagnostic: one line each.
      const diag = (lines: string[]) => {
        for (const l of lines) t.diagnostic(l);
      };
      diag(['timeline:', ...timeline.map((l) => `  ${l}`)]);
      diag([`tasks after convergence: ${taskLines.join(', ') || 'none'}`]);
      diag(
        procs.unexpectedExits.length === 0
          ? ['no service process died by itself']
          : [
              "service processes that died by themselves (and were restarted, as the deployment's restart policy does):",
              ...procs.unexpectedExits.flatMap((e) => [
                `  ${e.name} pid ${e.pid} at ${(e.atMs / 1000).toFixed(1)}s: code ${e.code}, signal ${e.signal}; its last output:`,
                ...e.lastOutput.map((l) => `    ${l.slice(0, 400)}`),
              ]),
            ],
      );

      // --- what must hold ---
      await check('every batch of events got a 202 within the resend bound', () => {
        assert.ok(stream.stats.events > 0, 'the stream sent events');
        assert.deepEqual(stream.neverAccepted, [], 'batches never accepted (their events may or may not be stored)');
        assert.deepEqual(stream.oddAnswers, [], 'answers whose accepted + duplicates do not add up to the batch');
      });

      await check("every accepted event is stored: an item's interactions = its distinct accepted event ids", async () => {
        const bad: string[] = [];
        await mapLimit([...expected], 8, async ([id, n]) => {
          const r = await http.get(`/v1/spaces/${SPACE}/items/${id}`);
          if (r.status !== 200) bad.push(`${id}: GET item answered ${r.status} ${JSON.stringify(r.body)}`);
          else if (r.body.interactions !== n)
            bad.push(`${id}: ${r.body.interactions} interactions stored, ${n} accepted (state ${r.body.state})`);
        });
        assert.equal(bad.length, 0, listFailures('emerging items do not count every accepted event', expected.size, bad));
      });

      await check('the newest embedding of every emerging item is refined from exactly its stored events', async () => {
        const bad: string[] = [];
        await mapLimit([...expected], 8, async ([id, n]) => {
          const r = await http.get(`/v1/spaces/${SPACE}/items/${id}/embedding`);
          if (r.status !== 200) {
            bad.push(`${id}: GET embedding answered ${r.status} ${JSON.stringify(r.body)}`);
            return;
          }
          const e = r.body as { vector: number[]; version: number; kind: string; interactions: number; modelVersion: number | null };
          const problems: string[] = [];
          if (e.kind !== (n > 0 ? 'refined' : 'cold')) problems.push(`kind ${e.kind}`);
          if (e.interactions !== n) problems.push(`built from ${e.interactions} of its ${n} events`);
          if (e.vector.length !== world.dim || !e.vector.every(Number.isFinite)) problems.push(`vector ${JSON.stringify(e.vector)}`);
          if (e.modelVersion === null) problems.push('no model version');
          if (problems.length) bad.push(`${id}: ${problems.join(', ')} (version ${e.version})`);
        });
        assert.equal(
          bad.length,
          0,
          listFailures('emerging items serve an embedding that is not refined from all their events', expected.size, bad),
        );
      });

      await check('established items stay established, kind base, with exactly the vector posted', async () => {
        assert.deepEqual(reposts.errors, [], 're-posts of established items that never got a 202');
        assert.ok(reposts.requests > 0, 'established items were re-posted during the stream');
        assert.deepEqual(reposts.notUnchanged, [], 're-posting identical established items must be a no-op (all unchanged)');
        const r = await http.post(`/v1/spaces/${SPACE}/embeddings/lookup`, { ids: established.map((i) => i.id) });
        assert.equal(r.status, 200, JSON.stringify(r.body));
        assert.deepEqual(r.body.missing, []);
        const byId = new Map((r.body.embeddings as { id: string; vector: number[]; kind: string }[]).map((e) => [e.id, e]));
        const bad: string[] = [];
        for (const item of established) {
          const e = byId.get(item.id);
          if (!e) {
            bad.push(`${item.id}: not in the lookup answer`);
            continue;
          }
          if (e.kind !== 'base') bad.push(`${item.id}: lookup kind ${e.kind}`);
          const want = item.vector.map((x) => Math.fround(x));
          if (e.vector.length !== want.length || e.vector.some((x, d) => x !== want[d]))
            bad.push(`${item.id}: vector ${JSON.stringify(e.vector)} is not the posted ${JSON.stringify(want)}`);
        }
        await mapLimit(established, 8, async (item) => {
          const v = await http.get(`/v1/spaces/${SPACE}/items/${item.id}`);
          if (v.status !== 200 || v.body.state !== 'established' || v.body.embedding?.kind !== 'base')
            bad.push(`${item.id}: GET item answered ${v.status}, state ${v.body?.state}, embedding ${JSON.stringify(v.body?.embedding)}`);
        });
        assert.equal(bad.length, 0, listFailures('established items changed', ESTABLISHED, bad));
      });

      // A process must survive a store's restart: start-up waits out a restarting Postgres
      // (STARTUP_WAIT_MS), and a running process reconnects.
      const crashes = procs.unexpectedExits.map(
        (e) => `${e.name} (pid ${e.pid}) exited by itself at ${(e.atMs / 1000).toFixed(1)}s with code ${e.code}, signal ${e.signal}`,
      );
      await t.test('no service process crashed during the faults', () => {
        assert.deepEqual(crashes, []);
      });
    } catch (err) {
      failed = true;
      throw err;
    } finally {
      t.diagnostic(`total ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      if (failed) {
        process.stderr.write(`\n----- chaos timeline -----\n${timeline.join('\n')}\n`);
        if (procs)
          process.stderr.write(
            `----- service process output (last ${LOG_TAIL_CHARS} chars) -----\n${procs.output()}\n----- end of service output -----\n`,
          );
      }
    }
  },
);
