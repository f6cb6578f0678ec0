// Promotion: the recommender retrains, and every emerging item follows it into the new
// space. A space is set up as a recommender would (--users users, --established items
// with their base vectors and interactions, a model trained: bench/support/setup.ts),
// then --items emerging items are posted (batches of 5,000) and waited on until each has
// a cold embedding in version 1. The retrain: version 2 is created and loaded with the
// same users and established items in rotated axes (a random orthogonal matrix, as
// test/api/versions.test.ts does, so the fast path's map is known), then promoted.
//
// Measured from the POST …/versions/2/promote, with the job (GET /v1/jobs/:id) and
// Postgres polled every --poll-ms:
//  (a) fast-path coverage: the first poll at which every emerging item of version 2 has
//      an embedding (Postgres count over the version's physical space), beside the first
//      poll that sees the job's phase leave 'fast path', the job's own fastPath.ms, and
//      the span of the mapped rows' created_at; then confirmed through the API: pinned
//      lookups (?version=2, pages of 1,000) over 10,000 evenly spaced ids (--pinned-check
//      all: every id; a sweep of 100,000 ids competes with the training for the 2 cores),
//      and 1,000 of them, mapped, against the rotation of what version 1 serves;
//  (b) each phase's time, from the first poll that showed it to the first that showed
//      the next (a phase shorter than a poll may not be seen), and the slowest answer to
//      GET /v1/jobs/:id in each (how responsive the API stays; 503s are retried, counted);
//  (c) the switch: the job completed and an unpinned lookup answering spaceVersion 2;
//      then every id looked up unpinned;
//  (d) peak RSS of the service process (/proc, every --poll-ms), Postgres database size
//      before and after.
//
// Run: npm run bench:promote [-- --items 100000] [--train-preset default] [--out results.json]
// Starts its own Postgres, Redis and service (node --import tsx src/server.ts, ROLE=all).
// Exit code 0 when the promotion switched with every item covered; 1 otherwise.
import fs from 'node:fs';
import os from 'node:os';
import pg from 'pg';
import { physicalIdOf } from '../src/db/space-versions.js';
import { parseArgs, num } from './support/args.js';
import { addCleanup, debug, log, rssBytes, runBench, serverLogLines, serverProcessPid, sleep, startEnv } from './support/harness.js';
import { Api } from './support/http.js';
import { postEmerging, setupTrainedSpace, waitForEmbeddings, type JobView, type LookupAnswer } from './support/setup.js';
import { fixed, int, mib, secs, table } from './support/stats.js';
import { World, gaussian, mix, rng } from './support/world.js';

const opts = parseArgs('npm run bench:promote -- [options]', {
  items: { default: '100000', help: 'emerging items to promote' },
  established: { default: '2000', help: 'established items (in both versions: the pairs the fast path is fitted on)' },
  dim: { default: '32', help: 'dimension of the space (unchanged by the retrain: the fast path is Procrustes)' },
  users: { default: '2000', help: 'users with vectors' },
  'events-per-item': { default: '40', help: 'interactions per established item' },
  'train-preset': { default: 'default', help: "the service's TRAIN_PRESET: default (what serves) or quick" },
  seed: { default: '1', help: 'seed of the synthetic world and of the rotation' },
  'pinned-check': { default: 'sample', help: 'ids looked up pinned to version 2 once covered: sample (10,000) or all' },
  'poll-ms': { default: '250', help: 'how often the job, Postgres and the RSS are sampled during the promotion' },
  'train-timeout': { default: '1800', help: 'seconds to wait for the first training' },
  'cold-timeout': { default: '0', help: 'seconds to wait for the cold embeddings in version 1 (0: 600 + items/20)' },
  'promote-timeout': { default: '0', help: 'seconds to wait for the promotion (0: 1800 + items/10)' },
  out: { help: 'also write the figures as JSON to this file' },
});
const ITEMS = num('items', opts.items, { min: 1, max: 10_000_000, integer: true });
const ESTABLISHED = num('established', opts.established, { min: 2, max: 1_000_000, integer: true });
const DIM = num('dim', opts.dim, { min: 2, max: 4096, integer: true });
const USERS = num('users', opts.users, { min: 1, max: 1_000_000, integer: true });
const EVENTS_PER_ITEM = num('events-per-item', opts['events-per-item'], { min: 1, max: 10_000, integer: true });
const PRESET = opts['train-preset'] ?? 'default';
if (PRESET !== 'default' && PRESET !== 'quick') throw new Error(`--train-preset must be default or quick, got "${PRESET}"`);
const SEED = num('seed', opts.seed, { integer: true });
const PINNED_CHECK = opts['pinned-check'];
if (PINNED_CHECK !== 'sample' && PINNED_CHECK !== 'all') throw new Error(`--pinned-check must be sample or all, got "${PINNED_CHECK}"`);
const POLL_MS = num('poll-ms', opts['poll-ms'], { min: 20, max: 10_000, integer: true });
const TRAIN_TIMEOUT_MS = num('train-timeout', opts['train-timeout'], { min: 10 }) * 1000;
const COLD_TIMEOUT_MS = (num('cold-timeout', opts['cold-timeout'], { min: 0 }) || 600 + ITEMS / 20) * 1000;
const PROMOTE_TIMEOUT_MS = (num('promote-timeout', opts['promote-timeout'], { min: 0 }) || 1800 + ITEMS / 10) * 1000;
const OUT = opts.out;
const SPACE = 'promote';
const V2 = physicalIdOf(SPACE, 2);
const SAMPLE = Math.min(ITEMS, 1000);
const PINNED = PINNED_CHECK === 'all' ? ITEMS : Math.min(ITEMS, 10_000);

/** A random orthogonal matrix (Gram–Schmidt of Gaussian rows): a retrain that keeps every dot product. */
function rotation(dim: number, seed: number): number[][] {
  const r = rng(seed);
  const rows: number[][] = [];
  while (rows.length < dim) {
    const v = Array.from({ length: dim }, () => gaussian(r));
    for (const q of rows) {
      const d = v.reduce((a, x, i) => a + x * q[i]!, 0);
      for (let i = 0; i < dim; i++) v[i]! -= d * q[i]!;
    }
    const n = Math.hypot(...v);
    rows.push(v.map((x) => x / n));
  }
  return rows;
}
const rotate = (m: number[][], v: readonly number[]) => m.map((row) => row.reduce((a, x, i) => a + x * v[i]!, 0));

type Lookup = LookupAnswer & { spaceVersion: number };
interface Sweep {
  ids: number;
  found: number;
  kinds: Record<string, number>;
  spaceVersions: number[];
  seconds: number;
  slowestPageS: number;
}

interface PhaseSeen {
  phase: string;
  /** seconds after the POST …/promote */
  at: number;
  /** slowest GET /v1/jobs/:id answer while it lasted, and 503s seen */
  slowestPollS: number;
  throttled: number;
}

async function main(): Promise<number> {
  const t0 = performance.now();
  const env = await startEnv({ nodeImport: true, serverEnv: { TRAIN_PRESET: PRESET } });
  const api = new Api(env.url);
  const world = new World(SEED, DIM, USERS);
  const sp = encodeURIComponent(SPACE);
  const ids = Array.from({ length: ITEMS }, (_, i) => world.itemId('e', i));

  const pool = new pg.Pool({ connectionString: env.databaseUrl, application_name: 'emerflow-bench', max: 3, statement_timeout: 60_000 });
  pool.on('error', (err) => debug(`bench Postgres pool: ${err.message} (the next query reconnects)`));
  addCleanup('bench Postgres pool', () => pool.end(), 10_000);
  const q1 = async <T extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<T> =>
    (await pool.query<T>(sql, params)).rows[0]!;
  const dbSize = async () => Number((await q1<{ b: string }>('SELECT pg_database_size(current_database())::text AS b')).b);
  /** Emerging items of a physical space, and those that serve an embedding in it. */
  const served = (physical: string) =>
    q1<{ emerging: number; served: number }>(
      `SELECT count(*)::int AS emerging, count(embedding_version)::int AS served FROM items WHERE space_id = $1 AND state <> 'established'`,
      [physical],
    );

  // ---- the service's RSS, all along ----
  const pid = env.serverPid === undefined ? null : serverProcessPid(env.serverPid);
  if (pid === null) throw new Error('could not find the service process under /proc');
  let peakRss = 0;
  let promoting = false;
  let peakRssPromote = 0;
  const sampleRss = () => {
    const b = rssBytes(pid);
    if (b === null) return undefined;
    peakRss = Math.max(peakRss, b);
    if (promoting) peakRssPromote = Math.max(peakRssPromote, b);
    return b;
  };
  const rssTimer = setInterval(sampleRss, POLL_MS);
  rssTimer.unref();
  addCleanup('RSS sampler', async () => clearInterval(rssTimer), 1000);
  const rssStart = sampleRss();

  /** Ids looked up in pages of 1,000 (two in flight), optionally pinned to a version. */
  const sweep = async (which: readonly string[], version?: number): Promise<Sweep> => {
    const t = performance.now();
    const q = version === undefined ? '' : `?version=${version}`;
    const pages: string[][] = [];
    for (let i = 0; i < which.length; i += 1000) pages.push(which.slice(i, i + 1000));
    const out: Sweep = { ids: which.length, found: 0, kinds: {}, spaceVersions: [], seconds: 0, slowestPageS: 0 };
    const worker = async () => {
      for (let p = pages.shift(); p; p = pages.shift()) {
        const tr = performance.now();
        // a long timeout: how slow a page gets under the promotion is a figure, not an error
        const a = await api.must<Lookup>(
          'POST',
          `/v1/spaces/${sp}/embeddings/lookup${q}`,
          { ids: p },
          { route: `POST lookup${q}`, timeoutMs: 300_000 },
        );
        out.slowestPageS = Math.max(out.slowestPageS, (performance.now() - tr) / 1000);
        out.found += a.embeddings.length;
        for (const e of a.embeddings) out.kinds[e.kind] = (out.kinds[e.kind] ?? 0) + 1;
        if (!out.spaceVersions.includes(a.spaceVersion)) out.spaceVersions.push(a.spaceVersion);
      }
    };
    await Promise.all([worker(), worker()]);
    out.seconds = (performance.now() - t) / 1000;
    return out;
  };
  const lookup = (batch: string[], version?: number) =>
    api.must<Lookup>(
      'POST',
      `/v1/spaces/${sp}/embeddings/lookup${version === undefined ? '' : `?version=${version}`}`,
      { ids: batch },
      {
        timeoutMs: 300_000,
      },
    );

  // ---- version 1: a trained space, then the emerging items' cold embeddings ----
  const setup = await setupTrainedSpace(api, world, {
    space: SPACE,
    established: ESTABLISHED,
    eventsPerItem: EVENTS_PER_ITEM,
    trainTimeoutMs: TRAIN_TIMEOUT_MS,
  });
  let t = performance.now();
  const postS = await postEmerging(api, world, SPACE, 'e', 0, ITEMS);
  log(`posted ${int(ITEMS)} emerging items in ${postS.toFixed(1)} s; waiting for their cold embeddings in version 1`);
  await waitForEmbeddings(api, SPACE, ids, COLD_TIMEOUT_MS, 'cold embeddings (v1)', async () => (await served(SPACE)).served);
  const coldS = (performance.now() - t) / 1000;
  log(`every emerging item has a cold embedding in version 1, ${coldS.toFixed(1)} s after the first POST`);
  const rssBeforeVersion = sampleRss();
  const dbV1 = await dbSize();

  // ---- version 2: the retrain (same users and established items, rotated) ----
  const m = rotation(DIM, mix(SEED, 0x726f74));
  t = performance.now();
  const created = await api.must<{ version: number; state: string }>('POST', `/v1/spaces/${sp}/versions`, {}, { timeoutMs: 600_000 });
  const createS = (performance.now() - t) / 1000;
  if (created.version !== 2 || created.state !== 'staging') throw new Error(`POST …/versions answered ${JSON.stringify(created)}`);
  t = performance.now();
  const users = Array.from({ length: USERS }, (_, u) => ({ id: world.userId(u), vector: rotate(m, world.userVector(u)) }));
  for (let i = 0; i < users.length; i += 50_000)
    await api.must('POST', `/v1/spaces/${sp}/users?version=2`, { users: users.slice(i, i + 50_000) }, { timeoutMs: 120_000 });
  for (let i = 0; i < ESTABLISHED; i += 5000) {
    const items = [];
    for (let k = i; k < Math.min(ESTABLISHED, i + 5000); k++) {
      const it = world.item('b', k);
      items.push({ id: it.id, features: it.features, embedding: rotate(m, it.vector) });
    }
    await api.must('POST', `/v1/spaces/${sp}/items?version=2`, { items }, { timeoutMs: 120_000 });
  }
  const loadS = (performance.now() - t) / 1000;
  const staged = await served(V2);
  if (staged.emerging !== ITEMS || staged.served !== 0)
    throw new Error(`version 2 has ${staged.emerging} emerging items (${staged.served} served) before promotion; expected ${ITEMS} (0)`);
  log(
    `version 2 created in ${createS.toFixed(1)} s, loaded (${USERS} users, ${ESTABLISHED} established, rotated) in ${loadS.toFixed(1)} s`,
  );
  const dbBefore = await dbSize();
  const rssBeforePromote = sampleRss();

  // ---- the promotion ----
  promoting = true;
  const postedAtMs = Date.now();
  const tp = performance.now();
  const since = () => (performance.now() - tp) / 1000;
  const { jobId } = await api.must<{ jobId: string }>('POST', `/v1/spaces/${sp}/versions/2/promote`, {}, { tries: 1 });
  log(`POST …/versions/2/promote → job ${jobId}; polling every ${POLL_MS} ms`);
  const phases: PhaseSeen[] = [];
  let coveredS: number | null = null;
  let uncoveredS = 0; // the last poll that still found an item with nothing in version 2
  let maxPollGapS = 0;
  let lastPollS = 0;
  let job: JobView | null = null;
  let pinned: Promise<Sweep & { startedS: number }> | null = null;
  let mappedCheck: Promise<{ mapped: number; maxRelErr: number }> | null = null;
  let lastLog = 0;
  const deadline = Date.now() + PROMOTE_TIMEOUT_MS;
  for (;;) {
    if (Date.now() > deadline) throw new Error(`the promotion did not complete within ${PROMOTE_TIMEOUT_MS / 1000} s`);
    const asked = performance.now();
    const throttledBefore = api.throttledCount();
    const j = await api.must<JobView & { kind: string }>('GET', `/v1/jobs/${encodeURIComponent(jobId)}`, undefined, {
      route: 'GET job',
      timeoutMs: 300_000,
    });
    const at = since();
    const took = (performance.now() - asked) / 1000;
    const cur = phases.at(-1);
    if (cur) {
      cur.slowestPollS = Math.max(cur.slowestPollS, took);
      cur.throttled += api.throttledCount() - throttledBefore;
    }
    maxPollGapS = Math.max(maxPollGapS, at - lastPollS);
    lastPollS = at;
    const phase = j.state === 'queued' || j.state === 'completed' || !j.progress ? j.state : j.progress.phase;
    if (phases.at(-1)?.phase !== phase) {
      phases.push({ phase, at, slowestPollS: took, throttled: 0 });
      log(`  ${at.toFixed(1)} s: ${phase}`);
    }
    if (coveredS === null) {
      const asked = since();
      const c = await served(V2);
      if (c.served >= c.emerging) {
        coveredS = since();
        log(`  ${coveredS.toFixed(1)} s: every emerging item of version 2 serves an embedding (Postgres)`);
      } else uncoveredS = asked;
    }
    // Once covered and out of the fast path: the API's view, off the polling loop.
    if (coveredS !== null && !pinned && phase !== 'fast path' && phase !== 'queued') {
      const startedS = since();
      const which = Array.from({ length: PINNED }, (_, k) => ids[Math.floor((k * ITEMS) / PINNED)]!);
      pinned = sweep(which, 2).then((s) => ({ ...s, startedS }));
      mappedCheck = (async () => {
        const sample = Array.from({ length: SAMPLE }, (_, k) => ids[Math.floor((k * ITEMS) / SAMPLE)]!);
        const [a2, a1] = [await lookup(sample, 2), await lookup(sample, 1)];
        const v1 = new Map(a1.embeddings.map((e) => [e.id, e.vector]));
        let mapped = 0;
        let maxRelErr = 0;
        for (const e of a2.embeddings) {
          const old = v1.get(e.id);
          if (e.kind !== 'mapped' || !old) continue;
          mapped++;
          const want = rotate(m, old);
          const err = Math.hypot(...e.vector.map((x, d) => x - want[d]!)) / Math.max(1e-12, Math.hypot(...want));
          maxRelErr = Math.max(maxRelErr, err);
        }
        return { mapped, maxRelErr };
      })();
    }
    if (j.state === 'failed') throw new Error(`the promotion failed: ${j.error}`);
    if (j.state === 'completed') {
      job = j;
      break;
    }
    if (Date.now() - lastLog > 15_000) {
      log(`  ${at.toFixed(0)} s: ${j.state}, ${phase}, ${((j.progress?.fraction ?? 0) * 100).toFixed(1)} %, RSS ${mib(sampleRss())}`);
      lastLog = Date.now();
    }
    await sleep(POLL_MS);
  }
  const completedS = since();
  let switchS: number | null = null;
  for (const end = Date.now() + 60_000; Date.now() < end; await sleep(50)) {
    if ((await lookup(ids.slice(0, 10))).spaceVersion === 2) {
      switchS = since();
      break;
    }
  }
  promoting = false;
  log(`job completed at ${completedS.toFixed(1)} s; unpinned lookups answer version 2 at ${switchS?.toFixed(1) ?? 'never'} s`);
  const pinnedSweep = pinned ? await pinned : null;
  const mapped = mappedCheck ? await mappedCheck : null;
  const rssAfter = sampleRss();
  const dbAfter = await dbSize();
  const after = await sweep(ids);
  const mappedRows = await q1<{ n: number; first: number | null; last: number | null }>(
    `SELECT count(*)::int AS n, extract(epoch FROM min(created_at))::float8 * 1000 AS first,
            extract(epoch FROM max(created_at))::float8 * 1000 AS last
     FROM embeddings WHERE space_id = $1 AND kind = 'mapped'`,
    [V2],
  );
  const space = await api.must<{ versions: { version: number; state: string }[] }>('GET', `/v1/spaces/${sp}`);

  // ---- figures ----
  const result = (job.result ?? {}) as {
    fastPath?: { kind?: string; pairs?: number; fitError?: number; mapped?: number; ms?: number; skipped?: string };
    migrated?: number;
    switched?: boolean;
    modelVersion?: number;
    refineBacklogAtSwitch?: number;
  };
  const fp = result.fastPath ?? {};
  const leftFastPath = phases.find((_p, i) => i > 0 && phases[i - 1]!.phase === 'fast path')?.at ?? null;
  const phaseRows = phases
    .map((p, i) => ({ ...p, firstSeenS: p.at, seconds: (phases[i + 1]?.at ?? completedS) - p.at }))
    .filter((p) => p.phase !== 'completed');
  const phaseSeconds = (name: string) => phaseRows.filter((p) => p.phase === name).reduce((a, p) => a + p.seconds, 0);
  const migratingS = phaseSeconds('migrating');
  const relMs = (abs: number | null) => (abs === null ? null : (abs - postedAtMs) / 1000);
  const ok =
    result.switched === true &&
    switchS !== null &&
    coveredS !== null &&
    pinnedSweep?.found === PINNED &&
    pinnedSweep.kinds['mapped'] === PINNED &&
    after.found === ITEMS &&
    after.spaceVersions.join() === '2' &&
    api.errorCount() === 0;

  const report = {
    config: {
      items: ITEMS,
      established: ESTABLISHED,
      dim: DIM,
      users: USERS,
      eventsPerItem: EVENTS_PER_ITEM,
      trainPreset: PRESET,
      seed: SEED,
      pollMs: POLL_MS,
      pinnedCheck: PINNED_CHECK,
      cores: os.cpus().length,
      cpu: os.cpus()[0]?.model,
    },
    setup: { firstTrainS: setup.trainSeconds, postEmergingS: postS, coldV1S: coldS, createVersionS: createS, loadVersionS: loadS },
    promotion: {
      fastPathCoveredS: coveredS,
      fastPathNotYetCoveredS: uncoveredS,
      maxPollGapS,
      fastPathPhaseLeftS: leftFastPath,
      fastPathJobMs: fp.ms ?? null,
      mappedRowsFirstS: relMs(mappedRows.first),
      mappedRowsLastS: relMs(mappedRows.last),
      completedS,
      switchS,
      phases: phaseRows,
      migratingItemsPerS: migratingS > 0 ? ITEMS / migratingS : null,
      result: job.result,
    },
    checks: {
      pinnedSweepV2: pinnedSweep,
      mappedSample: mapped,
      mappedRowsInV2: mappedRows.n,
      unpinnedSweepAfter: after,
      versions: space.versions,
    },
    memory: { rssStart, rssBeforeVersion, rssBeforePromote, rssAfter, peakRss, peakRssPromote },
    postgres: { dbV1Bytes: dbV1, dbBeforePromoteBytes: dbBefore, dbAfterSwitchBytes: dbAfter },
    errors: api.errorCount(),
    ok,
  };

  const kinds = (s: Sweep | null) =>
    s
      ? `${int(s.found)} of ${int(s.ids)} (${Object.entries(s.kinds)
          .map(([k, n]) => `${k} ${int(n)}`)
          .join(', ')}; spaceVersion ${s.spaceVersions.join('/')}) in ${secs(s.seconds)}, slowest page ` + `${secs(s.slowestPageS, 2)}`
      : 'n/a';
  const rel = (x: number | null) => (x === null ? 'n/a' : secs(x));
  console.log(
    `\npromote bench: ${int(ITEMS)} emerging items, ${int(ESTABLISHED)} established, dim ${DIM}, ${int(USERS)} users, ` +
      `${EVENTS_PER_ITEM} events per established item; TRAIN_PRESET=${PRESET}; ${os.cpus().length} cores; service: node --import tsx ` +
      `src/server.ts (ROLE=all), pid ${pid}; polled every ${POLL_MS} ms`,
  );
  console.log(
    `setup: first training ${secs(setup.trainSeconds)}; ${int(ITEMS)} emerging items posted in ${secs(postS)}, all with a cold ` +
      `embedding in version 1 ${secs(coldS)} after the first POST (${int(ITEMS / coldS)} items/s); POST …/versions (copy of the ` +
      `space's items and events) ${secs(createS)}; version 2 loaded in ${secs(loadS)}\n`,
  );
  console.log(
    table(
      ['figure (t from POST …/versions/2/promote)', 'value'],
      [
        [
          '(a) fast path covers every emerging item (Postgres count: first poll that saw it; the one before did not)',
          `${rel(coveredS)} (not at ${secs(uncoveredS)})`,
        ],
        ["(a) job's phase seen leaving 'fast path'", rel(leftFastPath)],
        ["(a) fast path's own time (job result fastPath.ms)", fp.ms === undefined ? 'n/a' : secs(fp.ms / 1000, 2)],
        ['(a) mapped rows written (created_at, first … last)', `${rel(relMs(mappedRows.first))} … ${rel(relMs(mappedRows.last))}`],
        [
          '(a) fast path: map',
          fp.skipped
            ? `skipped: ${fp.skipped}`
            : `${fp.kind ?? '?'} on ${int(fp.pairs)} pairs, fit error ${fp.fitError?.toExponential(2) ?? 'n/a'}, ${int(fp.mapped)} mapped`,
        ],
        [
          `(a) pinned lookups ?version=2 over ${PINNED === ITEMS ? 'every id' : 'evenly spaced ids'}, right after`,
          pinnedSweep ? `${kinds(pinnedSweep)}, started at ${secs(pinnedSweep.startedS)}` : 'n/a',
        ],
        [
          '(a) sample: mapped vector vs rotation of the v1 vector',
          mapped ? `${int(mapped.mapped)} of ${int(SAMPLE)} mapped, max relative error ${mapped.maxRelErr.toExponential(2)}` : 'n/a',
        ],
        ...phaseRows.map((p) => [
          `(b) phase ${p.phase} (first seen at ${secs(p.firstSeenS)})`,
          `${secs(p.seconds)} (slowest GET job ${secs(p.slowestPollS, 2)}${p.throttled ? `, ${p.throttled} × 503` : ''})`,
        ]),
        ['(b) migrating: items per second', int(report.promotion.migratingItemsPerS)],
        ['(b) longest gap between two polls of the job (phase times are this exact)', secs(maxPollGapS, 2)],
        ['(c) job completed', secs(completedS)],
        ['(c) unpinned lookups answer spaceVersion 2', rel(switchS)],
        ['(c) unpinned lookups over every id, after', kinds(after)],
        ['(c) job result', `migrated ${int(result.migrated)}, switched ${result.switched}, model v${result.modelVersion ?? '?'}`],
        ['(d) service RSS peak during the promotion', mib(peakRssPromote)],
        [
          '(d) service RSS: start / before version 2 / before promote / after',
          [rssStart, rssBeforeVersion, rssBeforePromote, rssAfter].map(mib).join(' / '),
        ],
        ['(d) service RSS peak, whole bench', mib(peakRss)],
        ['(d) Postgres size: version 1 / + version 2 loaded / after the switch', [dbV1, dbBefore, dbAfter].map(mib).join(' / ')],
        ['versions after', space.versions.map((v) => `${v.version} ${v.state}`).join(', ')],
        ['verdict', ok ? 'switched, every item covered' : 'FAILED (see above)'],
      ],
    ),
  );
  if (OUT) {
    fs.writeFileSync(OUT, JSON.stringify(report, null, 2) + '\n');
    console.log(`\nresults written to ${OUT}`);
  }
  console.log(
    `\n${api.errorReport()}; service log: ${serverLogLines()} lines at warn or above; ` +
      `${fixed((performance.now() - t0) / 1000, 0)} s in all`,
  );
  return ok ? 0 : 1;
}

runBench(main, {
  maxSeconds: 900 + (2 * TRAIN_TIMEOUT_MS + COLD_TIMEOUT_MS + PROMOTE_TIMEOUT_MS) / 1000 + ITEMS / 100,
});
