// The lookup hot path against its ceiling, three processes apart: the service (node
// --import tsx src/server.ts with its own Postgres and Redis; as deployed, an API process,
// ROLE=api, and a worker process, ROLE=worker, or with --topology all one ROLE=all process), a bare Fastify
// server holding the same items in a Map (bench/support/bare-server.ts), and wrk as the
// load generator (bench/support/wrk.ts), so no figure shares an event loop with the
// load that produced it.
//
// By default it runs at 10,000 and at 1,000,000 items, each count in a child process of its own,
// and ends with the two side by side (support/lookup-scales.ts: the p99 and memory targets that
// compare them); --items 10000 runs one count in this process.
//
// --items established items (dim 64) go in through the API and the lookup cache is warmed
// with all of them. Then each phase runs against the service and, back to back with the
// same wrk settings (-t2 -c32 -d<duration>, after a warm-up run that is not reported),
// against the bare server: single-item GET of random ids; 100- and 1,000-id JSON lookups;
// 100- and 1,000-id float32 lookups (ids/s, each judged against the JSON one of its size: in
// each of its rounds the JSON lookup runs on the service just before the float32 one, and
// the median of the rounds' float32 ÷ JSON is judged, so the machine's drift between phases
// is on neither side).
// Finally a mixed phase on the service alone: the 100-id JSON lookup, over the established
// ids plus --emerging emerging items, while a separate process (bench/support/loadgen.ts)
// posts --event-rate interaction events/s for those emerging items, so refinement writes and
// cache invalidations run under the lookups.
// Its throughput is given relative to a quiet run of the same lookups just before the events
// start (--rounds quiet-then-mixed pairs, the median ratio reported), and its cache hit rate
// from emerflow_lookup_cache_{hits,misses}_total (n/a when /metrics lacks them). The first
// round first measures 5 s of the events alone: the cores each process spends on them
// (BENCH_PG_STATEMENTS=1 adds Postgres's statements, from pg_stat_statements).
//
// Loading is followed by a VACUUM (ANALYZE), and every measured run (with its warm-up) waits
// for the machine to go idle first (support/quiet.ts): otherwise autovacuum of the loaded rows
// ran under the first phases, whose service runs come first.
// Each compared phase runs --rounds (3) service-then-bare pairs and reports the pair with the
// median ratio (for the latency-judged runs, the median service p99): this machine's speed
// drifts by tens of per cent over minutes, and one pair would put a drift on one side.
//
// Latency at half of peak: wrk cannot hold a constant rate (wrk2 could; it is not packaged
// for Debian), so a paced run stands in: wrk's delay() hook holds each of the 32 connections
// to about half the service's peak (whole milliseconds, and a closed loop still: a slow answer
// delays that connection's next request, which wrk2's constant rate would count against it).
// Its p99 is the one judged when the run reached 40-60 % of the peak; otherwise the run with
// --low-connections connections (4), which goes as fast as 4 connections can and on a small
// machine comes close to the peak, is judged. Both are printed.
//
// Run: npm run bench:lookup [-- --items 10000,1000000] [--duration 10] [--out results.json]
// Needs wrk (apt-get install -y wrk). Exit code 0 whatever the figures; 1 when a request
// failed (non-2xx, socket errors) or the bench could not run.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, num } from './support/args.js';
import { startBareServer } from './support/bare-server-process.js';
import {
  Interrupted,
  addCleanup,
  cpuSeconds,
  cpuByKind,
  delay,
  machineBusySeconds,
  interrupted,
  log,
  rssBytes,
  runBench,
  serverProcessPid,
  startEnv,
  serverLogLines,
} from './support/harness.js';
import { Api } from './support/http.js';
import { BENCH_KEY } from './support/key.js';
import { LoadGen } from './support/loadgen-client.js';
import { ESTABLISHED_PREFIX, establishedId, establishedVector, meanIdBytes } from './support/lookup-items.js';
import {
  figures,
  judge,
  printReport,
  type LookupReport,
  type MixedExtra,
  type PhaseResult,
  type RunFigures,
} from './support/lookup-report.js';
import { promDelta, type Prom } from './support/prom.js';
import { settlePostgres, waitForQuiet } from './support/quiet.js';
import { runScales } from './support/lookup-scales.js';
import { PG_STATEMENTS, startStatementWindow } from './support/pg-statements.js';
import { lookupAll, postEmerging, train, waitForEmbeddings, waitForIdle } from './support/setup.js';
import {
  getScript,
  lookupScript,
  runWrk,
  writeScript,
  wrkInstalled,
  WRK_INSTALL_HINT,
  type IdPool,
  type WrkResult,
} from './support/wrk.js';
import { int, mib } from './support/stats.js';
import { World, mix, rng } from './support/world.js';

const opts = parseArgs('npm run bench:lookup -- [options]', {
  items: {
    default: '10000,1000000',
    help:
      'established items (dim 64) loaded through the API and looked up; several (comma-separated): one run each, in a child ' +
      'process of its own, then side by side (support/lookup-scales.ts)',
  },
  duration: { default: '10', help: 'seconds of each measured wrk run' },
  warmup: { default: '2', help: 'seconds of the unreported wrk run before each measured one (0: none)' },
  threads: { default: '2', help: 'wrk threads' },
  connections: { default: '32', help: 'wrk connections' },
  'low-connections': { default: '4', help: 'wrk connections of the low-load single-item GET run' },
  'load-concurrency': { default: '4', help: 'item batches (5,000 items each) in flight while loading' },
  emerging: { default: '2000', help: 'emerging items the mixed phase sends events for' },
  'event-rate': { default: '1000', help: 'interaction events/s posted during the mixed phase' },
  users: { default: '500', help: 'users with vectors (mixed phase)' },
  'train-items': { default: '200', help: 'established items given interactions for the training the mixed phase needs' },
  'events-per-item': { default: '40', help: 'interactions per training item' },
  'train-timeout': { default: '900', help: 'seconds to wait for training' },
  seed: { default: '1', help: 'seed of the items, users and wrk scripts' },
  rounds: {
    default: '3',
    help:
      'service-then-bare pairs per compared phase; the pair with the median ratio is reported (this machine drifts by tens of ' +
      'per cent over minutes: alternating pairs keep a drift from landing on one side)',
  },
  topology: {
    default: 'split',
    help:
      'split: the API (ROLE=api) and a worker process (ROLE=worker) beside it, as docker-compose.yml deploys them; ' +
      "all: one ROLE=all process doing both (the figures are the API process's either way)",
  },
  mixed: {
    default: 'yes',
    help: "no: skip the mixed phase (its training fits the text encoder on every item's text: many minutes at a million items)",
  },
  phases: {
    default: 'all',
    help:
      'comma-separated phases to run: get, get-low, get-half (runs get and get-low too), lookup100, lookup1000, f32 ' +
      '(and lookup100, which it is judged against), f32-1000 (and lookup1000), mixed; all: every one',
  },
  out: { help: 'also write the results as JSON to this file' },
});
const COUNTS = (opts.items ?? '').split(',').map((x) => num('items', x.trim(), { min: 100, max: 10_000_000, integer: true }));
const ITEMS = COUNTS[0]!;
const DURATION = num('duration', opts.duration, { min: 1, max: 3600, integer: true });
const WARMUP = num('warmup', opts.warmup, { min: 0, max: 600, integer: true });
const THREADS = num('threads', opts.threads, { min: 1, max: 64, integer: true });
const CONNECTIONS = num('connections', opts.connections, { min: THREADS, max: 10_000, integer: true });
const LOW_CONNECTIONS = num('low-connections', opts['low-connections'], { min: 1, max: 10_000, integer: true });
const LOAD_CONCURRENCY = num('load-concurrency', opts['load-concurrency'], { min: 1, max: 32, integer: true });
const EMERGING = num('emerging', opts.emerging, { min: 1, max: 1_000_000, integer: true });
const EVENT_RATE = num('event-rate', opts['event-rate'], { min: 1, max: 100_000 });
const USERS = num('users', opts.users, { min: 1, max: 1_000_000, integer: true });
const TRAIN_ITEMS = Math.min(ITEMS, num('train-items', opts['train-items'], { min: 2, max: 100_000, integer: true }));
const EVENTS_PER_ITEM = num('events-per-item', opts['events-per-item'], { min: 1, max: 10_000, integer: true });
const TRAIN_TIMEOUT_MS = num('train-timeout', opts['train-timeout'], { min: 10, max: 7200 }) * 1000;
const SEED = num('seed', opts.seed, { integer: true });
const ROUNDS = num('rounds', opts.rounds, { min: 1, max: 20, integer: true });
const OUT = opts.out;
if (opts.topology !== 'split' && opts.topology !== 'all') throw new Error(`--topology must be split or all, not ${opts.topology}`);
const SPLIT = opts.topology === 'split';
/** How long the mixed phase's events run alone first, to measure what they cost each process. */
const EVENTS_ALONE_MS = 5000;
if (opts.mixed !== 'yes' && opts.mixed !== 'no') throw new Error(`--mixed must be yes or no, not ${opts.mixed}`);
const PHASE_KEYS = ['get', 'get-low', 'get-half', 'lookup100', 'lookup1000', 'f32', 'f32-1000', 'mixed'] as const;
type PhaseKey = (typeof PHASE_KEYS)[number];
const NEEDS: Partial<Record<PhaseKey, PhaseKey[]>> = {
  'get-half': ['get', 'get-low'],
  f32: ['lookup100'],
  'f32-1000': ['lookup1000'],
};
const WANTED = new Set<PhaseKey>();
for (const k of opts.phases === 'all' ? PHASE_KEYS : (opts.phases ?? '').split(',').map((x) => x.trim())) {
  if (!(PHASE_KEYS as readonly string[]).includes(k)) throw new Error(`--phases: unknown phase ${k} (${PHASE_KEYS.join(', ')}, all)`);
  for (const n of [k as PhaseKey, ...(NEEDS[k as PhaseKey] ?? [])]) WANTED.add(n);
}
const MIXED = opts.mixed === 'yes' && WANTED.has('mixed');
/** Events per request of the mixed phase's feeder. */
const EVENT_BATCH = Math.max(20, Math.min(250, Math.round(EVENT_RATE / 20)));
const DIM = 64;
const SPACE = 'bench';
const BATCH = 5000;
const HITS = 'emerflow_lookup_cache_hits_total';
const MISSES = 'emerflow_lookup_cache_misses_total';

/** POST the established items in batches of 5,000, `LOAD_CONCURRENCY` in flight. */
async function loadItems(api: Api): Promise<void> {
  let next = 0;
  let done = 0;
  let lastLog = performance.now();
  const worker = async () => {
    for (let from = next; from < ITEMS; from = next) {
      next += BATCH;
      const items = [];
      for (let i = from; i < Math.min(ITEMS, from + BATCH); i++)
        items.push({ id: establishedId(i), features: { title: `item ${i}` }, embedding: establishedVector(SEED, DIM, i) });
      await api.must('POST', `/v1/spaces/${SPACE}/items`, { items }, { route: 'POST items', timeoutMs: 300_000 });
      done += items.length;
      if (performance.now() - lastLog > 10_000) {
        log(`loaded ${done.toLocaleString('en-US')} of ${ITEMS.toLocaleString('en-US')} items`);
        lastLog = performance.now();
      }
    }
  };
  await Promise.all(Array.from({ length: LOAD_CONCURRENCY }, worker));
}

/**
 * One request of each shape to both servers before any load: both answer 200 with every
 * id found, and with the same vectors, so the two are compared on the same work.
 */
async function checkAnswers(serviceUrl: string, bareUrl: string): Promise<void> {
  const headers = { authorization: `Bearer ${BENCH_KEY}`, 'content-type': 'application/json' };
  const ids = Array.from({ length: 100 }, (_, k) => establishedId((k * 7919) % ITEMS));
  const ask = async (base: string, what: string, p: string, body?: unknown, accept?: string) => {
    const res = await fetch(base + p, {
      method: body ? 'POST' : 'GET',
      headers: { ...headers, ...(accept ? { accept } : {}) },
      body: body ? JSON.stringify(body) : undefined,
      signal: AbortSignal.timeout(30_000),
    });
    const buf = Buffer.from(await res.arrayBuffer());
    if (res.status !== 200) throw new Error(`${what} ${p} answered ${res.status}: ${buf.toString().slice(0, 300)}`);
    return buf;
  };
  for (const [name, p, body, accept] of [
    ['single-item GET', `/v1/spaces/${SPACE}/items/${establishedId(ITEMS - 1)}/embedding`, undefined, undefined],
    ['100-id JSON lookup', `/v1/spaces/${SPACE}/embeddings/lookup`, { ids }, undefined],
    ['100-id float32 lookup', `/v1/spaces/${SPACE}/embeddings/lookup`, { ids }, 'application/octet-stream'],
  ] as const) {
    const [s, b] = [await ask(serviceUrl, 'the service', p, body, accept), await ask(bareUrl, 'the bare server', p, body, accept)];
    if (accept) {
      if (s.length !== ids.length * DIM * 4 || !s.equals(b))
        throw new Error(`${name}: the service's float32 rows differ from the bare server's`);
      continue;
    }
    type Shape = { vector?: number[]; embeddings?: { id: string; vector: number[] }[]; missing?: string[] };
    const [js, jb] = [JSON.parse(s.toString()) as Shape, JSON.parse(b.toString()) as Shape];
    const vs = js.vector ? [js.vector] : (js.embeddings ?? []).map((e) => e.vector);
    const vb = jb.vector ? [jb.vector] : (jb.embeddings ?? []).map((e) => e.vector);
    if (!js.vector && (vs.length !== ids.length || js.missing?.length))
      throw new Error(`${name}: the service found ${vs.length} of ${ids.length} ids`);
    if (JSON.stringify(vs) !== JSON.stringify(vb)) throw new Error(`${name}: the service's vectors differ from the bare server's`);
    if (s.length !== b.length) log(`note: ${name}: the service answers ${s.length} bytes, the bare server ${b.length}`);
  }
}

async function main(): Promise<number> {
  if (!wrkInstalled()) {
    console.error(WRK_INSTALL_HINT);
    return 1;
  }
  const t0 = performance.now();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'emerflow-lookup-bench-'));
  addCleanup('wrk scripts', async () => fs.rmSync(tmp, { recursive: true, force: true }));
  // The mixed phase needs a model, not a good one: the quick preset trains in seconds. The
  // established items are the recommender's own vectors: enriching their text (for training)
  // is not what is measured here, and at a million items it would run for many minutes.
  const env = await startEnv({ nodeImport: true, split: SPLIT, serverEnv: { TRAIN_PRESET: 'quick', ENRICH_ESTABLISHED: 'false' } });
  const api = new Api(env.url);
  // the jobs' counters are the worker's (with --topology all, the one process's)
  const jobsApi = env.worker ? new Api(env.worker.url) : api;
  const pid = env.serverPid === undefined ? null : serverProcessPid(env.serverPid);
  const rss = () => (pid === null ? undefined : (rssBytes(pid) ?? undefined));
  const serverStartRss = rss();

  await api.must('POST', '/v1/spaces', { id: SPACE, dim: DIM, itemType: 'item', scorer: 'dot' }, { route: 'POST /v1/spaces' });
  log(`loading ${ITEMS.toLocaleString('en-US')} established items (dim ${DIM}), ${LOAD_CONCURRENCY} batches of ${BATCH} in flight`);
  let t = performance.now();
  await loadItems(api);
  const loadS = (performance.now() - t) / 1000;
  const afterLoadRss = rss();
  log(`loaded in ${loadS.toFixed(1)} s; waiting for the pipeline to finish what loading started`);
  const idleS = await waitForIdle(api, SPACE, TRAIN_TIMEOUT_MS);
  log(`idle after ${idleS.toFixed(1)} s; vacuuming what was loaded (autovacuum would otherwise run under the first phases)`);
  if (env.databaseUrl)
    log(`VACUUM (ANALYZE) took ${(await settlePostgres(env.databaseUrl)).toFixed(1)} s; warming the lookup cache with every item`);
  const allIds = Array.from({ length: ITEMS }, (_, i) => establishedId(i));
  t = performance.now();
  const found = await lookupAll(api, SPACE, allIds, 'POST lookup (warm-up)');
  if (found.size !== ITEMS) throw new Error(`after loading, lookups found ${found.size} of ${ITEMS} items`);
  const cacheWarmS = (performance.now() - t) / 1000;

  log('starting the bare server');
  const bare = await startBareServer({ items: ITEMS, dim: DIM, seed: SEED });
  log(`bare server ready (built its Map in ${bare.buildS.toFixed(1)} s); checking both give the same answers`);
  await checkAnswers(env.url, bare.url);

  // ---- wrk scripts ----
  const established: IdPool[] = [{ prefix: ESTABLISHED_PREFIX, count: ITEMS }];
  const withEmerging: IdPool[] = [...established, { prefix: 'e', count: EMERGING }]; // World's emerging ids are e<n>
  const auth = { Authorization: `Bearer ${BENCH_KEY}` };
  const json = { ...auth, 'Content-Type': 'application/json' };
  const lookupPath = `/v1/spaces/${SPACE}/embeddings/lookup`;
  const script = (name: string, text: string) => writeScript(tmp, name, text);
  const getLua = script(
    'get.lua',
    getScript({ pools: established, headers: auth, seed: SEED, pathPrefix: `/v1/spaces/${SPACE}/items/`, pathSuffix: '/embedding' }),
  );
  const l100Lua = script(
    'lookup100.lua',
    lookupScript({ pools: established, headers: json, seed: SEED, path: lookupPath, idsPerRequest: 100 }),
  );
  const l1000Lua = script(
    'lookup1000.lua',
    lookupScript({ pools: established, headers: json, seed: SEED, path: lookupPath, idsPerRequest: 1000 }),
  );
  const f32 = { ...json, Accept: 'application/octet-stream' };
  const f32Lua = script(
    'lookup100-f32.lua',
    lookupScript({ pools: established, headers: f32, seed: SEED, path: lookupPath, idsPerRequest: 100 }),
  );
  const f32k = script(
    'lookup1000-f32.lua',
    lookupScript({ pools: established, headers: f32, seed: SEED, path: lookupPath, idsPerRequest: 1000 }),
  );
  const mixedLua = script(
    'mixed100.lua',
    lookupScript({ pools: withEmerging, headers: json, seed: SEED + 1, path: lookupPath, idsPerRequest: 100 }),
  );

  const cacheRate = (a: Prom | null, b: Prom | null) => {
    const h = promDelta(a, b, HITS, { space: SPACE });
    const m = promDelta(a, b, MISSES, { space: SPACE });
    return { hits: h, misses: m, rate: h === undefined || m === undefined || h + m === 0 ? undefined : h / (h + m) };
  };
  /** A warm-up run (not reported), then the measured one; for the service, the cache hit rate over it. */
  const measure = async (url: string, lua: string, connections: number, what: string, service: boolean) => {
    const run = (seconds: number) => runWrk({ url, script: lua, threads: THREADS, connections, seconds });
    await waitForQuiet(what.trim());
    if (WARMUP > 0) await run(WARMUP);
    const before = service ? await api.metrics() : null;
    // The server's own CPU time per request: steadier than req/s on a machine whose speed
    // drifts, and it says whether a gap is the server's work or the cores it shares.
    const cpuPid = service ? pid : bare.pid;
    const cpu0 = cpuPid === null ? null : cpuSeconds(cpuPid);
    const w: WrkResult = await run(DURATION);
    const cpu1 = cpuPid === null ? null : cpuSeconds(cpuPid);
    const cpuUs = cpu0 === null || cpu1 === null || w.requests === 0 ? undefined : ((cpu1 - cpu0) * 1e6) / w.requests;
    const rate = service ? cacheRate(before, await api.metrics()).rate : undefined;
    log(
      `  ${what}: ${w.rps.toFixed(0)} req/s, p50 ${w.latencyMs.p50.toFixed(2)} ms, p99 ${w.latencyMs.p99.toFixed(2)} ` +
        `ms${cpuUs === undefined ? '' : `, ${cpuUs.toFixed(0)} µs CPU/request`}${w.errors ? `, ${w.errors} FAILED requests` : ''}`,
    );
    return figures(w, rate, cpuUs);
  };

  const phases: PhaseResult[] = [];
  /** `json`: a float32 phase's JSON lookup of the same size, run on the service first in each round. */
  const runPhase = async (key: PhaseKey, label: string, lua: string, connections: number, ids: number, json?: string) => {
    if (interrupted()) throw new Interrupted('interrupted');
    if (!WANTED.has(key)) return undefined;
    log(`phase: ${label}`);
    const pairs: { service: RunFigures; bare: RunFigures; ratio: number }[] = [];
    const formatRatios: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const jsonRun = json === undefined ? undefined : await measure(env.url, json, connections, 'service, JSON', true);
      const service = await measure(env.url, lua, connections, 'service', true);
      if (jsonRun) formatRatios.push(jsonRun.rps > 0 ? service.rps / jsonRun.rps : 0);
      const bareRun = await measure(bare.url, lua, connections, 'bare   ', false);
      pairs.push({ service, bare: bareRun, ratio: bareRun.rps > 0 ? service.rps / bareRun.rps : 0 });
    }
    // The runs judged by latency (low load, paced) take the round of the median service p99;
    // the others that of the median throughput ratio.
    const byP99 = key === 'get-low' || key === 'get-half';
    const ratios = pairs.map((x) => x.ratio).sort((a, b) => a - b);
    pairs.sort(byP99 ? (a, b) => a.service.latencyMs.p99 - b.service.latencyMs.p99 : (a, b) => a.ratio - b.ratio);
    const median = pairs[(pairs.length - 1) >> 1]!;
    if (ROUNDS > 1)
      log(
        `  service ÷ bare by round: ${ratios.map((x) => x.toFixed(2)).join(', ')}; reported: the round of the median ` +
          (byP99 ? 'service p99' : 'ratio'),
      );
    if (json !== undefined) log(`  service float32 ÷ JSON by round: ${formatRatios.map((x) => x.toFixed(2)).join(', ')}`);
    const p: PhaseResult = {
      key,
      label,
      idsPerRequest: ids,
      connections,
      service: median.service,
      bare: median.bare,
      ...(ROUNDS > 1 ? { ratios } : {}),
      ...(json !== undefined ? { formatRatios: formatRatios.sort((a, b) => a - b) } : {}),
    };
    phases.push(p);
    return p;
  };
  const peak = await runPhase('get', `single-item GET, random ids (c${CONNECTIONS})`, getLua, CONNECTIONS, 1);
  const low = await runPhase('get-low', `single-item GET, low load (c${LOW_CONNECTIONS})`, getLua, LOW_CONNECTIONS, 1);
  if (peak && low) {
    // Paced at about half the service's peak, the same offered rate for both: each of the
    // connections waits connections ÷ rate, less the latency seen at low load, per request.
    const half = peak.service.rps / 2;
    const delayMs = Math.max(1, Math.round((1000 * CONNECTIONS) / half - low.service.latencyMs.avg));
    const pacedLua = script(
      'get-paced.lua',
      getScript({
        pools: established,
        headers: auth,
        seed: SEED,
        pathPrefix: `/v1/spaces/${SPACE}/items/`,
        pathSuffix: '/embedding',
        delayMs,
      }),
    );
    await runPhase(
      'get-half',
      `single-item GET, paced to ~${int(half)} req/s (c${CONNECTIONS}, ${delayMs} ms apart)`,
      pacedLua,
      CONNECTIONS,
      1,
    );
  }
  await runPhase('lookup100', 'lookup 100 ids, JSON', l100Lua, CONNECTIONS, 100);
  await runPhase('lookup1000', 'lookup 1,000 ids, JSON', l1000Lua, CONNECTIONS, 1000);
  await runPhase('f32', 'lookup 100 ids, float32', f32Lua, CONNECTIONS, 100, l100Lua);
  await runPhase('f32-1000', 'lookup 1,000 ids, float32', f32k, CONNECTIONS, 1000, l1000Lua);
  const afterLookupsRss = rss();
  const bareRss = rssBytes(bare.pid) ?? undefined;
  if (afterLookupsRss !== undefined && serverStartRss !== undefined)
    log(`service RSS after the lookup phases: ${mib(afterLookupsRss)}, ${int((afterLookupsRss - serverStartRss) / ITEMS)} bytes per item`);
  const mixed = MIXED ? await mixedPhase() : undefined;

  /** Refinement under the lookups: 100-id JSON lookups while events stream in and are refined. */
  async function mixedPhase(): Promise<MixedExtra> {
    // ---- mixed phase: refinement under the lookups ----
    log(`mixed phase: ${USERS} users, interactions for ${TRAIN_ITEMS} items, training, ${EMERGING} emerging items`);
    const world = new World(SEED, DIM, USERS);
    const users = Array.from({ length: USERS }, (_, u) => ({ id: world.userId(u), vector: world.userVector(u) }));
    for (let i = 0; i < users.length; i += 50_000)
      await api.must(
        'POST',
        `/v1/spaces/${SPACE}/users`,
        { users: users.slice(i, i + 50_000) },
        { route: 'POST users', timeoutMs: 120_000 },
      );
    const r = rng(mix(SEED, 0x6c62));
    const past = Date.now() - 30 * 86_400_000;
    let events: { id: string; userId: string; itemId: string; label: 0 | 1; ts: string }[] = [];
    for (let i = 0; i < TRAIN_ITEMS; i++) {
      const v = establishedVector(SEED, DIM, i);
      const start = Math.floor(r() * USERS);
      for (let k = 0; k < EVENTS_PER_ITEM; k++) {
        const u = (start + k) % USERS;
        events.push({
          id: `train-${i}-${k}`,
          userId: world.userId(u),
          itemId: establishedId(i),
          label: world.label(u, v, r),
          ts: new Date(past + i * 60_000 + k * 1000).toISOString(),
        });
      }
      if (events.length >= 20_000 || i === TRAIN_ITEMS - 1) {
        await api.must('POST', `/v1/spaces/${SPACE}/interactions`, { events }, { route: 'POST interactions', timeoutMs: 120_000 });
        events = [];
      }
    }
    t = performance.now();
    await train(api, SPACE, TRAIN_TIMEOUT_MS);
    log(`trained in ${((performance.now() - t) / 1000).toFixed(1)} s; posting ${EMERGING} emerging items`);
    await postEmerging(api, world, SPACE, 'e', 0, EMERGING);
    const emergingIds = Array.from({ length: EMERGING }, (_, i) => world.itemId('e', i));
    const coldS = await waitForEmbeddings(api, SPACE, emergingIds, Math.max(600_000, EMERGING * 100), 'cold embeddings');
    await waitForIdle(api, SPACE, TRAIN_TIMEOUT_MS); // the items' enrichment, so that the mixed phase measures refinement alone
    log(`every emerging item has an embedding (${coldS.toFixed(1)} s); re-warming the cache`);
    await lookupAll(api, SPACE, [...allIds, ...emergingIds], 'POST lookup (warm-up)');

    // Rounds of a quiet run then a mixed one, the same lookups (the mixed script, established
    // and emerging ids) back to back: each ratio is taken a minute apart at most, as this
    // machine's speed drifts; the round of the median ratio is reported.
    const rounds: { quiet: RunFigures; mixed: RunFigures; ratio: number; extra: MixedExtra }[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      if (interrupted()) throw new Interrupted('interrupted');
      if (r > 0) await waitForIdle(api, SPACE, TRAIN_TIMEOUT_MS); // the last round's refinements, before a quiet run
      log(`phase: mixed, round ${r + 1} of ${ROUNDS}: the lookups alone, then with ${EVENT_RATE} events/s`);
      const quiet = await measure(env.url, mixedLua, CONNECTIONS, 'service, quiet', true);
      const { run, extra } = await mixedRound(r);
      rounds.push({ quiet, mixed: run, ratio: quiet.rps > 0 ? run.rps / quiet.rps : 0, extra: { ...extra, quietRps: quiet.rps } });
    }
    const ratios = rounds.map((x) => x.ratio).sort((a, b) => a - b);
    const median = [...rounds].sort((a, b) => a.ratio - b.ratio)[(rounds.length - 1) >> 1]!;
    if (ROUNDS > 1) log(`  mixed ÷ quiet by round: ${ratios.map((x) => x.toFixed(2)).join(', ')}; reported: the round of the median`);
    const label = 'lookup 100 ids, JSON, established and emerging ids';
    phases.push(
      { key: 'mixed-quiet', label: `mixed phase, quiet: ${label}`, idsPerRequest: 100, connections: CONNECTIONS, service: median.quiet },
      {
        key: 'mixed',
        label: `mixed: ${label}, + ${EVENT_RATE} events/s`,
        idsPerRequest: 100,
        connections: CONNECTIONS,
        service: median.mixed,
      },
    );
    return { ...median.extra, ...(ROUNDS > 1 ? { ratios } : {}) };
  }

  /** One mixed run: the event feeder (its own process) starts, then the lookups run under it. */
  async function mixedRound(round: number): Promise<{ run: RunFigures; extra: Omit<MixedExtra, 'quietRps'> }> {
    const feeder = await LoadGen.start({
      url: env.url,
      space: SPACE,
      seconds: (round === 0 ? EVENTS_ALONE_MS / 1000 : 0) + WARMUP + DURATION + 60,
      world: { seed: SEED, dim: DIM, users: USERS },
      progressEveryMs: 5000,
      events: {
        rate: EVENT_RATE,
        batch: EVENT_BATCH,
        kind: 'e',
        from: 0,
        count: EMERGING,
        idPrefix: `mixed-${round}-${Date.now().toString(36)}`,
        maxInflight: Math.max(8, Math.ceil((2 * EVENT_RATE) / EVENT_BATCH)),
      },
    });
    await feeder.go();
    if (round === 0) await eventsAlone();
    if (WARMUP > 0) await runWrk({ url: env.url, script: mixedLua, threads: THREADS, connections: CONNECTIONS, seconds: WARMUP });
    const m0 = await api.metrics();
    const j0 = jobsApi === api ? m0 : await jobsApi.metrics();
    const mixedT0 = performance.now();
    const cpu0 = pid === null ? null : cpuSeconds(pid);
    const wcpu0 = env.worker ? cpuSeconds(env.worker.pid) : null;
    const mixedWrk = await runWrk({ url: env.url, script: mixedLua, threads: THREADS, connections: CONNECTIONS, seconds: DURATION });
    const cpu1 = pid === null ? null : cpuSeconds(pid);
    const wcpu1 = env.worker ? cpuSeconds(env.worker.pid) : null;
    const m1 = await api.metrics();
    const j1 = jobsApi === api ? m1 : await jobsApi.metrics();
    if (wcpu0 !== null && wcpu1 !== null)
      log(`  worker process: ${((wcpu1 - wcpu0) / ((performance.now() - mixedT0) / 1000)).toFixed(2)} cores over the run`);
    feeder.stop();
    const feed = await feeder.finish();
    const cr = cacheRate(m0, m1);
    const refineJobs = promDelta(j0, j1, 'emerflow_jobs_total', { queue: 'refine', outcome: 'completed' });
    log(
      `  service: ${mixedWrk.rps.toFixed(0)} req/s, p99 ${mixedWrk.latencyMs.p99.toFixed(2)} ms, cache hit rate ` +
        `${cr.rate === undefined ? 'n/a' : (cr.rate * 100).toFixed(1) + ' %'}, refine jobs ${refineJobs ?? 'n/a'} in ` +
        `${((performance.now() - mixedT0) / 1000).toFixed(0)} s`,
    );
    // the service's CPU here also pays for the events it ingests and refines
    const cpuUs = cpu0 === null || cpu1 === null || mixedWrk.requests === 0 ? undefined : ((cpu1 - cpu0) * 1e6) / mixedWrk.requests;
    const mixedRun: RunFigures = figures(mixedWrk, cr.rate, cpuUs);
    const ev = feed.events!;
    for (const x of feed.errorSamples) log(`  event feeder: ${x}`);
    return {
      run: mixedRun,
      extra: {
        cacheHits: cr.hits,
        cacheMisses: cr.misses,
        hitRate: cr.rate,
        eventsPerS: ev.accepted / Math.max(1e-9, feed.elapsedS),
        eventsAccepted: ev.accepted,
        feederErrors: ev.errors,
        feederThrottled: ev.throttled,
        refineJobs,
      },
    };
  }

  /** What the events alone cost each process, before any lookup: where the mixed run's cores go. */
  async function eventsAlone(): Promise<void> {
    const at = performance.now();
    const m0 = machineBusySeconds();
    const statements = PG_STATEMENTS && env.databaseUrl ? await startStatementWindow(env.databaseUrl) : null;
    const names = new Map<number, string>([[process.pid, 'node (this bench)']]);
    if (pid !== null) names.set(pid, 'node (service)');
    if (env.worker) names.set(env.worker.pid, 'node (worker)');
    const k0 = cpuByKind(names);
    await delay(EVENTS_ALONE_MS);
    const m1 = machineBusySeconds();
    const s = (performance.now() - at) / 1000;
    const k1 = cpuByKind(names);
    const byKind = [...k1].map(([k, v]) => [k, (v - (k0.get(k) ?? 0)) / s] as const).filter(([, c]) => c >= 0.005);
    byKind.sort((a, b) => b[1] - a[1]);
    log(`  cores by process: ${byKind.map(([k, c]) => `${k} ${c.toFixed(2)}`).join(', ')}`);
    if (statements) {
      for (const line of await statements.report(s)) log(`  ${line}`);
      await statements.close();
    }
    const cores = (kind: string) => {
      const c = byKind.find(([k]) => k === kind)?.[1];
      return c === undefined ? (k1.has(kind) ? '0.00' : 'n/a') : c.toFixed(2);
    };
    log(
      `  the events alone, ${(EVENTS_ALONE_MS / 1000).toFixed(0)} s: ${cores('node (service)')} cores in the service` +
        (env.worker ? `, ${cores('node (worker)')} in the worker` : '') +
        `, ${m0 === null || m1 === null ? 'n/a' : ((m1 - m0) / s).toFixed(2)} busy on the whole machine (Postgres, Redis and the event feeder included)`,
    );
  }

  // ---- report ----
  const rawBytesPerItem = DIM * 4 + meanIdBytes(ITEMS);
  const report: LookupReport = {
    config: {
      items: ITEMS,
      dim: DIM,
      duration: DURATION,
      warmup: WARMUP,
      threads: THREADS,
      connections: CONNECTIONS,
      rounds: ROUNDS,
      lowConnections: LOW_CONNECTIONS,
      emerging: EMERGING,
      eventRate: EVENT_RATE,
      cores: os.cpus().length,
    },
    load: { items: ITEMS, seconds: loadS, itemsPerS: ITEMS / loadS, cacheWarmS, bareBuildS: bare.buildS },
    memory: {
      serverStartRss,
      afterLoadRss,
      afterLookupsRss,
      afterMixedRss: rss(),
      bareRss,
      rawBytesPerItem,
      rssBytesPerItem:
        afterLookupsRss === undefined || serverStartRss === undefined ? undefined : (afterLookupsRss - serverStartRss) / ITEMS,
    },
    phases,
    mixed,
    targets: judge(phases, mixed),
  };
  printReport(report, [
    `lookup bench: ${ITEMS.toLocaleString('en-US')} established items (dim ${DIM}), ${os.cpus().length} cores; wrk -t${THREADS} ` +
      `-c${CONNECTIONS} -d${DURATION}s after a ${WARMUP} s warm-up, its own process, ${ROUNDS} service-then-bare round(s) a ` +
      `phase (the median pair shown); service: node --import tsx src/server.ts ` +
      (env.worker
        ? `(ROLE=api), pid ${pid ?? 'n/a'}, beside a worker process (ROLE=worker), pid ${env.worker.pid}, ` +
          'as docker-compose.yml deploys them'
        : `(ROLE=all), pid ${pid ?? 'n/a'}`) +
      `; bare Fastify + Map, pid ${bare.pid}`,
    `loaded ${ITEMS.toLocaleString('en-US')} items in ${loadS.toFixed(1)} s (${(ITEMS / loadS).toFixed(0)} items/s, batches of ` +
      `${BATCH}, ${LOAD_CONCURRENCY} in flight); cache warmed with every item in ${cacheWarmS.toFixed(1)} s; bare server built its Map ` +
      `in ${bare.buildS.toFixed(1)} s`,
    `"half of peak": wrk cannot hold a fixed rate, so a paced run (wrk's delay() hook, about half the peak) is judged when it ` +
      `reached 40-60 % of the peak, else the run with ${LOW_CONNECTIONS} connections; both are shown`,
    MIXED
      ? `mixed: ${EMERGING} emerging items get ${EVENT_RATE} events/s (batches of ${EVENT_BATCH}, from bench/support/loadgen.ts, ` +
        `its own process); lookups draw from established and emerging ids`
      : 'mixed phase skipped (--mixed no)',
  ]);
  if (OUT) {
    fs.writeFileSync(OUT, JSON.stringify(report, null, 2) + '\n');
    console.log(`\nresults written to ${OUT}`);
  }
  console.log(
    `\nbench process (setup): ${api.errorReport()}; service log: ${serverLogLines()} lines at warn or above; ` +
      `${((performance.now() - t0) / 1000).toFixed(0)} s in all`,
  );
  const failed = phases.reduce((a, p) => a + p.service.errors + (p.bare?.errors ?? 0), 0) + (mixed?.feederErrors ?? 0) + api.errorCount();
  return failed > 0 ? 1 : 0;
}

const perRun = WARMUP + DURATION + 10;
const maxSeconds = (items: number) =>
  900 + items / 300 + 12 * ROUNDS * perRun + TRAIN_TIMEOUT_MS / 1000 + Math.max(600, EMERGING / 10) + perRun + 120;
if (COUNTS.length > 1)
  runBench(() => runScales(fileURLToPath(import.meta.url), COUNTS, process.argv.slice(2), OUT), {
    maxSeconds: COUNTS.reduce((a, n) => a + maxSeconds(n), 0),
  });
else runBench(main, { maxSeconds: maxSeconds(ITEMS) });
