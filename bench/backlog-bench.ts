// Backlog: a trained space with --items emerging items (all with a cold embedding), then
// POST /train again, which schedules a re-embed of every emerging item with the new
// model in one transaction. Measured: the time until every emerging item is re-embedded
// with the new model, items re-embedded per second, peak Redis memory while the backlog
// drains (INFO memory, every 1 s), and dispatches per task: Δemerflow_relay_dispatched_total
// / Δemerflow_tasks_done_total over the re-embed, plus what the `tasks` table shows when
// sampled every 1 s (rows are deleted when done, so only pending tasks are visible).
//
// Run: npm run bench:backlog [-- --url URL [--database URL] [--redis URL]] [--items 100000]
// Without --url it starts its own Postgres, Redis and service (tsx src/server.ts) and
// reads Postgres and Redis directly; with --url, Postgres / Redis figures need
// --database / --redis (else n/a). Exit code 0 whatever the figures; 1 on errors.
import os from 'node:os';
import pg from 'pg';
import { Redis } from 'ioredis';
import { parseArgs, num, url } from './support/args.js';
import { Api } from './support/http.js';
import {
  addCleanup,
  debug,
  delay,
  interrupted,
  log,
  printServerLogTail,
  runBench,
  serverLogLines,
  sleep,
  startEnv,
} from './support/harness.js';
import { promDelta, promValue, type Prom } from './support/prom.js';
import { postEmerging, setupTrainedSpace, train, waitForEmbeddings, type SpaceView } from './support/setup.js';
import { fixed, int, mib, secs, table, thin } from './support/stats.js';
import { World, rng, mix } from './support/world.js';

const opts = parseArgs('npm run bench:backlog -- [options]', {
  url: { help: 'use this running service instead of starting one (127.0.0.1 only)' },
  database: { help: "with --url: the service's Postgres, for the tasks table and exact re-embed counts" },
  redis: { help: "with --url: the service's Redis, for INFO memory" },
  items: { default: '100000', help: 'emerging items to re-embed' },
  'sample-items': { default: '200', help: 'items whose GET …/embedding modelVersion is checked at the end' },
  users: { default: '500', help: 'users with vectors' },
  established: { default: '300', help: 'established items the model trains on' },
  'events-per-item': { default: '80', help: 'interactions per established item' },
  seed: { default: '1', help: 'seed of the synthetic world' },
  'train-timeout': { default: '1800', help: 'seconds to wait for each training' },
  'cold-timeout': { default: '0', help: 'seconds to wait for the first cold embeddings (0: 600 + items/20)' },
  'reembed-timeout': { default: '0', help: 'seconds to wait for the re-embed after training (0: 600 + items/10)' },
});
const URL_ = url('url', opts.url);
const DATABASE = url('database', opts.database);
const REDIS = url('redis', opts.redis);
const ITEMS = num('items', opts.items, { min: 1, max: 10_000_000, integer: true });
const SAMPLE = Math.min(ITEMS, num('sample-items', opts['sample-items'], { min: 1, max: 10_000, integer: true }));
const USERS = num('users', opts.users, { min: 1, max: 1_000_000, integer: true });
const ESTABLISHED = num('established', opts.established, { min: 2, max: 100_000, integer: true });
const EVENTS_PER_ITEM = num('events-per-item', opts['events-per-item'], { min: 1, max: 10_000, integer: true });
const SEED = num('seed', opts.seed, { integer: true });
const TRAIN_TIMEOUT_MS = num('train-timeout', opts['train-timeout'], { min: 10 }) * 1000;
const COLD_TIMEOUT_MS = (num('cold-timeout', opts['cold-timeout'], { min: 0 }) || 600 + ITEMS / 20) * 1000;
const REEMBED_TIMEOUT_MS = (num('reembed-timeout', opts['reembed-timeout'], { min: 0 }) || 600 + ITEMS / 10) * 1000;
const DIM = 32;
const TARGET_DISPATCHES = 1.05;
const DISPATCHED = ['emerflow_relay_dispatched_total', 'emerflow_tasks_dispatched_total'];
const DONE = ['emerflow_tasks_done_total', 'emerflow_tasks_completed_total'];

interface QueueRows {
  rows: number;
  dispatches: number;
  maxDispatches: number;
  redispatched: number;
}
interface Sample {
  t: number;
  phase: string;
  embedPending?: number;
  refinePending?: number;
  redisUsed?: number;
  tasks?: Record<string, QueueRows>;
  reembedded?: number;
  prom: Prom | null;
}

async function main(): Promise<number> {
  const env = await startEnv({ url: URL_, database: DATABASE, redis: REDIS });
  const api = new Api(env.url);
  const world = new World(SEED, DIM, USERS);
  const space = `backlog-${Date.now().toString(36)}`;
  const sp = encodeURIComponent(space);

  let db: pg.Pool | null = null;
  if (env.databaseUrl) {
    const pool = new pg.Pool({ connectionString: env.databaseUrl, application_name: 'emerflow-bench', max: 3, statement_timeout: 30_000 });
    // An idle client's connection dropped: the next query reconnects, and a failing query turns its figures n/a.
    pool.on('error', (err) => debug(`bench Postgres pool: ${err.message}`));
    await pool.query('SELECT 1');
    db = pool;
    addCleanup('bench Postgres pool', () => pool.end(), 10_000);
  }
  let redis: Redis | null = null;
  if (env.redisUrl) {
    const r = new Redis(env.redisUrl, { maxRetriesPerRequest: 1, enableOfflineQueue: false, lazyConnect: true });
    // ioredis reconnects by itself; an INFO that fails meanwhile leaves that sample's memory n/a.
    let warned = false;
    r.on('error', (err) => {
      if (!warned) log(`bench Redis client: ${err.message} (memory samples n/a while it lasts)`);
      warned = true;
    });
    await r.connect();
    redis = r;
    addCleanup(
      'bench Redis client',
      async () => {
        r.disconnect();
      },
      10_000,
    );
  }
  let dbWarned = false;
  const dbQuery = async <T extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<T[] | null> => {
    if (!db) return null;
    try {
      return (await db.query<T>(sql, params)).rows;
    } catch (err) {
      if (!dbWarned) log(`Postgres query failed (figures from it will be n/a): ${(err as Error).message}`);
      dbWarned = true;
      return null;
    }
  };

  // ---- the sampler: every 1 s, Redis memory, the tasks table, the pending gauges ----
  const samples: Sample[] = [];
  let phase = 'setup';
  let newModelId: string | null = null;
  const maxDispatchOf = new Map<string, number>(); // queue/key → most dispatches seen, for tasks seen with > 1
  const t0 = performance.now();
  let sampling = true;
  const sampleOnce = async (): Promise<Sample> => {
    const at = (performance.now() - t0) / 1000;
    const [prom, info, taskRows, redisp, re] = await Promise.all([
      api.metrics(),
      redis ? redis.info('memory').catch(() => null) : Promise.resolve(null),
      dbQuery<{ queue: string; n: number; d: string; mx: number; rd: number }>(
        `SELECT queue, count(*)::int AS n, coalesce(sum(dispatches), 0)::bigint AS d, coalesce(max(dispatches), 0)::int AS mx, ` +
          `count(*) FILTER (WHERE dispatches > 1)::int AS rd FROM tasks GROUP BY queue`,
      ),
      dbQuery<{ queue: string; key: string; dispatches: number }>(
        `SELECT queue, key, dispatches FROM tasks WHERE dispatches > 1 LIMIT 20000`,
      ),
      newModelId !== null
        ? dbQuery<{ n: number }>(
            `SELECT count(*)::int AS n FROM items i
             JOIN embeddings e ON e.space_id = i.space_id AND e.item_id = i.id AND e.version = i.embedding_version
           WHERE i.space_id = $1 AND i.state <> 'established' AND e.model_id = $2`,
            [space, newModelId],
          )
        : Promise.resolve(null),
    ]);
    const m = info ? /^used_memory:(\d+)/m.exec(info) : null;
    const tasks: Record<string, QueueRows> | undefined = taskRows ? {} : undefined;
    for (const r of taskRows ?? []) tasks![r.queue] = { rows: r.n, dispatches: Number(r.d), maxDispatches: r.mx, redispatched: r.rd };
    for (const r of redisp ?? []) {
      const k = `${r.queue}/${r.key}`;
      maxDispatchOf.set(k, Math.max(maxDispatchOf.get(k) ?? 0, r.dispatches));
    }
    return {
      t: at,
      phase,
      prom,
      embedPending: promValue(prom, 'emerflow_tasks_pending', { queue: 'embed' }),
      refinePending: promValue(prom, 'emerflow_tasks_pending', { queue: 'refine' }),
      redisUsed: m ? Number(m[1]) : undefined,
      tasks,
      reembedded: re?.[0]?.n,
    };
  };
  const sampler = (async () => {
    while (sampling && !interrupted()) {
      const started = performance.now();
      samples.push(await sampleOnce());
      await delay(Math.max(50, 1000 - (performance.now() - started)));
    }
  })();
  addCleanup(
    'sampler',
    async () => {
      sampling = false;
      await Promise.race([sampler, delay(5000)]);
    },
    10_000,
  );

  // ---- setup: trained space, emerging items with cold embeddings ----
  const setup = await setupTrainedSpace(api, world, {
    space,
    established: ESTABLISHED,
    eventsPerItem: EVENTS_PER_ITEM,
    trainTimeoutMs: TRAIN_TIMEOUT_MS,
  });
  phase = 'cold';
  const coldStart = performance.now();
  const postS = await postEmerging(api, world, space, 'e', 0, ITEMS);
  log(`posted ${ITEMS} emerging items in ${postS.toFixed(1)} s (${Math.ceil(ITEMS / 5000)} requests); waiting for cold embeddings`);
  const ids = Array.from({ length: ITEMS }, (_, i) => world.itemId('e', i));
  const countEmbedded = async () =>
    (
      await dbQuery<{ n: number }>(
        `SELECT count(*)::int AS n FROM items WHERE space_id = $1 AND state <> 'established' AND embedding_version IS NOT NULL`,
        [space],
      )
    )?.[0]?.n;
  await waitForEmbeddings(api, space, ids, COLD_TIMEOUT_MS, 'cold embeddings', db ? countEmbedded : undefined);
  const coldS = (performance.now() - coldStart) / 1000;
  log(`all ${ITEMS} emerging items have a cold embedding, ${coldS.toFixed(1)} s after the first POST`);
  // Quiet before the re-train: no embed/refine work left over.
  for (const deadline = Date.now() + 120_000; Date.now() < deadline;) {
    const p = await api.metrics();
    const e = promValue(p, 'emerflow_tasks_pending', { queue: 'embed' });
    const r = promValue(p, 'emerflow_tasks_pending', { queue: 'refine' });
    if ((e ?? 0) === 0 && (r ?? 0) === 0) break;
    await sleep(1000);
  }
  const coldSamples = samples.filter((s) => s.phase === 'cold');

  // ---- re-train: the re-embed of every emerging item ----
  phase = 'train';
  const before = await api.metrics();
  const redisBefore = samples.at(-1)?.redisUsed;
  const trainStart = performance.now();
  log('POST /train again: the new model re-embeds every emerging item');
  await train(api, space, TRAIN_TIMEOUT_MS);
  const trainedAt = performance.now();
  const view = await api.must<SpaceView>('GET', `/v1/spaces/${sp}`, undefined, { route: 'GET space' });
  const newVersion = view.model?.version;
  if (newVersion === undefined || newVersion <= setup.modelVersion)
    throw new Error(`after the second training the active model is v${newVersion}, not newer than v${setup.modelVersion}`);
  const idRow = await dbQuery<{ id: string }>('SELECT id FROM models WHERE space_id = $1 AND version = $2', [space, newVersion]);
  newModelId = idRow?.[0]?.id ?? null;
  phase = 're-embed';
  log(`trained in ${((trainedAt - trainStart) / 1000).toFixed(1)} s: model v${newVersion}; waiting for the re-embed of ${ITEMS} items`);

  const r = rng(mix(SEED, 0x6261));
  const sampleIds = Array.from({ length: SAMPLE }, () => world.itemId('e', Math.floor(r() * ITEMS)));
  const checkSample = async (): Promise<{ onNew: number; checked: number }> => {
    let onNew = 0;
    let checked = 0;
    const queue = [...new Set(sampleIds)];
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        for (let id = queue.shift(); id; id = queue.shift()) {
          const a = await api.send<{ modelVersion?: number | null }>(
            'GET',
            `/v1/spaces/${sp}/items/${encodeURIComponent(id)}/embedding`,
            undefined,
            {
              route: 'GET embedding (sample)',
              timeoutMs: 15_000,
            },
          );
          if (a.body) {
            checked++;
            if (a.body.modelVersion === newVersion) onNew++;
          }
        }
      }),
    );
    return { onNew, checked };
  };

  let doneAt: number | null = null;
  let lastSampleCheck: { onNew: number; checked: number } | null = null;
  let lastLog = 0;
  let checkedUpTo = samples.length;
  const deadline = Date.now() + REEMBED_TIMEOUT_MS;
  while (Date.now() < deadline) {
    await sleep(1000);
    const s = samples.at(-1);
    if (!s || samples.length === checkedUpTo || s.phase !== 're-embed') continue;
    checkedUpTo = samples.length;
    const lastCount = [...samples].reverse().find((x) => x.reembedded !== undefined)?.reembedded;
    if (Date.now() - lastLog > 10_000) {
      log(
        `  re-embed: embed pending ${int(s.embedPending)}, refine pending ${int(s.refinePending)}, re-embedded ` +
          `${newModelId ? int(lastCount) : 'n/a'} of ${ITEMS}, Redis ${mib(s.redisUsed)}`,
      );
      lastLog = Date.now();
    }
    const gaugesZero = s.embedPending !== undefined ? s.embedPending === 0 && (s.refinePending ?? 0) === 0 : undefined;
    // Exact when Postgres is readable (a sample that counted); otherwise the gauges (or, without them, the sample alone).
    const exact = newModelId !== null && db !== null && !dbWarned;
    const candidate = exact ? s.reembedded !== undefined && s.reembedded >= ITEMS : (gaugesZero ?? true);
    if (!candidate) continue;
    lastSampleCheck = await checkSample();
    if (lastSampleCheck.onNew === lastSampleCheck.checked && lastSampleCheck.checked > 0) {
      doneAt = t0 + s.t * 1000;
      break;
    }
  }
  phase = 'after';
  const after = await api.metrics();
  await sleep(1500);
  sampling = false;
  await sampler;

  // ---- figures ----
  const re = samples.filter((s) => s.phase === 're-embed' || s.phase === 'train');
  const peak = (xs: Sample[], f: (s: Sample) => number | undefined) =>
    xs.reduce<number | undefined>((a, s) => {
      const v = f(s);
      return v === undefined ? a : Math.max(a ?? -Infinity, v);
    }, undefined);
  const peakRedisRe = peak(re, (s) => s.redisUsed);
  const peakRedisCold = peak(coldSamples, (s) => s.redisUsed);
  // The re-embed starts when the new model is activated, which may be seen (as embed work)
  // a little before the job reads as completed.
  const firstWork = re.find((x) => (x.embedPending ?? 0) > 0 || (x.tasks?.['embed']?.rows ?? 0) > 0);
  const reembedFrom = Math.min(trainedAt, firstWork ? t0 + firstWork.t * 1000 : Infinity);
  const reembedS = doneAt === null ? null : (doneAt - reembedFrom) / 1000;
  const totalS = doneAt === null ? null : (doneAt - trainStart) / 1000;
  const dispatchedName = DISPATCHED.find((n) => promValue(after, n) !== undefined);
  const doneName = DONE.find((n) => promValue(after, n) !== undefined);
  const ratio = (queue?: string) => {
    if (!dispatchedName || !doneName) return undefined;
    const m: Record<string, string> = queue ? { queue } : {};
    const d = promDelta(before, after, dispatchedName, m);
    const n = promDelta(before, after, doneName, m);
    return d === undefined || n === undefined ? undefined : { dispatched: d, done: n, ratio: n > 0 ? d / n : NaN };
  };
  const embedRatio = ratio('embed');
  const allRatio = ratio();
  const jobs = promDelta(before, after, 'emerflow_jobs_total', { queue: 'embed', outcome: 'completed' });
  const extra = [...maxDispatchOf.entries()].filter(([k]) => k.startsWith('embed/')).reduce((a, [, d]) => a + (d - 1), 0);
  const peakRows = (xs: Sample[], q: string, f: (r: QueueRows) => number) =>
    peak(xs, (s) => (s.tasks ? (s.tasks[q] ? f(s.tasks[q]!) : 0) : undefined));
  // Steadiest stretch: the best 10 s of re-embedding, from the exact counts.
  let best10: number | undefined;
  const counted = re.filter((s) => s.reembedded !== undefined);
  for (let i = 0; i < counted.length; i++)
    for (let j = i + 1; j < counted.length; j++) {
      if (counted[j]!.t - counted[i]!.t >= 10) {
        best10 = Math.max(best10 ?? 0, (counted[j]!.reembedded! - counted[i]!.reembedded!) / (counted[j]!.t - counted[i]!.t));
        break;
      }
    }

  console.log(
    `\nbacklog: ${ITEMS} emerging items (dim ${DIM}) re-embedded after a second training; ${os.cpus().length} cores; service ` +
      `${env.spawned ? 'started by the bench' : env.url}; Postgres ${db ? 'read directly' : 'n/a'}; Redis ` +
      `${redis ? 'read directly' : 'n/a'}`,
  );
  console.log(
    `setup: ${USERS} users, ${ESTABLISHED} established items × ${EVENTS_PER_ITEM} interactions; first training ` +
      `${setup.trainSeconds.toFixed(1)} s (v${setup.modelVersion})\n`,
  );
  console.log(
    table(
      ['figure', 'value', 'target'],
      [
        [
          'first cold embeddings: all items, from the first POST',
          `${secs(coldS)} (${int(ITEMS / coldS)} items/s; POSTs took ${secs(postS)})`,
          '',
        ],
        ['second training (POST /train → job completed)', secs((trainedAt - trainStart) / 1000), ''],
        [
          're-embed: first re-embed work seen (or job completed) → every item on the new model',
          reembedS === null ? `not within ${REEMBED_TIMEOUT_MS / 1000} s` : secs(reembedS),
          '',
        ],
        ['POST /train → every item on the new model', totalS === null ? 'n/a' : secs(totalS), ''],
        ['items re-embedded per second (mean)', reembedS === null ? 'n/a' : int(ITEMS / reembedS), ''],
        ['items re-embedded per second (best 10 s, Postgres counts)', best10 === undefined ? 'n/a' : int(best10), ''],
        [
          'sample: GET …/embedding modelVersion = new',
          lastSampleCheck ? `${lastSampleCheck.onNew} of ${lastSampleCheck.checked}` : 'n/a',
          'all',
        ],
        ['Redis used_memory before the re-train', mib(redisBefore), ''],
        [
          'Redis used_memory peak during the re-embed',
          peakRedisRe === undefined ? 'n/a' : `${mib(peakRedisRe)} (+${mib(peakRedisRe - (redisBefore ?? peakRedisRe))})`,
          '',
        ],
        ['Redis used_memory peak during the first cold embeddings', mib(peakRedisCold), ''],
        [
          `dispatches per embed task (Δ${dispatchedName ?? 'dispatched'} / Δ${doneName ?? 'done'})`,
          embedRatio ? `${fixed(embedRatio.ratio, 3)} (${int(embedRatio.dispatched)} / ${int(embedRatio.done)})` : 'n/a',
          `≤ ${TARGET_DISPATCHES}`,
        ],
        [
          'dispatches per task, all queues',
          allRatio ? `${fixed(allRatio.ratio, 3)} (${int(allRatio.dispatched)} / ${int(allRatio.done)})` : 'n/a',
          `≤ ${TARGET_DISPATCHES}`,
        ],
        [
          'verdict',
          embedRatio && Number.isFinite(embedRatio.ratio) ? (embedRatio.ratio <= TARGET_DISPATCHES ? 'met' : 'MISSED') : 'n/a',
          '',
        ],
        [
          'embed jobs completed (emerflow_jobs_total; a job may carry many tasks)',
          jobs === undefined ? 'n/a' : `${int(jobs)} (${fixed(jobs > 0 ? ITEMS / jobs : NaN, 1)} items a job)`,
          '',
        ],
        ['tasks table: peak pending embed rows', int(peakRows(re, 'embed', (q) => q.rows)), ''],
        ['tasks table: peak embed rows dispatched more than once', int(peakRows(re, 'embed', (q) => q.redispatched)), ''],
        ['tasks table: most dispatches of one embed task seen', int(peakRows(re, 'embed', (q) => q.maxDispatches)), ''],
        [
          'tasks table: extra dispatches seen (lower bound), per re-embedded item',
          db ? `${int(extra)} → ≥ ${fixed(1 + extra / ITEMS, 3)} dispatches per task` : 'n/a',
          `≤ ${TARGET_DISPATCHES}`,
        ],
      ],
    ),
  );
  const lastTrain = re.filter((x) => x.phase === 'train').at(-1);
  const rows = [
    ...(lastTrain ? [lastTrain] : []),
    ...thin(
      re.filter((x) => x.phase === 're-embed'),
      39,
    ),
  ];
  console.log(
    `\nover time (t from the bench's start, sampled every 1 s; ${rows.length} of ${re.length} rows shown; items/s from Postgres ` +
      `counts, or from the embed backlog without Postgres)\n`,
  );
  console.log(
    table(
      [
        't',
        'phase',
        'embed pending',
        'refine pending',
        're-embedded (Postgres)',
        'items/s',
        'Redis used',
        'embed rows',
        'Σ dispatches',
        'max dispatches',
      ],
      rows.map((s) => {
        // From the exact counts when there are some; else from the fall of the embed backlog.
        const i = counted.indexOf(s);
        const prev = i > 0 ? counted[i - 1]! : null;
        const j = re.indexOf(s);
        const before1 = j > 0 ? re[j - 1]! : null;
        const rate =
          prev && s.reembedded !== undefined
            ? (s.reembedded - prev.reembedded!) / (s.t - prev.t)
            : !db && before1 && s.embedPending !== undefined && before1.embedPending !== undefined
              ? Math.max(0, before1.embedPending - s.embedPending) / (s.t - before1.t)
              : NaN;
        const q = s.tasks ? (s.tasks['embed'] ?? { rows: 0, dispatches: 0, maxDispatches: 0, redispatched: 0 }) : undefined;
        return [
          `${s.t.toFixed(0)} s`,
          s.phase,
          int(s.embedPending),
          int(s.refinePending),
          int(s.reembedded),
          fixed(rate, 0),
          mib(s.redisUsed),
          int(q?.rows),
          int(q?.dispatches),
          int(q?.maxDispatches),
        ];
      }),
    ),
  );
  console.log(`\n${api.errorReport()}`);
  if (env.spawned) console.log(`service log: ${serverLogLines()} lines at warn or above`);
  if (serverLogLines() > 0) printServerLogTail(10);
  if (doneAt === null) {
    console.log(`\nthe re-embed did not finish within ${REEMBED_TIMEOUT_MS / 1000} s`);
    return 1;
  }
  return api.errorCount() > 0 ? 1 : 0;
}

const budget = (TRAIN_TIMEOUT_MS / 1000) * 2 + COLD_TIMEOUT_MS / 1000 + REEMBED_TIMEOUT_MS / 1000 + ITEMS / 50 + 900;
runBench(main, { maxSeconds: budget });
