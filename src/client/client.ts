// createClient: every /v1 call as a method, typed by the route schemas (src/api/contract.ts).
// Bulk writes and lookups are cut into route-sized requests and their answers merged.
import type {
  ActivatedModel,
  CreatedKey,
  CreatedVersion,
  CreateKeyBody,
  CreateSpace,
  Embedding,
  Event,
  EventsAnswer,
  ItemIn,
  ItemsAnswer,
  ItemView,
  JobAnswer,
  JobView,
  KeyView,
  LookupAnswer,
  ModelsAnswer,
  QualityView,
  SpaceView,
  UserIn,
  UsersAnswer,
} from '../api/contract.js';
import { LIMITS } from '../api/limits.js';
import { bodies, slices, sum } from './batches.js';
import { EmerFlowError } from './errors.js';
import { decodeFloat32, float32Lookup, type Float32Lookup } from './float32.js';
import { waitForJob, type WaitOptions } from './jobs.js';
import { json, makeTransport, type Send } from './transport.js';

export interface ClientOptions {
  /** Where the service is, e.g. http://localhost:8080 */
  baseUrl: string;
  /** An API key (sent as Authorization: Bearer <key>). */
  apiKey: string;
  /** Default: the global fetch. */
  fetch?: typeof globalThis.fetch;
  /** Attempts after the first, for the calls that may be sent again (default 3). */
  retries?: number;
  /** The x-request-id of each call: a fixed id, or a function making one per call (default: a random UUID). */
  requestId?: string | (() => string);
  /** Deadline of one attempt (default 60 s). */
  timeoutMs?: number;
  /** A Retry-After longer than this is not waited for; the error is thrown (default 60 s). */
  maxRetryDelayMs?: number;
  /** Largest JSON body of one bulk request (default 16 MiB; the service's BULK_BODY_LIMIT_BYTES is 64 MiB). */
  maxBatchBytes?: number;
}

/** A version of the space: 1, 2, … (default: the current one). */
export type VersionPin = { version?: number | string };
export type TrainOptions = VersionPin & WaitOptions & { seed?: number };

export interface EmerFlowClient {
  createSpace(space: Omit<CreateSpace, 'scorer'> & { scorer?: CreateSpace['scorer'] }): Promise<SpaceView>;
  getSpace(space: string): Promise<SpaceView>;
  /** Upserts in batches of LIMITS.users; `upserted` is their sum (an id in two batches counts twice). */
  upsertUsers(space: string, users: readonly UserIn[], opts?: VersionPin): Promise<UsersAnswer>;
  /** In batches of LIMITS.items; the counts are summed. */
  upsertItems(space: string, items: readonly ItemIn[], opts?: VersionPin): Promise<ItemsAnswer>;
  /** In batches of LIMITS.events; the counts are summed. */
  addEvents(space: string, events: readonly Event[]): Promise<EventsAnswer>;
  getItem(space: string, id: string, opts?: VersionPin): Promise<ItemView>;
  getEmbedding(space: string, id: string, opts?: VersionPin): Promise<Embedding>;
  /** In batches of LIMITS.lookup, all from one version of the space; rows in request order. */
  lookup(space: string, ids: readonly string[], opts?: VersionPin & { format?: 'json' }): Promise<LookupAnswer>;
  lookup(space: string, ids: readonly string[], opts: VersionPin & { format: 'float32' }): Promise<Float32Lookup>;
  /** Starts a training run; with `wait`, resolves with the finished job (completed or failed: see its `state`). */
  train(space: string, opts: TrainOptions & { wait: true }): Promise<JobView>;
  train(space: string, opts?: TrainOptions & { wait?: false }): Promise<JobAnswer>;
  job(id: string): Promise<JobView>;
  waitForJob(id: string, opts?: WaitOptions): Promise<JobView>;
  quality(space: string, opts?: VersionPin & { since?: string | Date }): Promise<QualityView>;
  createVersion(space: string, opts?: { dim?: number }): Promise<CreatedVersion>;
  promoteVersion(space: string, version: number | string, opts: WaitOptions & { seed?: number; wait: true }): Promise<JobView>;
  promoteVersion(space: string, version: number | string, opts?: WaitOptions & { seed?: number; wait?: false }): Promise<JobAnswer>;
  deleteVersion(space: string, version: number | string): Promise<void>;
  models(space: string, opts?: VersionPin): Promise<ModelsAnswer>;
  activateModel(space: string, modelVersion: number | string, opts?: VersionPin): Promise<ActivatedModel>;
  keys: {
    /** The key itself is in this answer only. */
    create(key: CreateKeyBody): Promise<CreatedKey>;
    list(): Promise<KeyView[]>;
    revoke(id: string): Promise<void>;
  };
}

const seg = encodeURIComponent;
const query = (q: Record<string, string | number | undefined>) => {
  const p = Object.entries(q).filter((e): e is [string, string | number] => e[1] !== undefined);
  return p.length ? `?${new URLSearchParams(p.map(([k, v]) => [k, String(v)])).toString()}` : '';
};

export function createClient(opts: ClientOptions): EmerFlowClient {
  const { requestId } = opts;
  const send: Send = makeTransport({
    baseUrl: opts.baseUrl,
    apiKey: opts.apiKey,
    fetch: opts.fetch ?? globalThis.fetch,
    retries: opts.retries ?? 3,
    requestId:
      typeof requestId === 'function' ? requestId : requestId === undefined ? () => globalThis.crypto.randomUUID() : () => requestId,
    timeoutMs: opts.timeoutMs ?? 60_000,
    maxRetryDelayMs: opts.maxRetryDelayMs ?? 60_000,
  });
  const maxBytes = opts.maxBatchBytes ?? 16 * 1024 * 1024;
  const get = async <T>(path: string) => json<T>(await send({ method: 'GET', path, retry: 'idempotent' }));
  const post = async <T>(path: string, body: string | object, retry: 'idempotent' | 'once' = 'idempotent') =>
    json<T>(await send({ method: 'POST', path, body, retry }));
  const spacePath = (space: string) => `/v1/spaces/${seg(space)}`;
  const bulk = async <K extends string>(path: string, key: string, rows: readonly unknown[], limit: number, zero: Record<K, number>) => {
    const answers: Record<K, number>[] = [];
    // one batch at a time, in order: a row sent twice (same id) ends as its last copy, as in one request
    for (const body of bodies(key, rows, limit, maxBytes)) answers.push(await post<Record<K, number>>(path, body));
    return sum(answers, zero);
  };

  async function lookupJson(space: string, ids: readonly string[], pinned: string | undefined): Promise<LookupAnswer> {
    let version = pinned;
    const out: LookupAnswer = { spaceVersion: 0, embeddings: [], missing: [] };
    for (const chunk of slices(ids, LIMITS.lookup)) {
      const a = await post<LookupAnswer>(`${spacePath(space)}/embeddings/lookup${query({ version })}`, { ids: chunk });
      // the later batches pinned to the first one's version: one answer never mixes two
      version ??= String(a.spaceVersion);
      out.spaceVersion = a.spaceVersion;
      out.embeddings.push(...a.embeddings);
      out.missing.push(...a.missing);
    }
    return out;
  }

  async function lookupFloat32(space: string, ids: readonly string[], pinned: string | undefined): Promise<Float32Lookup> {
    let version = pinned;
    let dim = 0;
    let spaceVersion = 0;
    const parts: Float32Array[] = [];
    for (const chunk of slices(ids, LIMITS.lookup)) {
      const path = `${spacePath(space)}/embeddings/lookup${query({ version })}`;
      const a = await send({ method: 'POST', path, body: { ids: chunk }, retry: 'idempotent', accept: 'application/octet-stream' });
      dim = Number(a.headers.get('x-emerflow-dim'));
      spaceVersion = Number(a.headers.get('x-emerflow-space-version'));
      if (!Number.isInteger(dim) || dim < 1 || a.bytes.byteLength !== chunk.length * dim * 4)
        throw new EmerFlowError(
          a.status,
          'bad_response',
          `lookup answered ${a.bytes.byteLength} bytes for ${chunk.length} ids of dim ${dim}`,
          a.requestId,
        );
      version ??= String(spaceVersion);
      parts.push(decodeFloat32(a.bytes));
    }
    const data = new Float32Array(ids.length * dim);
    let at = 0;
    for (const p of parts) {
      data.set(p, at);
      at += p.length;
    }
    return float32Lookup(spaceVersion, dim, [...ids], data);
  }

  const client: EmerFlowClient = {
    createSpace: (s) => post(`/v1/spaces`, { scorer: 'dot', ...s }),
    getSpace: (space) => get(spacePath(space)),
    upsertUsers: (space, users, o = {}) =>
      bulk(`${spacePath(space)}/users${query({ version: o.version })}`, 'users', users, LIMITS.users, { upserted: 0 }),
    upsertItems: (space, items, o = {}) =>
      bulk(`${spacePath(space)}/items${query({ version: o.version })}`, 'items', items, LIMITS.items, { accepted: 0, unchanged: 0 }),
    addEvents: (space, events) => bulk(`${spacePath(space)}/interactions`, 'events', events, LIMITS.events, { accepted: 0, duplicates: 0 }),
    getItem: (space, id, o = {}) => get(`${spacePath(space)}/items/${seg(id)}${query({ version: o.version })}`),
    getEmbedding: (space, id, o = {}) => get(`${spacePath(space)}/items/${seg(id)}/embedding${query({ version: o.version })}`),
    lookup: ((space: string, ids: readonly string[], o: VersionPin & { format?: 'json' | 'float32' } = {}) => {
      const pinned = o.version === undefined ? undefined : String(o.version);
      return o.format === 'float32' ? lookupFloat32(space, ids, pinned) : lookupJson(space, ids, pinned);
    }) as EmerFlowClient['lookup'],
    train: (async (space: string, o: TrainOptions & { wait?: boolean } = {}) => {
      const path = `${spacePath(space)}/train${query({ version: o.version })}`;
      const started = await post<JobAnswer>(path, o.seed === undefined ? {} : { seed: o.seed }, 'once');
      return o.wait ? client.waitForJob(started.jobId, o) : started;
    }) as EmerFlowClient['train'],
    job: (id) => get(`/v1/jobs/${seg(id)}`),
    waitForJob: (id, o) => waitForJob(() => client.job(id), o),
    quality: (space, o = {}) => {
      const since = o.since instanceof Date ? o.since.toISOString() : o.since;
      return get(`${spacePath(space)}/quality${query({ since, version: o.version })}`);
    },
    createVersion: (space, o = {}) => post(`${spacePath(space)}/versions`, o.dim === undefined ? {} : { dim: o.dim }, 'once'),
    promoteVersion: (async (space: string, v: number | string, o: WaitOptions & { seed?: number; wait?: boolean } = {}) => {
      const path = `${spacePath(space)}/versions/${seg(String(v))}/promote`;
      const started = await post<JobAnswer>(path, o.seed === undefined ? {} : { seed: o.seed }, 'once');
      return o.wait ? client.waitForJob(started.jobId, o) : started;
    }) as EmerFlowClient['promoteVersion'],
    deleteVersion: async (space, v) => {
      await send({ method: 'DELETE', path: `${spacePath(space)}/versions/${seg(String(v))}`, retry: 'idempotent', goneIsDone: true });
    },
    models: (space, o = {}) => get(`${spacePath(space)}/models${query({ version: o.version })}`),
    // activating the active model again changes nothing: idempotent
    activateModel: (space, m, o = {}) => post(`${spacePath(space)}/models/${seg(String(m))}/activate${query({ version: o.version })}`, {}),
    keys: {
      create: (key) => post('/v1/keys', key, 'once'),
      list: async () => (await get<{ keys: KeyView[] }>('/v1/keys')).keys,
      revoke: async (id) => {
        await send({ method: 'DELETE', path: `/v1/keys/${seg(id)}`, retry: 'idempotent', goneIsDone: true });
      },
    },
  };
  return client;
}
