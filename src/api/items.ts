// Items: the catalogue's webhook pushes new or changed items here.
// With `embedding` an item is established (the recommender's own vector, kind base);
// without, it is emerging and goes through the pipeline. Identical content is a no-op.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { getItem } from '../db/items.js';
import { latestEmbeddings } from '../db/embeddings.js';
import { ingestItems } from '../pipeline/ingest-items.js';
import { deleteItem } from '../pipeline/delete-item.js';
import { notFound } from './errors.js';
import { ItemParams, LIMITS, SpaceParams } from './schemas.js';
import { ErrorBody, ItemsAnswer, ItemsBody, ItemView } from './contract.js';
import { resolveVersion, resolveWritableVersion, VersionQuery } from './space-version.js';
import { ApiError } from './errors.js';
import { checkFeatures, checkVector } from './validate.js';

export const itemRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.post(
    '/v1/spaces/:space/items',
    {
      // a bulk route: the larger body limit (every other route has BODY_LIMIT_BYTES)
      bodyLimit: app.deps.config.BULK_BODY_LIMIT_BYTES,
      schema: {
        tags: ['items'],
        summary: `Add or update items (up to ${LIMITS.items} a request)`,
        description:
          'Features go to every version of the space still followed; an `embedding` is for one version ' +
          '(`?version=v`, default: current), where the item is established.',
        params: SpaceParams,
        querystring: VersionQuery,
        body: ItemsBody,
        response: {
          202: ItemsAnswer,
          400: ErrorBody,
          404: ErrorBody,
          413: ErrorBody,
        },
      },
    },
    async (req, reply) => {
      const { space, version } = await resolveWritableVersion(app.deps, req.params.space, req.query.version);
      const { items } = req.body;
      items.forEach((it, i) => {
        if (it.embedding) checkVector(`items[${i}].embedding`, it.embedding, version.dim, app.deps.config.VECTOR_MAX_ABS);
        checkFeatures(`items[${i}].features`, it.features, app.deps.config.FEATURES_MAX_BYTES, 8);
      });
      const opts = { requestId: req.id, enrich: !!app.deps.config.LLM_BASE_URL, enrichEstablished: app.deps.config.ENRICH_ESTABLISHED };
      const r = await ingestItems(app.deps.db, space.id, version.physicalId, items, opts);
      if (!r) throw new ApiError(409, 'version_retired', `version ${version.version} of space "${space.id}" was retired meanwhile`);
      if (r.established.length) await app.deps.publish(version.physicalId, r.established);
      return reply.status(202).send({ accepted: r.accepted, unchanged: r.unchanged });
    },
  );

  app.get(
    '/v1/spaces/:space/items/:id',
    {
      schema: {
        tags: ['items'],
        summary: 'An item: state, features, enrichment and newest embedding version (in one version of the space)',
        params: ItemParams,
        querystring: VersionQuery,
        response: { 200: ItemView, 404: ErrorBody },
      },
    },
    async (req) => {
      const { space, version } = await resolveVersion(app.deps, req.params.space, req.query.version);
      const item = await getItem(app.deps.db, version.physicalId, req.params.id);
      if (!item) throw notFound(`item "${req.params.id}" in space "${space.id}"`);
      const [emb] = item.embeddingVersion === null ? [] : await latestEmbeddings(app.deps.db, version.physicalId, [item.id]);
      return {
        id: item.id,
        spaceVersion: version.version,
        state: item.state,
        features: item.features,
        enrichment: item.enrichment,
        enrichError: item.enrichError,
        interactions: item.interactions,
        embedding: emb
          ? { version: emb.version, kind: emb.kind, interactions: emb.interactions, updatedAt: emb.updatedAt.toISOString() }
          : null,
      };
    },
  );

  app.delete(
    '/v1/spaces/:space/items/:id',
    {
      schema: {
        tags: ['items'],
        summary: 'Remove an item with its vectors, embeddings, interactions and pending work',
        description: 'A retry after success answers 404: the item is already gone.',
        params: ItemParams,
        response: { 204: Type.Null(), 404: ErrorBody },
      },
    },
    async (req, reply) => {
      const { space } = await resolveVersion(app.deps, req.params.space);
      const id = req.params.id;
      // from every version the space follows: an item belongs to the space
      const from = await deleteItem(app.deps.db, space.id, id);
      if (from.length === 0) throw notFound(`item "${id}" in space "${space.id}"`);
      // other API processes learn it from the deleting transaction's NOTIFY
      for (const physical of from) await app.deps.publish(physical, [id]);
      return reply.status(204).send(null);
    },
  );
};
