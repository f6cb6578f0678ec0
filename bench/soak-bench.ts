// Soak: steady mixed load for --minutes, watching the service's memory.
//
// A trained space (dim 32) with --items emerging items; the load generator (its own
// process) sends 200 events/s over them (batches of 50), 50 lookups/s of 100 ids each,
// and one new emerging item every 2 s. Every --sample-seconds the service's resident
// memory is sampled (VmRSS of the spawned server process, or
// emerflow_process_resident_memory_bytes from /metrics with --url) and printed. At the
// end: the mean of the last third of the samples against the first third (after a
// warm-up of --warmup-samples), target "within 10 %", and the error count (target 0).
//
// Run: npm run bench:soak [-- --url URL] [--minutes 30]
// Exit code 0 whatever the figures; 1 on errors (non-2xx other than 429/503, failures).
import os from 'node:os';
import { parseArgs, num, url } from './support/args.js';
import { Api } from './support/http.js';
import {
  delay,
  interrupted,
  log,
  printServerLogTail,
  rssBytes,
  runBench,
  serverLogLines,
  serverProcessPid,
  startEnv,
} from './support/harness.js';
import { LoadGen } from './support/loadgen-client.js';
import type { LoadStats } from './support/loadgen-protocol.js';
import { promValue } from './support/prom.js';
import { lookupAll, postEmerging, setupTrainedSpace, waitForEmbeddings } from './support/setup.js';
import { fixed, int, mean, mib, ms, table } from './support/stats.js';
import { World } from './support/world.js';

const opts = parseArgs('npm run bench:soak -- [options]', {
  url: { help: 'use this running service instead of starting one (127.0.0.1 only)' },
  minutes: { default: '30', help: 'length of the steady load' },
  items: { default: '3000', help: 'emerging items the events and lookups go to' },
  'event-rate': { default: '200', help: 'interaction events per second (batches of 50)' },
  'lookup-rate': { default: '50', help: 'lookup requests per second' },
  'lookup-ids': { default: '100', help: 'ids per lookup request' },
  'new-item-every': { default: '2', help: 'seconds between new emerging items' },
  'sample-seconds': { default: '30', help: 'seconds between memory samples' },
  'warmup-samples': { default: '2', help: 'first samples left out of the comparison' },
  users: { default: '500', help: 'users with vectors' },
  established: { default: '300', help: 'established items the model trains on' },
  'events-per-item': { default: '80', help: 'interactions per established item' },
  seed: { default: '1', help: 'seed of the synthetic world' },
  'train-timeout': { default: '900', help: 'seconds to wait for training' },
});
const URL_ = url('url', opts.url);
const MINUTES = num('minutes', opts.minutes, { min: 0.1, max: 24 * 60 });
const ITEMS = num('items', opts.items, { min: 1, max: 1_000_000, integer: true });
const EVENT_RATE = num('event-rate', opts['event-rate'], { min: 1, max: 100_000 });
const LOOKUP_RATE = num('lookup-rate', opts['lookup-rate'], { min: 0.1, max: 10_000 });
const LOOKUP_IDS = num('lookup-ids', opts['lookup-ids'], { min: 1, max: 1000, integer: true });
const NEW_EVERY_S = num('new-item-every', opts['new-item-every'], { min: 0.05, max: 3600 });
const SAMPLE_S = num('sample-seconds', opts['sample-seconds'], { min: 1, max: 3600 });
const WARMUP = num('warmup-samples', opts['warmup-samples'], { min: 0, max: 1000, integer: true });
const USERS = num('users', opts.users, { min: 1, max: 1_000_000, integer: true });
const ESTABLISHED = num('established', opts.established, { min: 2, max: 100_000, integer: true });
const EVENTS_PER_ITEM = num('events-per-item', opts['events-per-item'], { min: 1, max: 10_000, integer: true });
const SEED = num('seed', opts.seed, { integer: true });
const TRAIN_TIMEOUT_MS = num('train-timeout', opts['train-timeout'], { min: 10 }) * 1000;
const DIM = 32;
const BATCH = 50;
const TARGET_GROWTH = 0.1;

interface MemSample {
  t: number;
  rss?: number;
  heap?: number;
  cache?: number;
  refine?: number;
  embed?: number;
  load: LoadStats | null;
}

async function main(): Promise<number> {
  const env = await startEnv({ url: URL_ });
  const api = new Api(env.url);
  const world = new World(SEED, DIM, USERS);
  const space = `soak-${Date.now().toString(36)}`;
  const setup = await setupTrainedSpace(api, world, {
    space,
    established: ESTABLISHED,
    eventsPerItem: EVENTS_PER_ITEM,
    trainTimeoutMs: TRAIN_TIMEOUT_MS,
  });
  await postEmerging(api, world, space, 'e', 0, ITEMS);
  const ids = Array.from({ length: ITEMS }, (_, i) => world.itemId('e', i));
  const coldS = await waitForEmbeddings(api, space, ids, Math.max(600_000, ITEMS * 100), 'cold embeddings');
  log(`all ${ITEMS} emerging items have a cold embedding (${coldS.toFixed(1)} s)`);

  const serverPid = env.spawned && env.serverPid !== undefined ? serverProcessPid(env.serverPid) : null;
  const memSource =
    serverPid !== null ? `VmRSS of the server process (pid ${serverPid})` : 'emerflow_process_resident_memory_bytes from /metrics';
  if (env.spawned && serverPid === null) log('could not find the server process under the spawned tsx; reading memory from /metrics');

  const seconds = MINUTES * 60;
  const gen = await LoadGen.start({
    url: env.url,
    space,
    seconds,
    world: { seed: SEED, dim: DIM, users: USERS },
    progressEveryMs: 5000,
    events: {
      rate: EVENT_RATE,
      batch: BATCH,
      kind: 'e',
      from: 0,
      count: ITEMS,
      idPrefix: `soak-${Date.now().toString(36)}`,
      maxInflight: 8,
    },
    lookups: { rate: LOOKUP_RATE, ids: LOOKUP_IDS, kind: 'e', from: 0, count: ITEMS, maxInflight: 16 },
    newItems: { everyMs: NEW_EVERY_S * 1000, kind: 'n', from: 0 },
  });
  console.log(
    `\nsoak: ${MINUTES} min of ${EVENT_RATE} events/s (batches of ${BATCH}) over ${ITEMS} emerging items, ${LOOKUP_RATE} lookups/s of ` +
      `${LOOKUP_IDS} ids, a new emerging item every ${NEW_EVERY_S} s; ${os.cpus().length} cores; service ` +
      `${env.spawned ? 'started by the bench' : env.url}`,
  );
  console.log(
    `setup: ${USERS} users, ${ESTABLISHED} established items × ${EVENTS_PER_ITEM} interactions, training ` +
      `${setup.trainSeconds.toFixed(1)} s (v${setup.modelVersion}); memory: ${memSource}, every ${SAMPLE_S} s\n`,
  );
  const header = [
    't',
    'RSS',
    'heap used',
    'lookup cache',
    'refine pending',
    'embed pending',
    'events accepted',
    'lookups ok',
    'new items',
    'errors so far',
  ];
  console.log(table(header, []));

  const samples: MemSample[] = [];
  const take = async (t: number): Promise<MemSample> => {
    const m = await api.metrics();
    const rss = serverPid !== null ? (rssBytes(serverPid) ?? undefined) : promValue(m, 'emerflow_process_resident_memory_bytes');
    const s: MemSample = {
      t,
      rss,
      heap: promValue(m, 'emerflow_process_nodejs_heap_size_used_bytes'),
      cache: promValue(m, 'emerflow_lookup_cache_entries'),
      refine: promValue(m, 'emerflow_tasks_pending', { queue: 'refine' }),
      embed: promValue(m, 'emerflow_tasks_pending', { queue: 'embed' }),
      load: gen.latest,
    };
    const l = s.load;
    const errs = (l?.events?.errors ?? 0) + (l?.lookups?.errors ?? 0) + (l?.newItems?.errors ?? 0) + api.errorCount();
    const cells = [`${t.toFixed(0)} s`, mib(s.rss), mib(s.heap), int(s.cache), int(s.refine), int(s.embed)];
    cells.push(int(l?.events?.accepted ?? 0), int(l?.lookups?.ok ?? 0), int(l?.newItems?.accepted ?? 0), String(errs));
    console.log(`| ${cells.join(' | ')} |`);
    return s;
  };

  await gen.go();
  const t0 = performance.now();
  let running = true;
  const sampler = (async () => {
    for (let k = 0; running && !interrupted(); k++) {
      samples.push(await take((performance.now() - t0) / 1000));
      // Next sample on the grid; stop waiting as soon as the load ends.
      const next = t0 + (k + 1) * SAMPLE_S * 1000;
      while (running && !interrupted() && performance.now() < next) await delay(Math.min(250, next - performance.now()));
    }
  })();
  let load: LoadStats;
  try {
    load = await gen.finish();
  } finally {
    running = false;
  }
  await sampler;
  const tEnd = (performance.now() - t0) / 1000;
  if (tEnd - (samples.at(-1)?.t ?? -Infinity) > SAMPLE_S / 2) samples.push(await take(tEnd));

  // The trickled items should all have an embedding by now (give them a minute).
  const lastNew = load.newItems?.lastIndex ?? -1;
  const newIds = Array.from({ length: lastNew + 1 }, (_, i) => world.itemId('n', i));
  let newEmbedded = 0;
  for (const deadline = Date.now() + 60_000; newIds.length;) {
    newEmbedded = (await lookupAll(api, space, newIds, 'POST lookup (new items)')).size;
    if (newEmbedded >= newIds.length || Date.now() > deadline) break;
    await delay(1000);
  }

  // ---- figures ----
  const usable = samples.slice(WARMUP).filter((s) => s.rss !== undefined);
  const third = Math.floor(usable.length / 3);
  const firstMean = third > 0 ? mean(usable.slice(0, third).map((s) => s.rss!)) : NaN;
  const lastMean = third > 0 ? mean(usable.slice(-third).map((s) => s.rss!)) : NaN;
  const growth = lastMean / firstMean - 1;
  const e = load.events!;
  const l = load.lookups!;
  const n = load.newItems!;
  const loadErrors = e.errors + l.errors + n.errors;
  const errors = loadErrors + api.errorCount();
  console.log('\nload (from the load-generator process)\n');
  console.log(
    table(
      ['stream', 'target', 'requests', 'ok', 'achieved', 'not sent (behind)', 'throttled', 'errors', 'latency p50 / p99 / max'],
      [
        [
          'events',
          `${EVENT_RATE}/s`,
          int(e.requests),
          int(e.ok),
          `${fixed(e.accepted / load.elapsedS)} events/s (${int(e.accepted)} accepted, ${int(e.duplicates)} dup)`,
          int(e.dropped * BATCH),
          int(e.throttled),
          int(e.errors),
          e.latency ? `${ms(e.latency.p50)} / ${ms(e.latency.p99)} / ${ms(e.latency.max)}` : 'n/a',
        ],
        [
          'lookups',
          `${LOOKUP_RATE}/s × ${LOOKUP_IDS} ids`,
          int(l.requests),
          int(l.ok),
          `${fixed(l.ok / load.elapsedS)} req/s (${int(l.missing)} ids missing)`,
          int(l.dropped),
          int(l.throttled),
          int(l.errors),
          l.latency ? `${ms(l.latency.p50)} / ${ms(l.latency.p99)} / ${ms(l.latency.max)}` : 'n/a',
        ],
        [
          'new items',
          `1 per ${NEW_EVERY_S} s`,
          int(n.requests),
          int(n.ok),
          `${int(n.accepted)} posted, ${newEmbedded} of ${newIds.length} with an embedding at the end`,
          int(n.dropped),
          int(n.throttled),
          int(n.errors),
          n.latency ? `${ms(n.latency.p50)} / ${ms(n.latency.p99)} / ${ms(n.latency.max)}` : 'n/a',
        ],
      ],
    ),
  );
  console.log('\nmemory\n');
  console.log(
    table(
      ['figure', 'value', 'target', 'verdict'],
      [
        ['samples (after a warm-up of ' + WARMUP + ')', `${usable.length} of ${samples.length}`, '', ''],
        [`mean RSS, first third (${third} samples)`, mib(firstMean), '', ''],
        [`mean RSS, last third (${third} samples)`, mib(lastMean), '', ''],
        [
          'growth',
          Number.isFinite(growth) ? `${(growth * 100).toFixed(1)} %` : 'n/a (too few samples)',
          `last third within ${TARGET_GROWTH * 100} % of the first third`,
          Number.isFinite(growth)
            ? growth <= TARGET_GROWTH
              ? growth < -TARGET_GROWTH
                ? 'met (it fell: no growth)'
                : 'met'
              : 'MISSED'
            : 'n/a',
        ],
        [
          'RSS min / max over all samples',
          `${mib(Math.min(...samples.filter((s) => s.rss !== undefined).map((s) => s.rss!)))} / ` +
            `${mib(Math.max(...samples.filter((s) => s.rss !== undefined).map((s) => s.rss!)))}`,
          '',
          '',
        ],
        ['errors (load generator + bench)', String(errors), '0', errors === 0 ? 'met' : 'MISSED'],
      ],
    ),
  );
  for (const s of load.errorSamples) console.log(`  sample  ${s}`);
  console.log(`\nbench process: ${api.errorReport()}`);
  if (env.spawned) console.log(`service log: ${serverLogLines()} lines at warn or above`);
  if (serverLogLines() > 0) printServerLogTail(10);
  return errors > 0 ? 1 : 0;
}

const budget = TRAIN_TIMEOUT_MS / 1000 + 1500 + Math.max(600, ITEMS / 10) + MINUTES * 60 + 300;
runBench(main, { maxSeconds: budget });
