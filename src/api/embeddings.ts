// Reading embeddings: one item, or the ranking-time batch lookup (the hot path).
// Lookups are served from the process's cache; misses cost one batched query
// (lookup/read-through.ts).
// `Accept: application/octet-stream` gets packed little-endian float32 rows instead
// of JSON, in request order, NaN-filled for missing ids.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { getItem } from '../db/items.js';
import { getSpace } from '../db/spaces.js';
import { ApiError, notFound } from './errors.js';
import { Embedding, ErrorBody, LookupAnswer, LookupBody } from './contract.js';
import { ItemParams, LIMITS, SpaceParams } from './schemas.js';
import { resolveKnownVersion, resolveVersion, VersionQuery } from './space-version.js';
import type { FastifyReply } from 'fastify';
import type { AppDeps } from './deps.js';
import { lookup } from '../lookup/read-through.js';
import { joinBytes } from './join-bytes.js';
import { countHits } from '../lookup/metrics.js';
import { jsonBodyParser } from './json-body.js';
import { replayReadBody } from './fast-lane.js';
import { DIM_HEADER, jsonLookupAnswer, packedLookupAnswer, PACKED_TYPE, SPACE_VERSION_HEADER } from './lookup-answer.js';
import { scanLookupBody } from './lookup-body.js';

/** The single-item answer, assembled around the JSON of the vector (kept bytes when the item is hot). */
function itemEmbeddingJson(
  id: string,
  spaceVersion: number,
  json: Buffer | string,
  interactions: number,
  modelVersion: number | null,
  updatedMs: number,
): Buffer {
  const meta = `,"interactions":${interactions},"modelVersion":${modelVersion ?? 'null'},"updatedAt":"${new Date(updatedMs).toISOString()}"}`;
  return joinBytes([`{"id":${JSON.stringify(id)},"spaceVersion":${spaceVersion},`, json, meta]);
}

export const JSON_TYPE = 'application/json; charset=utf-8';

/**
 * The single-item answer when space, version and embedding are all in this process's memory
 * (counted as a cache hit), or null: then the route reads what is missing, or says why not.
 */
export function cachedItemAnswer(deps: AppDeps, spaceId: string, id: string, pinned: string | undefined): Buffer | null {
  const known = resolveKnownVersion(deps, spaceId, pinned);
  if (!known) return null;
  const physical = known.version.physicalId;
  const { cache } = deps;
  const slot = cache.get(physical, id);
  if (slot < 0) return null;
  countHits(physical, 1);
  return itemEmbeddingJson(
    id,
    known.version.version,
    cache.json(slot),
    cache.interactions(slot),
    cache.modelVersion(slot),
    cache.updatedMs(slot),
  );
}

/** The ranking-time routes (patterns as Fastify routes them): not access-logged unless LOG_LOOKUPS. */
export const LOOKUP_ROUTES: ReadonlySet<string> = new Set(['/v1/spaces/:space/items/:id/embedding', '/v1/spaces/:space/embeddings/lookup']);

export const embeddingRoutes: FastifyPluginAsyncTypebox = async (app) => {
  // This plugin's own JSON parser (its context only): the lookup body's plain shape is read
  // without JSON.parse (lookup-body.ts), anything else as on every other route.
  const json = jsonBodyParser(app, scanLookupBody);
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => json(req, body as string, done));
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
      // The hot path without a wait (the fast lane, item-lane.ts, answers most of these first)
      const cached = cachedItemAnswer(app.deps, req.params.space, req.params.id, req.query.version);
      if (cached) {
        reply.header('content-type', JSON_TYPE).send(cached as never);
        return;
      }
      // errors go to the error handler, as a thrown one would from an async handler
      itemEmbedding(req.params.space, req.params.id, req.query.version, reply).catch((err: Error) => reply.send(err as never));
    },
  );

  /** The single-item answer the long way: what is not in memory is read, and a miss says why. */
  async function itemEmbedding(spaceId: string, id: string, pinned: string | undefined, reply: FastifyReply): Promise<void> {
    const { space, version } = await resolveVersion(app.deps, spaceId, pinned);
    const physical = version.physicalId;
    const found = await lookup(app.deps, physical, [id], 'json');
    // Assembled around the vector's JSON; the Embedding schema above documents the shape.
    if (found.has(0)) {
      const e = found.embedding(0);
      const body = itemEmbeddingJson(id, version.version, found.json(0), e.interactions, e.modelVersion, e.updatedAt.getTime());
      reply.header('content-type', JSON_TYPE).send(body);
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
      // what the fast lane read and could not answer comes with its body (lookup-lane.ts)
      preParsing: replayReadBody,
    },
    async (req, reply) => {
      // One version resolved once: the answer never mixes versions.
      const { version } = await resolveVersion(app.deps, req.params.space, req.query.version);
      const { ids } = req.body;
      const packed = req.headers.accept === PACKED_TYPE;
      const found = await lookup(app.deps, version.physicalId, ids, packed ? 'vector' : 'json');
      // a Buffer bypasses the JSON serializer, in both formats
      if (packed)
        return reply
          .header('content-type', PACKED_TYPE)
          .header(DIM_HEADER, String(version.dim))
          .header(SPACE_VERSION_HEADER, String(version.version))
          .send(packedLookupAnswer(found, ids.length, version.dim) as never);
      return reply.header('content-type', JSON_TYPE).send(jsonLookupAnswer(found, ids, version.version) as never);
    },
  );
};
