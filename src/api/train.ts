// Training: POST starts a run (a task in Postgres, a job in BullMQ); GET /v1/jobs/:id
// reads the run's record, which outlives Redis.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { getRun, listRuns, type TrainRun } from '../db/train-runs.js';
import { requestTraining } from '../pipeline/request-training.js';
import { ApiError, notFound } from './errors.js';
import { ErrorBody, JobAnswer, JobList, JobsQuery, JobView } from './contract.js';
import { SpaceParams } from './schemas.js';
import { requireSpaceAccess } from './auth.js';
import { resolveWritableVersion, VersionQuery } from './space-version.js';
import { requireSpace } from './deps.js';
import { rootOf } from '../db/space-versions.js';

const jobView = (r: TrainRun) => ({
  id: r.id,
  kind: r.kind,
  // a version's training run is kept under the version's own row: it belongs to its space
  space: rootOf(r.spaceId),
  state: r.state,
  progress: r.progress,
  result: (r.result ?? null) as Record<string, unknown> | null,
  error: r.error,
  createdAt: r.createdAt.toISOString(),
  updatedAt: r.updatedAt.toISOString(),
});

export const trainRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.post(
    '/v1/spaces/:space/train',
    {
      schema: {
        tags: ['training'],
        summary: "Train the space's model from its established items; activates it and re-embeds emerging items",
        params: SpaceParams,
        querystring: VersionQuery,
        response: { 202: JobAnswer, 404: ErrorBody, 409: ErrorBody },
      },
    },
    async (req, reply) => {
      // a version's model is trained on that version's users and established items
      const { version } = await resolveWritableVersion(app.deps, req.params.space, req.query.version);
      // The body is optional (`{"seed": n}`), so it is checked here rather than by a schema.
      const body = (req.body ?? {}) as { seed?: unknown };
      if (typeof body !== 'object' || Array.isArray(body))
        throw new ApiError(400, 'invalid_request', 'body must be an object such as {"seed": 42}, or empty');
      // int32: the seed is stored in an integer column (and seeds the RNG as 32 bits)
      if (body.seed !== undefined && (!Number.isInteger(body.seed) || (body.seed as number) < 0 || (body.seed as number) > 2 ** 31 - 1))
        throw new ApiError(400, 'invalid_request', 'body.seed must be an integer from 0 to 2147483647');
      const seed = (body.seed as number | undefined) ?? app.deps.config.TRAIN_SEED;
      // While a run of this space is queued or running, asking again answers that run.
      const { run } = await requestTraining(app.deps.db, version.physicalId, seed, { requestId: req.id });
      return reply.status(202).header('location', `/v1/jobs/${run}`).send({ jobId: run });
    },
  );

  app.get(
    '/v1/jobs/:id',
    {
      schema: {
        tags: ['training'],
        summary: 'A training run or a promotion: state, progress (fraction, phase), result or error',
        params: Type.Object({ id: Type.String({ maxLength: 64 }) }),
        response: { 200: JobView, 404: ErrorBody },
      },
    },
    async (req) => {
      const r = await getRun(app.deps.db, req.params.id);
      if (!r) throw notFound(`job "${req.params.id}"`);
      const job = jobView(r);
      requireSpaceAccess(req, job.space, `job "${req.params.id}"`);
      return job;
    },
  );

  app.get(
    '/v1/spaces/:space/jobs',
    {
      schema: {
        tags: ['training'],
        summary: "The space's training runs (of every version) and promotions, newest first",
        params: SpaceParams,
        querystring: JobsQuery,
        response: { 200: JobList, 400: ErrorBody, 404: ErrorBody },
      },
    },
    async (req) => {
      const space = await requireSpace(app.deps, req.params.space);
      const limit = req.query.limit === undefined ? 20 : Number(req.query.limit);
      if (limit > 100) throw new ApiError(400, 'invalid_request', 'limit must be from 1 to 100');
      const runs = await listRuns(app.deps.db, space.id, limit);
      return { jobs: runs.map((r) => ({ ...jobView(r), spaceVersion: r.spaceVersion })) };
    },
  );
};
