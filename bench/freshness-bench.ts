// Freshness: how long after an interaction is accepted does the item's refined
// embedding show up in lookups, under a background stream of events?
//
// A trained space (dim 32) gets --items emerging items for the background stream and a
// separate set of probe items that only the probes send events to (so a newer version of
// a probe item can only come from the probe's own event). For each rate in --rates, for
// --seconds: the load generator (its own process) streams events at that rate uniformly
// over the stream items; meanwhile probes, a few at a time, round-robin over the probe
// items: read the version, send one event, note when the POST got its 202, then poll the
// lookup route until a newer 'refined' version appears (latency) or 15 s pass
// (unrefreshed). Sampled every 2 s: the refine/embed backlog (GET /metrics) and items
// refined per second, from the metrics and, independently, from version increments of a
// random sample of stream items. After the stream: how long until the refine backlog is 0.
//
// Run: npm run bench:freshness [-- --url URL] [--items 2000] [--rates 1000,5000] [--seconds 60] [--probes N]
// Without --url it starts its own Postgres, Redis and service (tsx src/server.ts).
// Exit code 0 whatever the figures; 1 on errors (non-2xx other than 429/503, failures).
import os from 'node:os';
import { parseArgs, num, numList, url } from './support/args.js';
import { Api } from './support/http.js';
import { delay, log, runBench, serverLogLines, sleep, startEnv, printServerLogTail, interrupted } from './support/harness.js';
import { LoadGen } from './support/loadgen-client.js';
import type { LoadStats } from './support/loadgen-protocol.js';
import { promValue, type Prom } from './support/prom.js';
import { postEmerging, setupTrainedSpace, waitForEmbeddings, type LookupAnswer } from './support/setup.js';
import { fixed, int, ms, secs, summarise, table, thin } from './support/stats.js';
import { World, rng, mix } from './support/world.js';

const opts = parseArgs('npm run bench:freshness -- [options]', {
  url: { help: 'use this running service instead of starting one (127.0.0.1 only)' },
  items: { default: '2000', help: 'emerging items in the background stream' },
  rates: { default: '1000,5000', help: 'background event rates (events/s), one run each' },
  seconds: { default: '60', help: 'length of each run' },
  probes: { default: '30', help: 'dedicated probe items (events only from probes)' },
  'probe-concurrency': { default: '3', help: 'probes in flight at once' },
  'probe-timeout': { default: '15', help: 'seconds after which a probe counts as unrefreshed' },
  'poll-ms': { default: '15', help: 'interval between lookups of a probe' },
  'sample-items': { default: '200', help: 'stream items whose versions are sampled for the independent refine rate' },
  users: { default: '500', help: 'users with vectors' },
  established: { default: '300', help: 'established items the model trains on' },
  'events-per-item': { default: '80', help: 'interactions per established item' },
  seed: { default: '1', help: 'seed of the synthetic world' },
  'drain-timeout': { default: '300', help: 'seconds to wait for the refine backlog to reach 0 after a run' },
  'train-timeout': { default: '900', help: 'seconds to wait for training' },
});
const URL_ = url('url', opts.url);
const ITEMS = num('items', opts.items, { min: 1, max: 1_000_000, integer: true });
const RATES = numList('rates', opts.rates, { min: 1, max: 100_000 });
const SECONDS = num('seconds', opts.seconds, { min: 1, max: 3600 });
const PROBES = num('probes', opts.probes, { min: 1, max: 1000, integer: true });
const PROBE_CONC = num('probe-concurrency', opts['probe-concurrency'], { min: 1, max: 32, integer: true });
const PROBE_TIMEOUT_MS = num('probe-timeout', opts['probe-timeout'], { min: 1, max: 600 }) * 1000;
const POLL_MS = num('poll-ms', opts['poll-ms'], { min: 1, max: 5000 });
const SAMPLE = Math.min(ITEMS, num('sample-items', opts['sample-items'], { min: 1, max: 1000, integer: true }));
const USERS = num('users', opts.users, { min: 1, max: 1_000_000, integer: true });
const ESTABLISHED = num('established', opts.established, { min: 2, max: 100_000, integer: true });
const EVENTS_PER_ITEM = num('events-per-item', opts['events-per-item'], { min: 1, max: 10_000, integer: true });
const SEED = num('seed', opts.seed, { integer: true });
const DRAIN_TIMEOUT_MS = num('drain-timeout', opts['drain-timeout'], { min: 1, max: 7200 }) * 1000;
const TRAIN_TIMEOUT_MS = num('train-timeout', opts['train-timeout'], { min: 10, max: 7200 }) * 1000;
const DIM = 32;
const SAMPLE_EVERY_MS = 2000;

const TARGETS: Record<number, number> = { 1000: 1000, 5000: 3000 };

interface Row {
  t: number;
  phase: 'stream' | 'drain';
  refinePending?: number;
  embedPending?: number;
  jobsRefine?: number;
  doneRefine?: number;
  sampledSum: number;
  sampledChanged: number;
  accepted?: number;
}

interface RateResult {
  rate: number;
  batch: number;
  load: LoadStats;
  streamS: number;
  probeLatencies: number[];
  unrefreshed: number;
  probeSkipped: number;
  behind: number;
  rows: Row[];
  drainS: number | null;
  peakRefine?: number;
  refinedPerS: { sampled: number; jobs?: number; done?: number; streamSampled: number; streamJobs?: number; streamDone?: number };
}

const pending = (p: Prom | null, queue: string) => promValue(p, 'emerflow_tasks_pending', { queue });
const jobsRefine = (p: Prom | null) => promValue(p, 'emerflow_jobs_total', { queue: 'refine', outcome: 'completed' });
const doneRefine = (p: Prom | null) => promValue(p, 'emerflow_tasks_done_total', { queue: 'refine' });

async function main(): Promise<number> {
  const env = await startEnv({ url: URL_ });
  const api = new Api(env.url);
  const world = new World(SEED, DIM, USERS);
  const space = `freshness-${Date.now().toString(36)}`;
  const sp = encodeURIComponent(space);
  const setup = await setupTrainedSpace(api, world, {
    space,
    established: ESTABLISHED,
    eventsPerItem: EVENTS_PER_ITEM,
    trainTimeoutMs: TRAIN_TIMEOUT_MS,
  });
  const streamIds = Array.from({ length: ITEMS }, (_, i) => world.itemId('e', i));
  const probeIds = Array.from({ length: PROBES }, (_, i) => world.itemId('p', i));
  const postS = (await postEmerging(api, world, space, 'e', 0, ITEMS)) + (await postEmerging(api, world, space, 'p', 0, PROBES));
  log(`posted ${ITEMS} stream + ${PROBES} probe items in ${postS.toFixed(1)} s; waiting for cold embeddings`);
  const coldS = await waitForEmbeddings(api, space, [...streamIds, ...probeIds], Math.max(600_000, ITEMS * 100), 'cold embeddings');
  log(`all ${ITEMS + PROBES} emerging items have a cold embedding (${coldS.toFixed(1)} s after posting)`);

  const r = rng(mix(SEED, 0x7072));
  const sampleIds = [...streamIds].sort(() => r() - 0.5).slice(0, SAMPLE);
  const sentToProbe = new Map<string, number>();
  const results: RateResult[] = [];
  let probeSeq = 0;

  for (const [ri, rate] of RATES.entries()) {
    if (interrupted()) break;
    const batch = Math.max(50, Math.min(250, Math.round(rate / 20)));
    // Open loop at the rate; at most 2 s worth of POSTs outstanding before it falls behind (counted).
    const maxInflight = Math.max(8, Math.ceil((2 * rate) / batch));
    log(
      `run ${ri + 1}/${RATES.length}: ${rate} events/s for ${SECONDS} s (${batch} events a POST, ${(rate / batch).toFixed(1)} POST/s, ` +
        `at most ${maxInflight} outstanding), ${PROBE_CONC} probes in flight`,
    );
    const gen = await LoadGen.start({
      url: env.url,
      space,
      seconds: SECONDS,
      world: { seed: SEED, dim: DIM, users: USERS },
      progressEveryMs: SAMPLE_EVERY_MS,
      events: { rate, batch, kind: 'e', from: 0, count: ITEMS, idPrefix: `r${ri}-${Date.now().toString(36)}`, maxInflight },
    });

    // Version sampler + metrics sampler, every 2 s until told to stop.
    const rows: Row[] = [];
    const lastVersion = new Map<string, number>();
    const readVersions = async (): Promise<{ sum: number; changed: number } | null> => {
      const a = await api.send<LookupAnswer>(
        'POST',
        `/v1/spaces/${sp}/embeddings/lookup`,
        { ids: sampleIds },
        { route: 'POST lookup (sample)', timeoutMs: 10_000 },
      );
      if (!a.body) return null;
      let sum = 0;
      let changed = 0;
      for (const e of a.body.embeddings) {
        const prev = lastVersion.get(e.id);
        if (prev !== undefined && e.version > prev) {
          sum += e.version - prev;
          changed++;
        }
        lastVersion.set(e.id, e.version);
      }
      return { sum, changed };
    };
    await readVersions();
    let sampledSum = 0;
    let sampledChanged = 0;
    let phase: Row['phase'] = 'stream';
    let sampling = true;
    let t0 = performance.now();
    const takeRow = async () => {
      const [m, v] = await Promise.all([api.metrics(), readVersions()]);
      if (v) {
        sampledSum += v.sum;
        sampledChanged += v.changed;
      }
      const row: Row = {
        t: (performance.now() - t0) / 1000,
        phase,
        refinePending: pending(m, 'refine'),
        embedPending: pending(m, 'embed'),
        jobsRefine: jobsRefine(m),
        doneRefine: doneRefine(m),
        sampledSum,
        sampledChanged,
        accepted: gen.latest?.events?.accepted ?? 0,
      };
      rows.push(row);
      return row;
    };

    // Probes.
    let streaming = true;
    const latencies: number[] = [];
    let unrefreshed = 0;
    let skipped = 0;
    let behind = 0;
    const free = [...probeIds];
    const quarantined = new Set<string>();
    const probeOnce = async (item: string): Promise<void> => {
      const lookup = () =>
        api.send<LookupAnswer>(
          'POST',
          `/v1/spaces/${sp}/embeddings/lookup`,
          { ids: [item] },
          { route: 'POST lookup (probe)', timeoutMs: 10_000 },
        );
      const pre = await lookup();
      if (!pre.body) {
        skipped++;
        return;
      }
      const v0 = pre.body.embeddings[0]?.version ?? 0;
      const u = Math.floor(r() * USERS);
      const it = world.item('p', Number(item.slice(1)));
      const ev = {
        id: `probe-${ri}-${probeSeq++}-${Date.now().toString(36)}`,
        userId: world.userId(u),
        itemId: item,
        label: world.label(u, it.vector, r),
        ts: new Date().toISOString(),
      };
      const a = await api.send(
        'POST',
        `/v1/spaces/${sp}/interactions`,
        { events: [ev] },
        { route: 'POST interactions (probe)', timeoutMs: 10_000 },
      );
      const accepted = performance.now();
      if (a.status < 200 || a.status >= 300) {
        skipped++;
        quarantined.add(item);
        return;
      }
      sentToProbe.set(item, (sentToProbe.get(item) ?? 0) + 1);
      while (performance.now() - accepted < PROBE_TIMEOUT_MS) {
        const l = await lookup();
        const e = l.body?.embeddings[0];
        if (e && e.version > v0 && e.kind === 'refined') {
          latencies.push(performance.now() - accepted);
          // Sanity, outside the timing: the new version has used every event sent to the item.
          const g = await api.send<{ interactions?: number }>(
            'GET',
            `/v1/spaces/${sp}/items/${encodeURIComponent(item)}/embedding`,
            undefined,
            {
              route: 'GET embedding (probe)',
              timeoutMs: 10_000,
            },
          );
          if (g.body && typeof g.body.interactions === 'number' && g.body.interactions < sentToProbe.get(item)!) behind++;
          return;
        }
        await delay(POLL_MS);
      }
      unrefreshed++;
      quarantined.add(item); // a late refinement must not be taken for the next probe's
    };
    const prober = async () => {
      while (streaming && !interrupted()) {
        const item = free.shift();
        if (!item) {
          await delay(50);
          continue;
        }
        await probeOnce(item);
        if (!quarantined.has(item)) free.push(item);
      }
    };

    await gen.go();
    t0 = performance.now();
    const probers = Array.from({ length: PROBE_CONC }, () => prober());
    const sampler = (async () => {
      while (sampling && !interrupted()) {
        const row = await takeRow();
        if (phase === 'stream' && rows.length % 5 === 1) {
          const s = summarise(latencies);
          log(
            `  t=${row.t.toFixed(0)} s: ${int(row.accepted ?? 0)} events accepted, refine backlog ${int(row.refinePending)}, embed ` +
              `${int(row.embedPending)}, probes ${s.n} (p95 ${ms(s.p95)}), unrefreshed ${unrefreshed}`,
          );
        }
        const wait = SAMPLE_EVERY_MS - ((performance.now() - t0) % SAMPLE_EVERY_MS);
        await delay(wait);
      }
    })();
    let load: LoadStats;
    try {
      load = await gen.finish();
    } finally {
      streaming = false;
    }
    const streamEnd = performance.now();
    const streamS = (streamEnd - t0) / 1000;
    await Promise.all(probers);
    phase = 'drain';
    const endRow = rows.filter((x) => x.phase === 'stream').at(-1);

    // Drain: how long until the refine backlog is 0.
    let drainS: number | null = null;
    const drainDeadline = streamEnd + DRAIN_TIMEOUT_MS;
    let gaugeMissing = false;
    while (performance.now() < drainDeadline) {
      const m = await api.metrics();
      const p = pending(m, 'refine');
      if (m && p === undefined) {
        gaugeMissing = true;
        break;
      }
      if (p === 0) {
        drainS = (performance.now() - streamEnd) / 1000;
        break;
      }
      await sleep(500);
    }
    sampling = false;
    await sampler;
    const last = await takeRow();
    if (gaugeMissing) log('  GET /metrics has no emerflow_tasks_pending gauge: drain time n/a');
    else if (drainS === null) log(`  the refine backlog was not 0 within ${DRAIN_TIMEOUT_MS / 1000} s of the stream's end`);
    else log(`  refine backlog 0 after ${drainS.toFixed(1)} s`);

    const first = rows[0]!;
    const perS = (a: number | undefined, b: number | undefined, dt: number) =>
      a === undefined || b === undefined || dt <= 0 ? undefined : (b - a) / dt;
    const scale = ITEMS / SAMPLE;
    const endS = endRow ?? last;
    results.push({
      rate,
      batch,
      load,
      streamS,
      probeLatencies: latencies,
      unrefreshed,
      probeSkipped: skipped,
      behind,
      rows,
      drainS: gaugeMissing ? NaN : drainS,
      peakRefine: rows.reduce<number | undefined>(
        (acc, x) => (x.refinePending === undefined ? acc : Math.max(acc ?? 0, x.refinePending)),
        undefined,
      ),
      refinedPerS: {
        sampled: ((last.sampledSum - first.sampledSum) * scale) / Math.max(1e-9, last.t - first.t),
        jobs: perS(first.jobsRefine, last.jobsRefine, last.t - first.t),
        done: perS(first.doneRefine, last.doneRefine, last.t - first.t),
        streamSampled: ((endS.sampledSum - first.sampledSum) * scale) / Math.max(1e-9, endS.t - first.t),
        streamJobs: perS(first.jobsRefine, endS.jobsRefine, endS.t - first.t),
        streamDone: perS(first.doneRefine, endS.doneRefine, endS.t - first.t),
      },
    });
  }

  // ---- report ----
  console.log(
    `\nfreshness: ${ITEMS} emerging stream items + ${PROBES} probe items (dim ${DIM}), ${SECONDS} s per rate, ${PROBE_CONC} probes in ` +
      `flight, lookups every ${POLL_MS} ms, give-up ${PROBE_TIMEOUT_MS / 1000} s; ${os.cpus().length} cores; service ` +
      `${env.spawned ? 'started by the bench' : env.url}`,
  );
  console.log(
    `setup: ${USERS} users, ${ESTABLISHED} established items × ${EVENTS_PER_ITEM} interactions, training ` +
      `${setup.trainSeconds.toFixed(1)} s (model v${setup.modelVersion}); cold embeddings for ${ITEMS + PROBES} items ` +
      `${coldS.toFixed(1)} s after posting\n`,
  );
  console.log('background stream (from the load-generator process)\n');
  console.log(
    table(
      [
        'target events/s',
        'events sent',
        'accepted',
        'duplicates',
        'achieved events/s',
        'not sent (behind)',
        'POSTs',
        'throttled',
        'errors',
        'POST p50 / p99',
      ],
      results.map((x) => {
        const e = x.load.events!;
        return [
          x.rate,
          int(e.units),
          int(e.accepted),
          int(e.duplicates),
          int(e.accepted / x.load.elapsedS),
          int(e.dropped * x.batch),
          int(e.requests),
          int(e.throttled),
          int(e.errors),
          e.latency ? `${ms(e.latency.p50)} / ${ms(e.latency.p99)}` : 'n/a',
        ];
      }),
    ),
  );
  console.log('\nprobes: accepted (202) → newer refined version in a lookup\n');
  console.log(
    table(
      [
        'events/s',
        'probes done',
        'p50',
        'p95',
        'p99',
        'max',
        'unrefreshed (>15 s)',
        'target',
        'verdict',
        'skipped',
        'version missed an event',
      ],
      results.map((x) => {
        const s = summarise(x.probeLatencies);
        const target = TARGETS[x.rate];
        const verdict = target === undefined ? '—' : s.p95 <= target && x.unrefreshed === 0 ? 'met' : 'MISSED';
        return [
          x.rate,
          s.n,
          ms(s.p50),
          ms(s.p95),
          ms(s.p99),
          ms(s.max),
          x.unrefreshed,
          target === undefined ? 'no probe unrefreshed' : `p95 ≤ ${ms(target)}, no probe unrefreshed`,
          verdict,
          x.probeSkipped,
          x.behind,
        ];
      }),
    ),
  );
  console.log('\nrefinement throughput and backlog\n');
  console.log(
    table(
      [
        'events/s',
        'peak refine backlog',
        'backlog at stream end',
        'refine backlog 0 after stream',
        'refined items/s, sampled versions (stream / overall)',
        'refine jobs/s, emerflow_jobs_total (stream / overall)',
        'refine tasks/s, emerflow_tasks_done_total',
      ],
      results.map((x) => {
        const endRow = x.rows.filter((r) => r.phase === 'stream').at(-1);
        const drain = x.drainS === null ? `> ${DRAIN_TIMEOUT_MS / 1000} s` : Number.isNaN(x.drainS) ? 'n/a (no gauge)' : secs(x.drainS);
        const f = x.refinedPerS;
        return [
          x.rate,
          int(x.peakRefine),
          int(endRow?.refinePending),
          drain,
          `${fixed(f.streamSampled)} / ${fixed(f.sampled)}`,
          `${fixed(f.streamJobs)} / ${fixed(f.jobs)}`,
          f.done === undefined ? 'n/a' : `${fixed(f.streamDone)} / ${fixed(f.done)}`,
        ];
      }),
    ),
  );
  console.log(
    `\n(sampled: version increments of ${SAMPLE} random stream items per second, scaled by ${ITEMS}/${SAMPLE}; independent of metric ` +
      `names)`,
  );
  for (const x of results) {
    console.log(`\nbacklog over time at ${x.rate} events/s (t from the stream's start; rates over the preceding interval)\n`);
    const rows = thin(x.rows, 40);
    console.log(
      table(
        ['t', 'phase', 'events accepted', 'refine pending', 'embed pending', 'refined items/s (sampled)', 'refine jobs/s (metric)'],
        rows.map((row) => {
          const i = x.rows.indexOf(row);
          const prev = i > 0 ? x.rows[i - 1]! : null;
          const dt = prev ? row.t - prev.t : NaN;
          const sampled = prev ? ((row.sampledSum - prev.sampledSum) * (ITEMS / SAMPLE)) / dt : NaN;
          const jobs =
            prev && row.jobsRefine !== undefined && prev.jobsRefine !== undefined ? (row.jobsRefine - prev.jobsRefine) / dt : NaN;
          return [
            `${row.t.toFixed(1)} s`,
            row.phase,
            int(row.accepted),
            int(row.refinePending),
            int(row.embedPending),
            fixed(sampled, 0),
            fixed(jobs, 0),
          ];
        }),
      ),
    );
  }
  const loadErrors = results.reduce((a, x) => a + x.load.events!.errors, 0);
  const loadThrottled = results.reduce((a, x) => a + x.load.events!.throttled, 0);
  console.log(`\nload generator: errors ${loadErrors}, throttled (429/503) ${loadThrottled}`);
  for (const x of results) for (const s of x.load.errorSamples) console.log(`  sample  ${s}`);
  console.log(`bench process (setup, probes, sampling): ${api.errorReport()}`);
  if (env.spawned) console.log(`service log: ${serverLogLines()} lines at warn or above`);
  if (serverLogLines() > 0) printServerLogTail(10);
  const errors = api.errorCount() + loadErrors;
  if (interrupted()) return 130;
  return errors > 0 ? 1 : 0;
}

const budget =
  TRAIN_TIMEOUT_MS / 1000 +
  1200 +
  Math.max(600, ITEMS / 10) +
  RATES.length * (SECONDS + DRAIN_TIMEOUT_MS / 1000 + PROBE_TIMEOUT_MS / 1000 + 240);
runBench(main, { maxSeconds: budget });
