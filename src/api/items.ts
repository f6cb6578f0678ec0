// Items: the catalogue's webhook pushes new or changed items here.
// With `embedding` an item is established (the recommender's own vector, kind base);
// without, it is emerging and goes through the pipeline. Identical content is a no-op.
import crypto from 'node:crypto';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { withTx } from '../db/pool.js';
import { deleteItem, getItem, recountInteractions, upsertItems } from '../db/items.js';
import { appendEmbeddings, latestEmbeddings } from '../db/embeddings.js';
import { dropTasks, enqueueTasks } from '../db/tasks.js';
import { taskKey } from '../jobs/queues.js';
import { ErrorBody, notFound } from './errors.js';
import { Id, ItemParams, ItemState, LIMITS, SpaceParams, Vector, EmbeddingKind } from './schemas.js';
import { requireSpace } from './deps.js';
import { checkBatch, checkVector } from './validate.js';

const ItemIn = Type.Object({
  id: Id,
  features: Type.Record(Type.String(), Type.Unknown(), { description: 'Raw features, any JSON object: title, description, tags, …' }),
  embedding: Type.Optional(Vector),
}, { additionalProperties: false });
const ItemView = Type.Object({
  id: Type.String(), state: ItemState, features: Type.Record(Type.String(), Type.Unknown()),
  enrichment: Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()]),
  enrichError: Type.Union([Type.String(), Type.Null()]),
  interactions: Type.Integer(),
  embedding: Type.Union([Type.Object({ version: Type.Integer(), kind: EmbeddingKind, interactions: Type.Integer(), updatedAt: Type.String() }), Type.Null()]),
});

/** Stable hash of what defines an item: key order in the JSON does not matter. */
export function contentHash(features: unknown, embedding?: number[]): string {
  return crypto.createHash('sha256').update(canonical({ features, embedding: embedding ?? null })).digest('hex');
}
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`).join(',')}}`;
  return JSON.stringify(v) ?? 'null';
}

export const itemRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.post('/v1/spaces/:space/items', {
    schema: {
      tags: ['items'], summary: `Add or update items (up to ${LIMITS.items} a request)`,
      params: SpaceParams, body: Type.Object({ items: Type.Array(ItemIn) }, { additionalProperties: false }),
      response: { 202: Type.Object({ accepted: Type.Integer(), unchanged: Type.Integer() }), 400: ErrorBody, 404: ErrorBody, 413: ErrorBody },
    },
  }, async (req, reply) => {
    const space = await requireSpace(app.deps, req.params.space);
    const { items } = req.body;
    checkBatch('items', items.length, LIMITS.items);
    items.forEach((it, i) => { if (it.embedding) checkVector(`items[${i}].embedding`, it.embedding, space.dim); });
    const unique = [...new Map(items.map((it) => [it.id, it])).values()];
    const rows = unique.map((it) => ({ id: it.id, features: it.features, contentHash: contentHash(it.features, it.embedding), established: !!it.embedding }));
    const byId = new Map(unique.map((it) => [it.id, it]));
    const llm = !!app.deps.config.LLM_BASE_URL;
    const written = await withTx(app.deps.db, async (tx) => {
      const w = await upsertItems(tx, space.id, rows);
      await appendEmbeddings(tx, space.id, 'base', 'established', w.established.map((id) => ({ id, vector: byId.get(id)!.embedding! })));
      // Work for emerging items is recorded in this same transaction: nothing is lost if Redis or a worker is down.
      await recountInteractions(tx, space.id, w.emerging);
      const payload = (id: string) => ({ space: space.id, item: id, requestId: req.id });
      await enqueueTasks(tx, 'embed', w.emerging.map((id) => ({ key: taskKey.embed(space.id, id), payload: payload(id) })));
      if (llm) {
        const hashOf = new Map(rows.map((r) => [r.id, r.contentHash]));
        await enqueueTasks(tx, 'enrich', w.emerging.map((id) => ({ key: taskKey.enrich(space.id, id), payload: { ...payload(id), hash: hashOf.get(id)! } })));
      }
      return w;
    });
    if (written.established.length) await app.deps.publish(space.id, written.established);
    const accepted = written.established.length + written.emerging.length + written.featuresOnly.length;
    return reply.status(202).send({ accepted, unchanged: items.length - accepted });
  });

  app.get('/v1/spaces/:space/items/:id', {
    schema: { tags: ['items'], summary: 'An item: state, features, enrichment and newest embedding version', params: ItemParams, response: { 200: ItemView, 404: ErrorBody } },
  }, async (req) => {
    const space = await requireSpace(app.deps, req.params.space);
    const item = await getItem(app.deps.db, space.id, req.params.id);
    if (!item) throw notFound(`item "${req.params.id}" in space "${space.id}"`);
    const [emb] = item.embeddingVersion === null ? [] : await latestEmbeddings(app.deps.db, space.id, [item.id]);
    return {
      id: item.id, state: item.state, features: item.features, enrichment: item.enrichment, enrichError: item.enrichError, interactions: item.interactions,
      embedding: emb ? { version: emb.version, kind: emb.kind, interactions: emb.interactions, updatedAt: emb.updatedAt.toISOString() } : null,
    };
  });

  app.delete('/v1/spaces/:space/items/:id', {
    schema: {
      tags: ['items'],
      summary: 'Remove an item with its vectors, embeddings, interactions and pending work',
      description: 'A retry after success answers 404: the item is already gone.',
      params: ItemParams, response: { 204: Type.Null(), 404: ErrorBody },
    },
  }, async (req, reply) => {
    const space = await requireSpace(app.deps, req.params.space);
    const id = req.params.id;
    const gone = await withTx(app.deps.db, async (tx) => {
      if (!(await deleteItem(tx, space.id, id))) return false;
      await dropTasks(tx, (['enrich', 'embed', 'refine'] as const).map((q) => ({ queue: q, key: taskKey[q](space.id, id) })));
      return true;
    });
    if (!gone) throw notFound(`item "${id}" in space "${space.id}"`);
    // other API processes drop it from their lookup caches
    await app.deps.publish(space.id, [id]);
    return reply.status(204).send(null);
  });
};
