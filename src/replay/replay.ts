// The warm-up protocol played through the service's HTTP API, as a real client would: per
// seed, the backbone trained as the offline eval trains it; a space; the users' and the
// established items' vectors, the whole catalogue's features and the established events;
// training through POST /train; then each emerging item's cold embedding read back through
// the API and scored on the test set; then warm-a, warm-b, warm-c streamed as events in time
// order, each stage scored once every emerging item's served embedding reflects all of it.
// The scores use the backbone's user vectors and the vectors the API answers, as a ranking
// service would (p = sigmoid(u·v)), with the eval's AUC and F1.
import { initEvalBackend } from '../eval/tf.js';
import { loadDataset } from '../eval/dataset/load.js';
import type { Dataset } from '../eval/dataset/types.js';
import { sliceEmerging, thinBase, warmUpSplit, type Row, type Split } from '../eval/protocol.js';
import { buildItemFeatures } from '../eval/features.js';
import { trainBackbone } from '../eval/backbones.js';
import type { BackboneOpts } from '../eval/backbone.js';
import { auc, f1AtMean, meanStd } from '../eval/metrics.js';
import { DEFAULT_BACKBONE, STAGES, type ResultRow } from '../eval/run.js';
import type { TextMode } from '../eval/text.js';
import { LIMITS } from '../api/schemas.js';
import { ReplayApi } from './api.js';
import { startRecordedLlm, type RecordedLlm } from './recorded-llm.js';
import { startServiceProcess, type ServiceProcess } from './service-process.js';

export interface ReplayOptions {
  dataset: string;
  dataDir: string;
  text: TextMode;
  positive: number;
  seeds: number[];
  hotThreshold: number;
  k: number;
  /** keep only the first N emerging items (quick runs, tests) */
  maxEmerging?: number;
  /** keep every n-th established rating (tests) */
  baseStride?: number;
  backboneOpts?: Partial<BackboneOpts>;
  /** a running service (with an admin key); without, one is started with the dataset's text as its LLM */
  url?: string;
  key?: string;
  /** settings of the service the replay starts (e.g. TRAIN_PRESET) */
  serviceEnv?: Record<string, string>;
  /** events per request while a warm stage streams (default 500) */
  eventBatch?: number;
  log?: (line: string) => void;
}

export interface StageTiming {
  seed: number;
  stage: string;
  events: number;
  /** from the first request of the stage to the last one accepted */
  postSeconds: number;
  /** from the last event accepted to every emerging item's served embedding reflecting the whole stage */
  visibleSeconds: number;
}

export interface QualityBucket {
  bucket: string;
  events: number;
  auc: number | null;
  logLoss: number | null;
  coldAuc: number | null;
}

export interface ReplayResults {
  dataset: string;
  backbone: 'dot';
  text: string;
  method: 'emerflow-service';
  service: string;
  protocol: { hotThreshold: number; k: number; seeds: number[]; positive: number; maxEmerging: number | null };
  counts: { established: number; emerging: number; catalogue: number; users: number; trainBase: number; warm: number[]; test: number };
  results: ResultRow[];
  stages: StageTiming[];
  training: { seed: number; seconds: number; modelVersion: number; space: string; backend: string; metrics: Record<string, number> }[];
  quality: { seed: number; space: string; buckets: QualityBucket[] }[];
  seconds: number;
}

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
const pad = (n: number) => String(n).padStart(9, '0');

interface SeedEnv {
  api: ReplayApi;
  ds: Dataset;
  split: Split;
  seed: number;
  space: string;
  users: Float32Array[];
  log: (line: string) => void;
}

/** Items of the test rows scored with the served vectors; AUC and F1 as the eval computes them. */
function score(env: SeedEnv, vectors: Map<string, number[]>): { auc: number; f1: number } {
  const { ds, split, users } = env;
  const labels = new Uint8Array(split.test.length);
  const scores = new Float32Array(split.test.length);
  split.test.forEach((r, i) => {
    const v = vectors.get(ds.items[r.item - 1]!.id);
    const u = users[r.user - 1];
    if (!v || !u) throw new Error(`no vector for test row ${i} (item ${r.item}, user ${r.user})`);
    let s = 0;
    for (let d = 0; d < v.length; d++) s += u[d]! * v[d]!;
    labels[i] = r.label;
    scores[i] = sigmoid(s);
  });
  return { auc: auc(labels, scores), f1: f1AtMean(labels, scores) };
}

async function lookupAll(env: SeedEnv, ids: string[]): Promise<Map<string, { vector: number[]; kind: string }>> {
  const out = new Map<string, { vector: number[]; kind: string }>();
  for (let i = 0; i < ids.length; i += LIMITS.lookup) {
    const r = await env.api.call<{ embeddings: { id: string; vector: number[]; kind: string }[] }>(
      'POST',
      `/v1/spaces/${encodeURIComponent(env.space)}/embeddings/lookup`,
      { ids: ids.slice(i, i + LIMITS.lookup) },
    );
    for (const e of r.embeddings) out.set(e.id, e);
  }
  return out;
}

const TIMEOUT_MS = 1_800_000;

/** Asks `left()` (every 200 ms) until nothing is left; says how much is left every 10 s. */
async function until(log: (l: string) => void, what: string, left: () => Promise<number>): Promise<void> {
  const deadline = Date.now() + TIMEOUT_MS;
  let reported = Date.now();
  for (let n = await left(); n > 0; n = await left()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${TIMEOUT_MS / 60_000} min waiting for ${what} (${n} to go)`);
    if (Date.now() - reported > 10_000) {
      log(`  waiting for ${what}: ${n} to go`);
      reported = Date.now();
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Items for which `done` does not hold yet, asked 16 at a time; each round re-asks only those. */
function pendingOf(ids: string[], done: (id: string) => Promise<boolean>): () => Promise<number> {
  let left = ids;
  return async () => {
    const ok: boolean[] = [];
    for (let i = 0; i < left.length; i += 16) ok.push(...(await Promise.all(left.slice(i, i + 16).map(done))));
    left = left.filter((_, i) => !ok[i]);
    return left.length;
  };
}

const toEvents = (ds: Dataset, rows: Row[], prefix: string) =>
  rows.map((r, i) => ({
    // ids sort as the rows' order: ties in time are refined and trained on in the eval's order
    id: `${prefix}${pad(i)}`,
    userId: ds.users[r.user - 1]!.id,
    itemId: ds.items[r.item - 1]!.id,
    label: r.label,
    ts: new Date(r.ts * 1000).toISOString(),
  }));

async function replaySeed(
  o: ReplayOptions,
  env: Omit<SeedEnv, 'users'>,
  llm: RecordedLlm | null,
  out: ReplayResults,
): Promise<Map<string, { seed: number; auc: number; f1: number }>> {
  const { api, ds, split, seed, space, log } = env;
  const sp = `/v1/spaces/${encodeURIComponent(space)}`;
  const nUsers = ds.users.length;
  const nItems = ds.items.length;
  log(`seed ${seed}: training the backbone`);
  const bo: BackboneOpts = { ...DEFAULT_BACKBONE.dot, ...o.backboneOpts, seed };
  const feats = buildItemFeatures(ds);
  const bb = await trainBackbone('dot', split.trainBase, { nUsers, nItems, ds, feats }, bo);
  const U = bb.userEmb.arraySync().map((r) => Float32Array.from(r));
  const V = bb.itemEmb.arraySync();
  bb.dispose();
  feats.dispose?.();
  const seedEnv: SeedEnv = { ...env, users: U };
  const scores = new Map<string, { seed: number; auc: number; f1: number }>();

  log(`seed ${seed}: space "${space}": users, the catalogue, the established events`);
  await api.call('POST', '/v1/spaces', { id: space, dim: bo.dim, itemType: ds.name, scorer: 'dot' });
  if (llm && llm.auxFeatures.length) await api.call('PUT', `${sp}/aux-features`, { features: llm.auxFeatures });
  await api.postBatched(
    `${sp}/users`,
    'users',
    ds.users.map((u, i) => ({ id: u.id, vector: Array.from(U[i]!) })),
  );
  const established = new Set(split.established);
  const catalogue = ds.items.map((it, i) => ({
    id: it.id,
    features: it.features,
    ...(established.has(i + 1) ? { embedding: V[i]! } : {}),
  }));
  await api.postBatched(`${sp}/items`, 'items', catalogue);
  await api.postBatched(`${sp}/interactions`, 'events', toEvents(ds, split.trainBase, 'b'));
  // training serialises every item's text: the enrichment must be in first
  if (llm)
    await until(log, 'enrichment', async () => {
      const s = await api.call<{ counts: { items: Record<string, number> } }>('GET', sp);
      return s.counts.items['received'] ?? 0;
    });

  log(`seed ${seed}: POST /train`);
  const t0 = Date.now();
  const { jobId } = await api.call<{ jobId: string }>('POST', `${sp}/train`, { seed });
  type Job = {
    state: string;
    error: string | null;
    result: { modelVersion?: number; activated?: boolean; metrics?: Record<string, number>; backend?: string } | null;
  };
  const jobs: Job[] = [];
  await until(log, 'training', async () => {
    const j = await api.call<Job>('GET', `/v1/jobs/${encodeURIComponent(jobId)}`);
    if (j.state === 'failed') throw new Error(`training failed: ${j.error}`);
    jobs.push(j);
    return j.state === 'completed' ? 0 : 1;
  });
  const job = jobs[jobs.length - 1]!; // until() asked at least once
  if (job.result?.activated === false) throw new Error('the trained model was not activated (the gate refused it)');
  out.training.push({
    seed,
    seconds: (Date.now() - t0) / 1000,
    modelVersion: job.result?.modelVersion ?? 0,
    space,
    backend: job.result?.backend ?? '',
    metrics: job.result?.metrics ?? {},
  });

  const emergingIds = split.emerging.map((n) => ds.items[n - 1]!.id);
  let served = new Map<string, { vector: number[]; kind: string }>();
  await until(log, 'cold embeddings', async () => {
    served = await lookupAll(seedEnv, emergingIds);
    return emergingIds.filter((id) => served.get(id)?.kind !== 'cold').length;
  });
  const stageScore = (stage: string) => {
    const s = score(seedEnv, new Map([...served].map(([id, e]) => [id, e.vector])));
    scores.set(stage, { seed, ...s });
    log(`seed ${seed}: ${stage} AUC ${s.auc.toFixed(4)}`);
  };
  stageScore('cold');

  const seen = new Map<string, number>();
  for (let s = 0; s < 3; s++) {
    const stage = STAGES[s + 1]!;
    const rows = [...split.warm[s]!].map((r, i) => ({ r, i })).sort((a, b) => a.r.ts - b.r.ts || a.i - b.i);
    const events = toEvents(ds, split.warm[s]!, `w${'abc'[s]}`);
    const ordered = rows.map(({ i }) => events[i]!);
    for (const e of ordered) seen.set(e.itemId, (seen.get(e.itemId) ?? 0) + 1);
    const tPost = Date.now();
    await api.postBatched(`${sp}/interactions`, 'events', ordered, o.eventBatch ?? 500);
    const tLast = Date.now();
    await until(
      log,
      `every item to reflect ${stage}`,
      pendingOf(emergingIds, async (id) => {
        const e = await api.call<{ interactions: number } | null>('GET', `${sp}/items/${encodeURIComponent(id)}/embedding`);
        return e?.interactions === (seen.get(id) ?? 0);
      }),
    );
    out.stages.push({
      seed,
      stage,
      events: ordered.length,
      postSeconds: (tLast - tPost) / 1000,
      visibleSeconds: (Date.now() - tLast) / 1000,
    });
    served = await lookupAll(seedEnv, emergingIds);
    stageScore(stage);
  }

  // the monitor lags by its pending events: read its buckets once it has scored them all
  let buckets: QualityBucket[] = [];
  await until(log, 'the quality monitor', async () => {
    const q = await api.call<{ pending: number; buckets: QualityBucket[] }>('GET', `${sp}/quality?since=${new Date(0).toISOString()}`);
    buckets = q.buckets;
    return q.pending;
  });
  out.quality.push({
    seed,
    space,
    buckets: buckets.map(({ bucket, events, auc, logLoss, coldAuc }) => ({ bucket, events, auc, logLoss, coldAuc })),
  });
  return scores;
}

export async function runReplay(o: ReplayOptions): Promise<ReplayResults> {
  const t0 = Date.now();
  const log = o.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  await initEvalBackend();
  const ds = loadDataset(o.dataset, { dataDir: o.dataDir, text: o.text, positive: o.positive });
  let split = warmUpSplit(ds, o.hotThreshold, o.k);
  if (o.maxEmerging !== undefined) split = sliceEmerging(split, o.maxEmerging);
  if (o.baseStride !== undefined) split = thinBase(split, o.baseStride);

  let llm: RecordedLlm | null = null;
  let svc: ServiceProcess | null = null;
  const out: ReplayResults = {
    dataset: ds.name,
    backbone: 'dot',
    text: o.text,
    method: 'emerflow-service',
    service: o.url ?? 'started by the replay',
    protocol: { hotThreshold: o.hotThreshold, k: o.k, seeds: o.seeds, positive: o.positive, maxEmerging: o.maxEmerging ?? null },
    counts: {
      established: split.established.length,
      emerging: split.emerging.length,
      catalogue: ds.items.length,
      users: ds.users.length,
      trainBase: split.trainBase.length,
      warm: split.warm.map((w) => w.length),
      test: split.test.length,
    },
    results: [],
    stages: [],
    training: [],
    quality: [],
    seconds: 0,
  };
  try {
    let api: ReplayApi;
    if (o.url) {
      if (!o.key) throw new Error('--url needs --key (an API key with the admin scope)');
      api = new ReplayApi(o.url.replace(/\/$/, ''), o.key);
    } else {
      const texts = ds.items.some((it) => it.text && Object.keys(it.text).length);
      llm = texts ? await startRecordedLlm(ds.items) : null;
      log(`starting the service (tsx src/server.ts, embedded Postgres and Redis)${llm ? ' with the dataset text as its LLM' : ''}`);
      svc = await startServiceProcess({
        ...(llm
          ? { LLM_BASE_URL: llm.url, LLM_MODEL: 'recorded', LLM_RPM: '1000000', LLM_TPM: '1000000000', LLM_MAX_ATTRIBUTE_CHARS: '100000' }
          : {}),
        ...o.serviceEnv,
      });
      api = new ReplayApi(svc.url, svc.key);
    }
    const acc = new Map<string, { seed: number; auc: number; f1: number }[]>();
    const run = Date.now().toString(36);
    for (const seed of o.seeds) {
      const space = `replay-${ds.name.replace(/[^A-Za-z0-9_-]/g, '_')}-s${seed}-${run}`;
      const s = await replaySeed(o, { api, ds, split, seed, space, log }, llm, out);
      for (const [stage, x] of s) acc.set(stage, [...(acc.get(stage) ?? []), x]);
    }
    out.results = STAGES.map((stage) => {
      const xs = acc.get(stage) ?? [];
      const a = meanStd(xs.map((x) => x.auc));
      const f = meanStd(xs.map((x) => x.f1));
      return { method: 'emerflow-service', stage, auc: a.mean, aucStd: a.std, f1: f.mean, f1Std: f.std, perSeed: xs };
    });
  } finally {
    await svc?.stop();
    await llm?.close();
  }
  out.seconds = Math.round((Date.now() - t0) / 100) / 10;
  return out;
}
