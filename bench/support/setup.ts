// Setting a space up through the HTTP API, as a recommender would: users, established
// items with their base embeddings and interactions, a trained model; then emerging
// items, waited on until each has an embedding.
import type { Api } from './http.js';
import { log, sleep } from './harness.js';
import { rng, mix, type ItemKind, type World } from './world.js';

export interface SpaceView {
  id: string;
  model: { version: number } | null;
  counts: { items: Record<string, number>; interactions: number; users: number; models?: number };
}

export interface JobView {
  id: string;
  state: string;
  progress?: { fraction: number; phase: string };
  result?: unknown;
  error?: string | null;
}

export interface LookupAnswer {
  embeddings: { id: string; vector: number[]; version: number; kind: string }[];
  missing: string[];
}

export interface SetupOptions {
  space: string;
  established: number;
  eventsPerItem: number;
  trainTimeoutMs: number;
}

export async function setupTrainedSpace(api: Api, world: World, o: SetupOptions): Promise<{ modelVersion: number; trainSeconds: number }> {
  const s = encodeURIComponent(o.space);
  await api.must('POST', '/v1/spaces', { id: o.space, dim: world.dim, itemType: 'movie', scorer: 'dot' }, { route: 'POST /v1/spaces' });
  const users = Array.from({ length: world.users }, (_, u) => ({ id: world.userId(u), vector: world.userVector(u) }));
  for (let i = 0; i < users.length; i += 50_000)
    await api.must('POST', `/v1/spaces/${s}/users`, { users: users.slice(i, i + 50_000) }, { route: 'POST users', timeoutMs: 120_000 });
  const items = Array.from({ length: o.established }, (_, i) => world.item('b', i));
  for (let i = 0; i < items.length; i += 5000) {
    await api.must(
      'POST',
      `/v1/spaces/${s}/items`,
      { items: items.slice(i, i + 5000).map((it) => ({ id: it.id, features: it.features, embedding: it.vector })) },
      { route: 'POST items', timeoutMs: 120_000 },
    );
  }
  // Interactions of the established items: distinct users per item, spread over the
  // past year, labels drawn from sigmoid(u·v).
  const r = rng(mix(world.seed, 0x65));
  const t0 = Date.now() - 365 * 86_400_000;
  let events: { id: string; userId: string; itemId: string; label: 0 | 1; ts: string }[] = [];
  const flush = async () => {
    if (events.length)
      await api.must('POST', `/v1/spaces/${s}/interactions`, { events }, { route: 'POST interactions', timeoutMs: 120_000 });
    events = [];
  };
  for (const it of items) {
    const start = Math.floor(r() * world.users);
    const step = 1 + Math.floor(r() * 7);
    for (let k = 0; k < o.eventsPerItem; k++) {
      const u = (start + k * step) % world.users;
      events.push({
        id: `seed-${it.id}-${k}`,
        userId: world.userId(u),
        itemId: it.id,
        label: world.label(u, it.vector, r),
        ts: new Date(t0 + it.index * 60_000 + k * 1000).toISOString(),
      });
      if (events.length >= 20_000) await flush();
    }
  }
  await flush();
  log(
    `space "${o.space}": ${users.length} users, ${items.length} established items, ${o.established * o.eventsPerItem} interactions; ` +
      `training`,
  );
  const t = performance.now();
  const job = await train(api, o.space, o.trainTimeoutMs);
  const trainSeconds = (performance.now() - t) / 1000;
  const view = await api.must<SpaceView>('GET', `/v1/spaces/${s}`, undefined, { route: 'GET space' });
  if (!view.model) throw new Error(`training job ${job.id} completed but the space has no active model`);
  log(`trained in ${trainSeconds.toFixed(1)} s: model version ${view.model.version}`);
  return { modelVersion: view.model.version, trainSeconds };
}

/** POST /train and wait for the job; throws when it fails or overruns `timeoutMs`. */
export async function train(api: Api, space: string, timeoutMs: number): Promise<JobView> {
  const { jobId } = await api.must<{ jobId: string }>(
    'POST',
    `/v1/spaces/${encodeURIComponent(space)}/train`,
    {},
    { route: 'POST train', tries: 1 },
  );
  const deadline = Date.now() + timeoutMs;
  let lastPhase = '';
  let lastLog = 0;
  while (Date.now() < deadline) {
    const j = await api.must<JobView>('GET', `/v1/jobs/${encodeURIComponent(jobId)}`, undefined, { route: 'GET job' });
    if (j.state === 'completed') return j;
    if (j.state === 'failed') throw new Error(`training job ${jobId} failed: ${j.error}`);
    const phase = j.progress?.phase ?? j.state;
    if (phase !== lastPhase || Date.now() - lastLog > 15_000) {
      log(`training: ${j.state}, ${phase} ${j.progress ? `${(j.progress.fraction * 100).toFixed(0)} %` : ''}`);
      lastPhase = phase;
      lastLog = Date.now();
    }
    await sleep(1000);
  }
  throw new Error(`training job ${jobId} did not complete within ${timeoutMs / 1000} s`);
}

/** Posts emerging items (no embedding) in requests of up to 5,000. */
export async function postEmerging(api: Api, world: World, space: string, kind: ItemKind, from: number, count: number): Promise<number> {
  const t = performance.now();
  for (let i = from; i < from + count; i += 5000) {
    const n = Math.min(5000, from + count - i);
    const items = Array.from({ length: n }, (_, k) => {
      const it = world.item(kind, i + k);
      return { id: it.id, features: it.features };
    });
    await api.must('POST', `/v1/spaces/${encodeURIComponent(space)}/items`, { items }, { route: 'POST items', timeoutMs: 180_000 });
  }
  return (performance.now() - t) / 1000;
}

/** Lookup of any number of ids, in requests of 1,000 (two at a time). */
export async function lookupAll(
  api: Api,
  space: string,
  ids: readonly string[],
  route = 'POST lookup',
): Promise<Map<string, { version: number; kind: string }>> {
  const out = new Map<string, { version: number; kind: string }>();
  const chunks: string[][] = [];
  for (let i = 0; i < ids.length; i += 1000) chunks.push(ids.slice(i, i + 1000));
  const worker = async () => {
    for (let c = chunks.shift(); c; c = chunks.shift()) {
      const a = await api.must<LookupAnswer>(
        'POST',
        `/v1/spaces/${encodeURIComponent(space)}/embeddings/lookup`,
        { ids: c },
        { route, timeoutMs: 60_000 },
      );
      for (const e of a.embeddings) out.set(e.id, { version: e.version, kind: e.kind });
    }
  };
  await Promise.all([worker(), worker()]);
  return out;
}

/**
 * Waits until every id has an embedding. A cheap count (the caller's, or the space's
 * items in states cold/warming) decides when to sweep with lookups, which are what
 * decides; a sweep also runs every 30 s in case the counts mean something else after a
 * change of the service.
 */
export async function waitForEmbeddings(
  api: Api,
  space: string,
  ids: readonly string[],
  timeoutMs: number,
  what: string,
  countEmbedded?: () => Promise<number | undefined>,
): Promise<number> {
  const t = performance.now();
  const deadline = Date.now() + timeoutMs;
  let remaining = [...ids];
  let lastSweep = Date.now();
  let lastLog = 0;
  while (remaining.length) {
    if (Date.now() > deadline)
      throw new Error(`${what}: ${remaining.length} of ${ids.length} items still had no embedding after ${timeoutMs / 1000} s`);
    // The caller's exact count (e.g. from Postgres) when it has one, else the space's counts.
    let embedded = countEmbedded ? await countEmbedded() : undefined;
    let c: Record<string, number> | undefined;
    if (embedded === undefined) {
      const view = await api.send<SpaceView>('GET', `/v1/spaces/${encodeURIComponent(space)}`, undefined, { route: 'GET space' });
      c = view.body?.counts.items;
      embedded = c ? (c['cold'] ?? 0) + (c['warming'] ?? 0) : undefined;
    }
    if (embedded === undefined || embedded >= ids.length || remaining.length <= 3000 || Date.now() - lastSweep > 30_000) {
      const found = await lookupAll(api, space, remaining);
      remaining = remaining.filter((id) => !found.has(id));
      lastSweep = Date.now();
    }
    if (Date.now() - lastLog > 10_000) {
      log(
        `${what}: ${ids.length - remaining.length} of ${ids.length} seen by lookups; ` +
          `${c ? `space counts ${JSON.stringify(c)}` : `counted ${embedded ?? 'n/a'}`}`,
      );
      lastLog = Date.now();
    }
    if (remaining.length) await sleep(remaining.length > 3000 ? 2000 : 500);
  }
  return (performance.now() - t) / 1000;
}

interface Backlog {
  backlog?: Record<string, { pending: number; parked: number }>;
}

/**
 * Waits until the space's item work is done (pending tasks all parked, i.e. waiting for an
 * event rather than a time): what loading started (enriching established items) would
 * otherwise run beside the measurements, and the service would be measured busy.
 */
export async function waitForIdle(api: Api, space: string, timeoutMs: number): Promise<number> {
  const t = performance.now();
  const deadline = Date.now() + timeoutMs;
  let lastLog = Date.now();
  for (;;) {
    const view = await api.send<Backlog>('GET', `/v1/spaces/${encodeURIComponent(space)}`, undefined, { route: 'GET space' });
    const queues = Object.entries(view.body?.backlog ?? {});
    const busy = queues.filter(([, q]) => q.pending > q.parked);
    if (queues.length && busy.length === 0) return (performance.now() - t) / 1000;
    const left = busy.map(([name, q]) => `${name} ${q.pending - q.parked}`).join(', ') || 'no backlog in the answer';
    if (Date.now() > deadline) throw new Error(`space ${space} still busy after ${timeoutMs / 1000} s: ${left}`);
    if (Date.now() - lastLog > 10_000) {
      log(`waiting for the pipeline to go idle: ${left} tasks pending`);
      lastLog = Date.now();
    }
    await sleep(500);
  }
}
