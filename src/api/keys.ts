// /v1/keys: API keys (admin). The key itself is in the answer to POST only; afterwards
// only its id, name, scopes and spaces are shown.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { type SCOPES } from '../auth/keys.js';
import { ApiError, notFound } from './errors.js';
import { CreatedKey, CreateKeyBody, ErrorBody, KeyList } from './contract.js';
import { principal } from './auth.js';

export const keyRoutes: FastifyPluginAsyncTypebox = async (app) => {
  // Managing keys needs an admin key for every space: a key limited to some spaces could
  // otherwise make itself one that is not.
  const requireUnlimited = (p: ReturnType<typeof principal>) => {
    if (p.spaces !== null) throw new ApiError(403, 'forbidden', 'managing keys needs an admin key that is not limited to some spaces');
  };

  app.post(
    '/v1/keys',
    {
      schema: {
        tags: ['keys'],
        summary: 'Make an API key (shown only in this answer)',
        body: CreateKeyBody,
        response: {
          201: CreatedKey,
          400: ErrorBody,
        },
      },
    },
    async (req, reply) => {
      requireUnlimited(principal(req));
      const { row, key } = await app.deps.keys.create(req.body);
      return reply.status(201).send({ id: row.id, key, scopes: row.scopes as (typeof SCOPES)[number][], spaces: row.spaces });
    },
  );

  app.get(
    '/v1/keys',
    {
      schema: {
        tags: ['keys'],
        summary: 'The keys in force (never the keys themselves)',
        response: { 200: KeyList },
      },
    },
    async (req) => {
      requireUnlimited(principal(req));
      const rows = await app.deps.keys.list();
      return {
        keys: rows.map((r) => ({
          id: r.id,
          name: r.name,
          scopes: r.scopes as (typeof SCOPES)[number][],
          spaces: r.spaces,
          createdAt: r.createdAt.toISOString(),
        })),
      };
    },
  );

  app.delete(
    '/v1/keys/:id',
    {
      schema: {
        tags: ['keys'],
        summary: 'Revoke a key (every process stops accepting it within seconds)',
        params: Type.Object({ id: Type.String({ maxLength: 64 }) }),
        response: { 204: Type.Null(), 404: ErrorBody },
      },
    },
    async (req, reply) => {
      requireUnlimited(principal(req));
      if (!(await app.deps.keys.revoke(req.params.id))) throw notFound(`key "${req.params.id}"`);
      return reply.status(204).send(null);
    },
  );
};
