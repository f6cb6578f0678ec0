// POST /v1/spaces/:space/users: the recommender's user embeddings, in bulk.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { upsertUsers } from '../db/users.js';
import { ErrorBody, UsersAnswer, UsersBody } from './contract.js';
import { LIMITS, SpaceParams } from './schemas.js';
import { resolveWritableVersion, VersionQuery } from './space-version.js';
import { checkVector } from './validate.js';

export const userRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.post(
    '/v1/spaces/:space/users',
    {
      // a bulk route: the larger body limit (every other route has BODY_LIMIT_BYTES)
      bodyLimit: app.deps.config.BULK_BODY_LIMIT_BYTES,
      schema: {
        tags: ['users'],
        summary: `Upsert user vectors (up to ${LIMITS.users} a request; the same id twice: the last wins)`,
        params: SpaceParams,
        querystring: VersionQuery,
        body: UsersBody,
        response: { 200: UsersAnswer, 400: ErrorBody, 404: ErrorBody, 413: ErrorBody },
      },
    },
    async (req) => {
      // user vectors belong to one version of the space (?version=v; default: current)
      const { version } = await resolveWritableVersion(app.deps, req.params.space, req.query.version);
      const { users } = req.body;
      users.forEach((u, i) => checkVector(`users[${i}].vector`, u.vector, version.dim, app.deps.config.VECTOR_MAX_ABS));
      const unique = [...new Map(users.map((u) => [u.id, u])).values()];
      await upsertUsers(app.deps.db, version.physicalId, unique);
      return { upserted: unique.length };
    },
  );
};
