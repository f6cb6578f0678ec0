// Reading embeddings: one item, or the ranking-time batch lookup (the hot path).
// Lookups are served from the process's cache; misses cost one batched query.
// `Accept: application/octet-stream` gets packed little-endian float32 rows instead
// of JSON, in request order, NaN-filled for missing ids.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { getItem } from '../db/items.js';
import { getSpace } from '../db/spaces.js';
import { latestEmbeddings } from '../db/embeddings.js';
import { ApiError, notFound } from './errors.js';
import { Embedding, ErrorBody, LookupAnswer, LookupBody } from './contract.js';
import { ItemParams, LIMITS, SpaceParams } from './schemas.js';
import type { AppDeps } from './deps.js';
import { resolveKnownVersion, resolveVersion, VersionQuery } from './space-version.js';
import type { FastifyReply } from 'fastify';
import { embeddingFragment, type Lookup } from '../lookup/cache.js';
import { joinBytes } from './join-bytes.js';
import { countHits, countMisses } from '../lookup/metrics.js';

const NEGATIVE: Lookup = { hit: true, embedding: null };

/**
 * The newest embedding of each of `ids`, in their order: from the cache where it has them
 * (no allocation per id), the rest (each distinct id once) in one query whose result fills
 * the cache (rows, and negative entries for the ids without).
 */
async function lookup(deps: AppDeps, space: string, ids: readonly string[]): Promise<Lookup[]> {
  const out = new Array<Lookup>(ids.length);
  let missed: number[] | undefined;
  const now = Date.now();
  for (let i = 0; i < ids.length; i++) {
    const l = deps.cache.get(space, ids[i]!, now);
    out[i] = l;
    if (!l.hit) (missed ??= []).push(i);
  }
  countHits(space, ids.length - (missed?.length ?? 0));
  if (!missed) return out;
  const misses = [...new Set(missed.map((i) => ids[i]!))];
  countMisses(space, misses.length);
  const token = deps.cache.beginRead();
  let rows: Awaited<ReturnType<typeof latestEmbeddings>>;
  try {
    rows = await latestEmbeddings(deps.db, space, misses);
  } catch (err) {
    deps.cache.cancelRead(token); // nothing was read: nothing to fill, least of all "absent"
    throw err;
  }
  const got = new Map<string, Lookup>();
  const json = rows.map(embeddingFragment); // made once: for this answer and for the cache
  rows.forEach((r, i) => got.set(r.id, { hit: true, embedding: r, json: json[i]! }));
  deps.cache.fill(
    space,
    token,
    rows,
    misses.filter((id) => !got.has(id)),
    json,
  );
  for (const i of missed) out[i] = got.get(ids[i]!) ?? NEGATIVE;
  return out;
}

/** The single-item answer, assembled around the cached JSON of the vector. */
function itemEmbeddingJson(id: string, spaceVersion: number, l: Extract<Lookup, { json: Buffer }>): Buffer {
  const e = l.embedding;
  const meta = `,"interactions":${e.interactions},"modelVersion":${e.modelVersion ?? 'null'},"updatedAt":"${e.updatedAt.toISOString()}"}`;
  return joinBytes([`{"id":${JSON.stringify(id)},"spaceVersion":${spaceVersion},`, l.json, meta]);
}

export const embeddingRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/v1/spaces/:space/items/:id/embedding',
    {
      schema: {
        tags: ['embeddings'],
        summary: "An item's newest embedding (in the current version of the space, or ?version=v)",
        params: ItemParams,
        querystring: VersionQuery,
        response: { 200: Embedding, 404: ErrorBody },
      },
    },
    (req, reply) => {
      // The hot path without a wait: space, version and embedding all in this process's memory.
      const known = resolveKnownVersion(app.deps, req.params.space, req.query.version);
      if (known) {
        const physical = known.version.physicalId;
        const l = app.deps.cache.get(physical, req.params.id);
        if (l.hit && l.embedding) {
          countHits(physical, 1);
          reply
            .header('content-type', 'application/json; charset=utf-8')
            .send(itemEmbeddingJson(req.params.id, known.version.version, l) as never);
          return;
        }
      }
      // errors go to the error handler, as a thrown one would from an async handler
      itemEmbedding(req.params.space, req.params.id, req.query.version, reply).catch((err: Error) => reply.send(err as never));
    },
  );

  /** The single-item answer the long way: what is not in memory is read, and a miss says why. */
  async function itemEmbedding(spaceId: string, id: string, pinned: string | undefined, reply: FastifyReply): Promise<void> {
    const { space, version } = await resolveVersion(app.deps, spaceId, pinned);
    const physical = version.physicalId;
    const [l] = (await lookup(app.deps, physical, [id])) as [Lookup];
    // Assembled from the cached fragment; the Embedding schema above documents the shape.
    if (l.hit && l.embedding) {
      reply.header('content-type', 'application/json; charset=utf-8').send(itemEmbeddingJson(id, version.version, l));
      return;
    }
    // None: say why (rare, so the database may be asked).
    const item = await getItem(app.deps.db, physical, id);
    if (!item) throw notFound(`item "${id}" in space "${space.id}"`);
    const fresh = await getSpace(app.deps.db, physical); // the memoised row's activeModel may be old
    const hint = fresh?.activeModel === null ? `; the space has no trained model yet: POST /v1/spaces/${space.id}/train` : '';
    throw new ApiError(404, 'no_embedding_yet', `item "${item.id}" has no embedding yet (state: ${item.state}${hint})`, {
      state: item.state,
    });
  }

  app.post(
    '/v1/spaces/:space/embeddings/lookup',
    {
      schema: {
        tags: ['embeddings'],
        summary: `Newest embeddings of up to ${LIMITS.lookup} ids (ranking-time hot path), all from one version of the space`,
        params: SpaceParams,
        querystring: VersionQuery,
        body: LookupBody,
        response: { 200: LookupAnswer, 400: ErrorBody, 404: ErrorBody, 413: ErrorBody },
      },
    },
    async (req, reply) => {
      // One version resolved once: the answer never mixes versions.
      const { version } = await resolveVersion(app.deps, req.params.space, req.query.version);
      const { ids } = req.body;
      const found = await lookup(app.deps, version.physicalId, ids);
      if (req.headers.accept === 'application/octet-stream') {
        const dim = version.dim;
        const out = new Float32Array(ids.length * dim);
        for (let i = 0, at = 0; i < ids.length; i++, at += dim) {
          const l = found[i]!;
          if (!(l.hit && l.embedding)) out.fill(NaN, at, at + dim);
          else out.set(l.embedding.vector, at);
        }
        return reply
          .header('content-type', 'application/octet-stream')
          .header('x-emerflow-dim', String(dim))
          .header('x-emerflow-space-version', String(version.version))
          .send(Buffer.from(out.buffer, out.byteOffset, out.byteLength) as never); // a Buffer bypasses the JSON serializer
      }
      // Assembled from per-entry JSON fragments (see embeddingJson); the shape is the
      // LookupAnswer schema above, which still documents it in /openapi.json.
      const parts: (string | Buffer)[] = [`{"spaceVersion":${version.version},"embeddings":[`];
      const missing: string[] = [];
      for (let i = 0; i < ids.length; i++) {
        const id = ids[i]!;
        const l = found[i]!;
        if (!(l.hit && l.embedding)) missing.push(id);
        else parts.push(`${parts.length > 1 ? ',' : ''}{"id":${JSON.stringify(id)},`, l.json, '}');
      }
      parts.push(`],"missing":${JSON.stringify(missing)}}`);
      // a Buffer bypasses the JSON serializer, as the float32 answer's does
      return reply.header('content-type', 'application/json; charset=utf-8').send(joinBytes(parts) as never);
    },
  );
};
