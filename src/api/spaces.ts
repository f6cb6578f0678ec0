// /v1/spaces: one recommender's embedding space, its model and its counts.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { createSpace, getSpace, listSpaces, spaceCounts, type SpaceRow } from '../db/spaces.js';
import { spaceBacklog } from '../db/tasks.js';
import { getModel } from '../db/models.js';
import { listVersions } from '../db/space-versions.js';
import { normaliseAuxFeatures } from '../llm/index.js';
import { replaceAuxFeatures } from '../pipeline/replace-aux-features.js';
import { ApiError, ErrorBody, notFound } from './errors.js';
import { SpaceParams } from './schemas.js';
import { AuxFeaturesBody, CreateSpace, SpaceList, SpaceView } from './contract.js';
import type { AppDeps } from './deps.js';
import { resolveVersion } from './space-version.js';
import { principal } from './auth.js';
import { mayUseSpace } from '../auth/keys.js';

// The top-level dim, model and counts are the current version's; `versions` lists them all.
async function view(deps: AppDeps, s: SpaceRow) {
  const versions = await listVersions(deps.db, s.id);
  const current = versions.find((v) => v.state === 'current');
  if (!current) throw new Error(`space "${s.id}" has no current version`);
  const [counts, backlog, model, own, perVersion] = await Promise.all([
    spaceCounts(deps.db, current.physicalId),
    spaceBacklog(deps.db, current.physicalId),
    current.activeModel === null ? null : getModel(deps.db, current.activeModel),
    // the current version's own row: its aux features are the ones its enrichment uses
    current.physicalId === s.id ? s : getSpace(deps.db, current.physicalId),
    Promise.all(
      versions.map(async (v) => {
        const [c, m] = await Promise.all([
          spaceCounts(deps.db, v.physicalId),
          v.activeModel === null ? null : getModel(deps.db, v.activeModel),
        ]);
        return {
          version: v.version,
          state: v.state,
          dim: v.dim,
          modelVersion: m?.version ?? null,
          counts: c,
          promoteJob: v.promoteRun,
          fastPath: v.fastPath,
          createdAt: v.createdAt.toISOString(),
          promotedAt: v.promotedAt?.toISOString() ?? null,
          retiredAt: v.retiredAt?.toISOString() ?? null,
        };
      }),
    ),
  ]);
  return {
    id: s.id,
    dim: current.dim,
    itemType: s.itemType,
    scorer: s.scorer,
    auxFeatures: own?.auxFeatures ?? null,
    auxSource: own?.auxSource ?? null,
    model: model
      ? {
          version: model.version,
          encoder: model.encoder,
          seed: model.seed,
          metrics: model.metrics,
          createdAt: model.createdAt.toISOString(),
        }
      : null,
    counts,
    backlog,
    currentVersion: current.version,
    versions: perVersion,
    createdAt: s.createdAt.toISOString(),
  };
}

export const spaceRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.post(
    '/v1/spaces',
    {
      schema: {
        tags: ['spaces'],
        summary: 'Create a space (idempotent for an identical definition)',
        body: CreateSpace,
        response: { 200: SpaceView, 201: SpaceView, 400: ErrorBody, 409: ErrorBody },
      },
    },
    async (req, reply) => {
      const b = { ...req.body, ...(req.body.auxFeatures ? { auxFeatures: normaliseAuxFeatures(req.body.auxFeatures) } : {}) };
      const created = await createSpace(app.deps.db, b);
      if (created) return reply.status(201).send(await view(app.deps, created));
      const existing = (await getSpace(app.deps.db, b.id))!;
      if (existing.dim !== b.dim || existing.itemType !== b.itemType || existing.scorer !== b.scorer) {
        throw new ApiError(
          409,
          'space_exists',
          `space "${b.id}" exists with dim ${existing.dim}, itemType "${existing.itemType}", scorer "${existing.scorer}"; ` +
            "a space's definition cannot change",
        );
      }
      return reply.status(200).send(await view(app.deps, existing));
    },
  );

  app.get(
    '/v1/spaces',
    {
      schema: {
        tags: ['spaces'],
        summary: 'The spaces this key may use, by id',
        response: { 200: SpaceList },
      },
    },
    async (req) => {
      const who = principal(req);
      const spaces = (await listSpaces(app.deps.db)).filter((s) => mayUseSpace(who, s.id));
      return { spaces: spaces.map((s) => ({ ...s, createdAt: s.createdAt.toISOString() })) };
    },
  );

  app.get(
    '/v1/spaces/:space',
    {
      schema: {
        tags: ['spaces'],
        summary: 'A space: its current version (dim, active model, counts) and every version with its state and counts',
        params: SpaceParams,
        response: { 200: SpaceView, 404: ErrorBody },
      },
    },
    async (req) => {
      const s = await getSpace(app.deps.db, req.params.space);
      if (!s || s.rootId !== null) throw notFound(`space "${req.params.space}"`);
      return view(app.deps, s);
    },
  );

  app.put(
    '/v1/spaces/:space/aux-features',
    {
      schema: {
        tags: ['spaces'],
        summary: "Replace the auxiliary features the LLM fills in (the user's list wins over the LLM's)",
        params: SpaceParams,
        body: AuxFeaturesBody,
        response: { 200: SpaceView, 404: ErrorBody },
      },
    },
    async (req) => {
      // Stored under the names the enrichment answers will use as keys.
      const features = normaliseAuxFeatures(req.body.features);
      if (features.length === 0) throw new ApiError(400, 'invalid_request', 'body.features has no usable feature name');
      // the current version's: a staging version takes them over when it is promoted
      const { version } = await resolveVersion(app.deps, req.params.space);
      const spaceId = version.physicalId;
      const found = await replaceAuxFeatures(app.deps.db, spaceId, features, {
        requestId: req.id,
        enrich: !!app.deps.config.LLM_BASE_URL,
        enrichEstablished: app.deps.config.ENRICH_ESTABLISHED,
      });
      if (!found) throw notFound(`space "${req.params.space}"`);
      return view(app.deps, (await getSpace(app.deps.db, req.params.space))!);
    },
  );
};
