// Space versions (the recommender retrained): create a staging version, load it through
// the bulk routes with ?version=v, promote it (a job: fast path, training, migration of
// every emerging item, one atomic switch); and the models of a version, with rollback.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { createVersion, deleteStagingVersion } from '../pipeline/create-version.js';
import { requestPromotion } from '../pipeline/request-promotion.js';
import { activateStoredModel } from '../pipeline/activate-model.js';
import { spaceCounts } from '../db/spaces.js';
import { listModels, modelVersionOf } from '../db/models.js';
import { ApiError, notFound } from './errors.js';
import { ActivatedModel, CreatedVersion, CreateVersionBody, ErrorBody, JobAnswer, ModelsAnswer, PromoteBody } from './contract.js';
import { SpaceParams } from './schemas.js';
import { requireSpace } from './deps.js';
import { resolveVersion, resolveWritableVersion, VersionNumber, VersionQuery } from './space-version.js';

const VersionParams = Type.Object({ space: SpaceParams.properties.space, v: VersionNumber });
const ModelParams = Type.Object({ space: SpaceParams.properties.space, modelVersion: VersionNumber });

export const versionRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.post(
    '/v1/spaces/:space/versions',
    {
      schema: {
        tags: ['versions'],
        summary: 'A new staging version of the space (the recommender retrained): load it with ?version=v, then promote it',
        params: SpaceParams,
        body: CreateVersionBody,
        response: { 201: CreatedVersion, 404: ErrorBody, 409: ErrorBody },
      },
    },
    async (req, reply) => {
      const space = await requireSpace(app.deps, req.params.space);
      const v = await createVersion(app.deps.db, space.id, req.body?.dim ?? null, app.deps.config.VERSIONS_MAX_STAGING);
      if ('refused' in v) throw v.refused === 'not_found' ? notFound(`space "${space.id}"`) : new ApiError(409, v.refused, v.detail);
      app.deps.versions.invalidate(space.id);
      return reply
        .status(201)
        .header('location', `/v1/spaces/${encodeURIComponent(space.id)}`)
        .send({ version: v.version, state: 'staging' as const });
    },
  );

  app.delete(
    '/v1/spaces/:space/versions/:v',
    {
      schema: {
        tags: ['versions'],
        summary: 'Give up a staging version: its vectors, copies and pending work are deleted',
        params: VersionParams,
        response: { 204: Type.Null(), 404: ErrorBody, 409: ErrorBody },
      },
    },
    async (req, reply) => {
      const space = await requireSpace(app.deps, req.params.space);
      const v = await deleteStagingVersion(app.deps.db, space.id, Number(req.params.v));
      if (!v) throw new ApiError(404, 'version_not_found', `space "${space.id}" has no version ${req.params.v}`);
      if (v.state !== 'staging')
        throw new ApiError(
          409,
          'not_staging',
          `version ${v.version} of space "${space.id}" is ${v.state}; only a staging version can be deleted`,
        );
      app.deps.versions.invalidate(space.id);
      return reply.status(204).send(null);
    },
  );

  app.post(
    '/v1/spaces/:space/versions/:v/promote',
    {
      schema: {
        tags: ['versions'],
        summary: "Train the version's model, migrate every emerging item into it, check it, then make it current (one switch)",
        description:
          'Progress: GET /v1/jobs/:id (phases fast path, training, migrating, checking, switching). Asking again answers the same job.',
        params: VersionParams,
        body: PromoteBody,
        response: { 202: JobAnswer, 404: ErrorBody, 409: ErrorBody },
      },
    },
    async (req, reply) => {
      const { space, version } = await resolveVersion(app.deps, req.params.space, req.params.v);
      const counts = await spaceCounts(app.deps.db, version.physicalId);
      if (version.state === 'staging' && (counts.items['established'] === 0 || counts.users === 0))
        throw new ApiError(
          409,
          'version_not_ready',
          `version ${version.version} has ${counts.users} users and ${counts.items['established']} established items; ` +
            `load them first: POST /v1/spaces/${space.id}/users?version=${version.version} and …/items?version=${version.version}`,
        );
      const seed = req.body?.seed ?? app.deps.config.TRAIN_SEED;
      const r = await requestPromotion(app.deps.db, space.id, version.version, seed, { requestId: req.id });
      if ('refused' in r) throw new ApiError(r.refused === 'version_not_found' ? 404 : 409, r.refused, r.detail);
      app.deps.versions.invalidate(space.id);
      return reply.status(202).header('location', `/v1/jobs/${r.run}`).send({ jobId: r.run });
    },
  );

  app.get(
    '/v1/spaces/:space/models',
    {
      schema: {
        tags: ['versions'],
        summary: 'The models of a version of the space (default: current), newest first, with what the activation gate decided',
        params: SpaceParams,
        querystring: VersionQuery,
        response: { 200: ModelsAnswer, 404: ErrorBody },
      },
    },
    async (req) => {
      const { version } = await resolveVersion(app.deps, req.params.space, req.query.version);
      const models = await listModels(app.deps.db, version.physicalId);
      return { spaceVersion: version.version, models: models.map((m) => ({ ...m, createdAt: m.createdAt.toISOString() })) };
    },
  );

  app.post(
    '/v1/spaces/:space/models/:modelVersion/activate',
    {
      schema: {
        tags: ['versions'],
        summary: 'Roll back (or forward): make a stored model the active one; every emerging item is re-embedded with it',
        params: ModelParams,
        querystring: VersionQuery,
        response: {
          200: ActivatedModel,
          404: ErrorBody,
          409: ErrorBody,
        },
      },
    },
    async (req) => {
      const { space, version } = await resolveWritableVersion(app.deps, req.params.space, req.query.version);
      const modelVersion = Number(req.params.modelVersion);
      const r = await activateStoredModel(app.deps.db, version.physicalId, modelVersion, { requestId: req.id });
      if (!r) throw notFound(`model version ${modelVersion} of space "${space.id}" (version ${version.version})`);
      return {
        spaceVersion: version.version,
        modelVersion,
        previousModelVersion: r.previous === null ? null : await modelVersionOf(app.deps.db, r.previous),
        reembedding: r.reembedding,
      };
    },
  );
};
